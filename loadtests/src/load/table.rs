//! The one results table: what the ramp, the soaks and the outbound phase measured, beside the goals of issue 8,
//! rendered as Markdown (for the terminal and for `loadtests/RESULTS.md`).

use std::fmt::Write as _;

use super::outbound::OutboundReport;
use super::quantiles::Quantiles;
use super::ramp::RampReport;
use super::soak::SoakReport;
use super::speech::PipelineReport;

/// The goals of issue 8.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Goals {
    /// Calls per second with zero failures.
    pub cps: f64,
    /// Concurrent media calls.
    pub concurrent_calls: f64,
    /// CPU per media call, % of one core.
    pub cpu_per_call_percent: f64,
    /// Resident memory per media call, KiB (1 KB read as 1 KiB).
    pub rss_per_call_kib: f64,
    /// p99 of |RTP gap − 20 ms|, ms.
    pub gap_deviation_p99_ms: f64,
    /// p95 of 200 OK → first RTP, ms.
    pub answer_to_first_rtp_p95_ms: f64,
    /// The floor: this rate for the ramp's step length with zero failures.
    pub floor_cps: u32,
}

impl Default for Goals {
    fn default() -> Self {
        Goals {
            cps: 2000.0,
            concurrent_calls: 4000.0,
            cpu_per_call_percent: 0.05,
            rss_per_call_kib: 100.0,
            gap_deviation_p99_ms: 2.0,
            answer_to_first_rtp_p95_ms: 5.0,
            floor_cps: 300,
        }
    }
}

/// The ramp and soak results with the goals they are judged against.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultsTable<'a> {
    /// The CPS ramp, if it ran.
    pub ramp: Option<&'a RampReport>,
    /// The media-only soak, if it ran.
    pub soak: Option<&'a SoakReport>,
    /// The full-pipeline soak, if it ran.
    pub pipeline: Option<&'a PipelineReport>,
    /// The outbound phase, if it ran.
    pub outbound: Option<&'a OutboundReport>,
    /// The goals.
    pub goals: Goals,
}

fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "yes",
        Some(false) => "**no**",
        None => "n/a",
    }
}

fn ms(value: Option<f64>) -> String {
    value.map_or_else(|| "n/a".into(), |v| format!("{v:.2}"))
}

/// `p50 / p95` of `values`, as [`ms`] writes them.
fn p50_p95(values: &Quantiles) -> String {
    format!(
        "{} / {}",
        ms(values.percentile(50.0)),
        ms(values.percentile(95.0))
    )
}

impl ResultsTable<'_> {
    /// The table as Markdown, followed by one line per ramp step.
    pub fn render(&self) -> String {
        let g = &self.goals;
        let mut rows: Vec<[String; 4]> = Vec::new();
        let mut row = |measure: &str, result: String, goal: String, met: Option<bool>| {
            rows.push([measure.into(), result, goal, verdict(met).into()]);
        };
        if let Some(ramp) = self.ramp {
            let best = ramp.best();
            let cps = best.map_or(0.0, |s| s.achieved_cps);
            row(
                "Achieved CPS with 0 failures (1-s calls, greeting from cache)",
                match best {
                    Some(s) => format!("{cps:.0} (step {} CPS)", s.target_cps),
                    None => "none clean".into(),
                },
                format!("≥ {:.0}", g.cps),
                Some(cps >= g.cps),
            );
            let stop = ramp.steps.iter().find(|s| !s.is_clean());
            row(
                "Failed calls (whole ramp)",
                format!(
                    "{} (ramp stopped: {})",
                    ramp.failed_total(),
                    stop.map_or_else(
                        || "all steps clean".into(),
                        |s| format!(
                            "{} CPS, {}",
                            s.target_cps,
                            s.degraded.as_deref().unwrap_or("")
                        )
                    )
                ),
                "0 at the goal rate".into(),
                None,
            );
            if let Some(best) = best {
                row(
                    "SIPp INVITE→200 p50 / p95 / p99 at that step (1 ms resolution)",
                    format!(
                        "{} / {} / {} ms, {} retransmissions",
                        ms(best.response_ms.percentile(50.0)),
                        ms(best.response_ms.percentile(95.0)),
                        ms(best.response_ms.percentile(99.0)),
                        best.retransmissions
                    ),
                    "–".into(),
                    None,
                );
            }
            let floor = ramp.step(g.floor_cps);
            row(
                &format!("Floor: {} CPS of 1-s calls, 0 failures", g.floor_cps),
                floor.map_or_else(
                    || "not run".into(),
                    |s| format!("{}/{} ok, {} failed", s.successful, s.calls, s.failed),
                ),
                "0 failures".into(),
                floor.map(|s| s.failed == 0 && s.successful == s.calls),
            );
        }
        if let Some(soak) = self.soak {
            row(
                "Peak concurrent calls (RTP both ways)",
                format!(
                    "{} ({} SIPp asked, {} failed)",
                    soak.peak_calls, soak.target_calls, soak.sipp_failed
                ),
                format!("≥ {:.0}", g.concurrent_calls),
                Some(soak.peak_calls as f64 >= g.concurrent_calls && soak.sipp_failed == 0),
            );
            row(
                "Switch CPU on the plateau (SIPp's own CPU)",
                format!(
                    "{:.1} % of one core over {:.0} s ({:.1} %)",
                    soak.switch_cpu_percent,
                    soak.plateau.as_secs_f64(),
                    soak.sipp_cpu_percent
                ),
                "–".into(),
                None,
            );
            row(
                "Switch CPU per media call",
                format!("{:.4} % of a core", soak.cpu_per_call_percent()),
                format!("≤ {} %", g.cpu_per_call_percent),
                Some(soak.cpu_per_call_percent() <= g.cpu_per_call_percent),
            );
            row(
                "Switch RSS on the plateau (idle)",
                format!(
                    "{:.1} MiB ({:.1} MiB)",
                    soak.rss_peak_kib as f64 / 1024.0,
                    soak.rss_idle_kib as f64 / 1024.0
                ),
                "–".into(),
                None,
            );
            row(
                "RSS per media call (above idle)",
                format!("{:.1} KiB", soak.rss_per_call_kib()),
                format!("≤ {:.0} KB", g.rss_per_call_kib),
                Some(soak.rss_per_call_kib() <= g.rss_per_call_kib),
            );
            let p = &soak.pacing;
            row(
                "RTP gap p50 / p99 (probe calls at load)",
                format!(
                    "{} / {} ms; \\|gap−20\\| p99 {} ms; {:.2} % outside 20±2 ms ({} gaps, {} calls)",
                    ms(p.gaps_ms.percentile(50.0)),
                    ms(p.gaps_ms.percentile(99.0)),
                    ms(p.deviation_ms.percentile(99.0)),
                    100.0 * p.deviation_ms.share(|d| d > 2.0).unwrap_or(0.0),
                    p.gaps_ms.len(),
                    p.calls
                ),
                format!("\\|gap−20\\| p99 ≤ {} ms", g.gap_deviation_p99_ms),
                p.deviation_ms
                    .percentile(99.0)
                    .map(|d| d <= g.gap_deviation_p99_ms),
            );
            row(
                "Answer (200 OK) → first RTP p50 / p95",
                format!(
                    "{} ms (greeting audio p50 {} ms)",
                    p50_p95(&p.answer_to_first_rtp_ms),
                    ms(p.answer_to_first_audio_ms.percentile(50.0)),
                ),
                format!("p95 ≤ {} ms", g.answer_to_first_rtp_p95_ms),
                p.answer_to_first_rtp_ms
                    .percentile(95.0)
                    .map(|v| v <= g.answer_to_first_rtp_p95_ms),
            );
        }
        if let Some(PipelineReport {
            soak: p,
            turns,
            latency,
            moonshine,
        }) = self.pipeline
        {
            row(
                "Full offline pipeline soak: concurrent speaking calls (STT + scripted brain + TTS)",
                format!(
                    "{} peak ({} SIPp asked, {} failed)",
                    p.peak_calls, p.target_calls, p.sipp_failed
                ),
                "–".into(),
                None,
            );
            row(
                "Pipeline turns stored (all calls incl. warm-up): caller heard / agent spoke",
                format!(
                    "{} caller turns in {}/{} calls; {} agent turns",
                    turns.caller_turns, turns.calls_heard, turns.calls, turns.agent_turns
                ),
                "–".into(),
                None,
            );
            row(
                "Pipeline answers: end of speech → first RTP p50 / p95 (recognizer after the end of turn p50 / p95)",
                format!(
                    "{} ms ({} ms; {} answers)",
                    p50_p95(&latency.total_ms),
                    p50_p95(&latency.stt_compute_ms),
                    latency.total_ms.len()
                ),
                "–".into(),
                None,
            );
            row(
                "Moonshine pieces of speech decoded / shed to the keyword search (0 / 0: pocketsphinx)",
                format!("{} / {}", moonshine.decoded, moonshine.shed),
                "–".into(),
                None,
            );
            row(
                "Switch CPU per pipeline call (plateau total)",
                format!(
                    "{:.2} % of a core ({:.0} % over {:.0} s, {:.1} calls on average)",
                    p.cpu_per_call_percent(),
                    p.switch_cpu_percent,
                    p.plateau.as_secs_f64(),
                    p.mean_plateau_calls
                ),
                "–".into(),
                None,
            );
            row(
                "RSS per pipeline call above idle (peak, idle)",
                format!(
                    "{:.1} KiB ({:.1} MiB, {:.1} MiB)",
                    p.rss_per_call_kib(),
                    p.rss_peak_kib as f64 / 1024.0,
                    p.rss_idle_kib as f64 / 1024.0
                ),
                "–".into(),
                None,
            );
        }
        if let Some(o) = self.outbound {
            row(
                "Outbound: calls originated through the API to a SIPp carrier",
                format!(
                    "{}/{} accepted, {} refused; carrier {} ok, {} failed",
                    o.accepted,
                    o.target_calls,
                    o.refused_count,
                    o.carrier_successful,
                    o.carrier_failed
                ),
                "0 failures".into(),
                Some(o.refused_count == 0 && o.carrier_failed == 0),
            );
            row(
                "Outbound CPS achieved: API accepted / carrier saw INVITEs",
                format!(
                    "{:.1} / {} (asked {})",
                    o.api_cps,
                    o.carrier_cps
                        .map_or_else(|| "n/a".into(), |c| format!("{c:.1}")),
                    o.target_cps
                ),
                "–".into(),
                None,
            );
            row(
                "Outbound POST → 202 p50 / p95; carrier INVITE → ACK p50 / p95 (1 ms resolution)",
                format!(
                    "{} ms; {} ms",
                    p50_p95(&o.api_ms),
                    p50_p95(&o.invite_to_ack_ms),
                ),
                "–".into(),
                None,
            );
        }
        let mut out =
            String::from("| measure | result | goal (issue 8) | met |\n|---|---|---|---|\n");
        for [measure, result, goal, met] in rows {
            let _ = writeln!(out, "| {measure} | {result} | {goal} | {met} |");
        }
        if let Some(ramp) = self.ramp {
            out.push_str("\nRamp steps:\n");
            for s in &ramp.steps {
                let _ = writeln!(
                    out,
                    "- {} CPS: {}/{} ok, {} failed, {} retrans, achieved {:.0} CPS, INVITE→200 p95 {} ms, switch CPU {:.0} %{}",
                    s.target_cps,
                    s.successful,
                    s.calls,
                    s.failed,
                    s.retransmissions,
                    s.achieved_cps,
                    ms(s.response_ms.percentile(95.0)),
                    s.switch_cpu_percent,
                    s.degraded
                        .as_deref()
                        .map_or_else(String::new, |d| format!(" (not clean: {d})"))
                );
            }
        }
        if let Some(soak) = self.soak
            && !soak.pacing.failures.is_empty()
        {
            let _ = writeln!(
                out,
                "\nProbe failures ({}): {}",
                soak.pacing.failures.len(),
                soak.pacing.failures.join("; ")
            );
        }
        if let Some(o) = self.outbound
            && !o.refused.is_empty()
        {
            let _ = writeln!(
                out,
                "\nOutbound refusals ({}, first {}): {}",
                o.refused_count,
                o.refused.len(),
                o.refused.join("; ")
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::ramp::RampStep;
    use std::time::Duration;

    fn step(cps: u32, failed: u64) -> RampStep {
        RampStep {
            target_cps: cps,
            calls: u64::from(cps) * 10,
            created: u64::from(cps) * 10,
            successful: u64::from(cps) * 10 - failed,
            failed,
            retransmissions: 0,
            achieved_cps: f64::from(cps),
            response_ms: Quantiles::new([1.0, 2.0]),
            switch_cpu_percent: 40.0,
            degraded: (failed > 0).then(|| format!("{failed} failed calls")),
        }
    }

    #[test]
    fn goals_are_judged_and_the_floor_is_found() {
        let ramp = RampReport {
            steps: vec![step(100, 0), step(300, 0), step(500, 3)],
        };
        let mut soak = SoakReport {
            target_calls: 1000,
            peak_calls: 1002,
            mean_plateau_calls: 1000.0,
            switch_cpu_percent: 30.0,
            rss_idle_kib: 10_000,
            rss_peak_kib: 60_000,
            plateau: Duration::from_secs(120),
            ..SoakReport::default()
        };
        soak.pacing.gaps_ms = Quantiles::new([20.0, 20.1, 19.9]);
        soak.pacing.deviation_ms = Quantiles::new([0.0, 0.1, 0.1]);
        soak.pacing.answer_to_first_rtp_ms = Quantiles::new([1.0, 2.0, 9.0]);
        let text = ResultsTable {
            ramp: Some(&ramp),
            soak: Some(&soak),
            pipeline: None,
            outbound: None,
            goals: Goals::default(),
        }
        .render();
        assert!(
            text.contains("| 300 (step 300 CPS) | ≥ 2000 | **no** |"),
            "{text}"
        );
        assert!(
            text.contains("3000/3000 ok, 0 failed | 0 failures | yes |"),
            "{text}"
        );
        assert!(
            text.contains("ramp stopped: 500 CPS, 3 failed calls"),
            "{text}"
        );
        assert!(
            text.contains("| 0.0300 % of a core | ≤ 0.05 % | yes |"),
            "{text}"
        );
        assert!(text.contains("| 50.0 KiB | ≤ 100 KB | yes |"), "{text}");
        assert!(text.contains("9.00 ms (greeting"), "{text}");
        assert!(text.contains("| p95 ≤ 5 ms | **no** |"), "{text}");
        assert!(text.contains("- 500 CPS: 4997/5000 ok, 3 failed"), "{text}");
    }

    #[test]
    fn missing_phases_leave_their_rows_out() {
        let text = ResultsTable {
            ramp: None,
            soak: None,
            pipeline: None,
            outbound: None,
            goals: Goals::default(),
        }
        .render();
        assert_eq!(text.lines().count(), 2);
    }

    #[test]
    fn pipeline_and_outbound_rows() {
        let pipeline = PipelineReport {
            soak: SoakReport {
                target_calls: 20,
                peak_calls: 20,
                mean_plateau_calls: 20.0,
                switch_cpu_percent: 80.0,
                rss_idle_kib: 100_000,
                rss_peak_kib: 140_960,
                plateau: Duration::from_secs(30),
                ..SoakReport::default()
            },
            turns: crate::load::TurnCount {
                calls: 21,
                calls_heard: 20,
                caller_turns: 60,
                agent_turns: 80,
            },
            latency: crate::load::AnswerLatency {
                total_ms: Quantiles::new([700.0, 760.0, 1500.0]),
                stt_compute_ms: Quantiles::new([100.0, 150.0, 900.0]),
            },
            moonshine: crate::load::MoonshineWork {
                decoded: 40,
                shed: 3,
            },
        };
        let outbound = OutboundReport {
            target_calls: 100,
            target_cps: 20,
            accepted: 99,
            refused: vec!["429: too many".into()],
            refused_count: 1,
            api_cps: 19.8,
            carrier_cps: Some(19.5),
            carrier_successful: 99,
            carrier_failed: 1,
            ..OutboundReport::default()
        };
        let text = ResultsTable {
            ramp: None,
            soak: None,
            pipeline: Some(&pipeline),
            outbound: Some(&outbound),
            goals: Goals::default(),
        }
        .render();
        assert!(
            text.contains("| 4.00 % of a core (80 % over 30 s"),
            "{text}"
        );
        assert!(
            text.contains("| 2048.0 KiB (137.7 MiB, 97.7 MiB)"),
            "{text}"
        );
        assert!(
            text.contains(
                "99/100 accepted, 1 refused; carrier 99 ok, 1 failed | 0 failures | **no** |"
            ),
            "{text}"
        );
        assert!(text.contains("| 19.8 / 19.5 (asked 20)"), "{text}");
        assert!(
            text.contains("| 760.00 / 1500.00 ms (150.00 / 900.00 ms; 3 answers)"),
            "{text}"
        );
        assert!(
            text.contains("to the keyword search (0 / 0: pocketsphinx) | 40 / 3 |"),
            "{text}"
        );
        assert!(
            text.contains("Outbound refusals (1, first 1): 429: too many"),
            "{text}"
        );
    }
}
