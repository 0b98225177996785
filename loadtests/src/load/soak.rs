//! The concurrency soak: SIPp ramps up to N concurrent calls that exchange RTP both ways
//! (`uac_basic.xml` with `-rtp_echo`: SIPp echoes the switch's paced G.711 stream back), holds
//! them for M seconds, then lets them end. During the hold the runner samples the switch's CPU,
//! resident memory and live-call gauge every second, and places probe calls of its own that
//! measure RTP pacing and answer-to-first-RTP at that load (see `probe`).
//!
//! The same soak measures the full offline pipeline when its callers speak instead
//! ([`SoakCaller::Speech`]: `uac_speech.xml` looping espeak-ng speech at a speech-recognising
//! agent), usually with fewer calls and no probes.
//!
//! Timeline (calls start at `rate` per second and all last `ramp + settle + hold`):
//! `0 ── ramp-in (N / rate) ── settle ── hold (plateau: sampling, probes) ── ramp-out`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::error::LoadError;
use super::probe::{ANSWER_WITHIN, ProbeConfig, ProbeOutcome, run_probe};
use super::procfs::{ProcSample, clock_ticks_per_sec};
use super::quantiles::Quantiles;
use super::switch::LoadSwitch;
use crate::{SippError, SippRun};

/// How often the switch is sampled.
const SAMPLE_EVERY: Duration = Duration::from_secs(1);
/// Longest a probe round may take beyond its hold (set-up and BYE on loopback).
const PROBE_SLACK: Duration = Duration::from_millis(500);

/// How the soak runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoakConfig {
    /// Concurrent SIPp calls to hold.
    pub calls: u32,
    /// Rate at which they are placed (calls per second).
    pub rate: u32,
    /// Time between the last call placed and the start of the measured plateau.
    pub settle: Duration,
    /// Length of the measured plateau.
    pub hold: Duration,
    /// Probe calls placed during the plateau.
    pub probes: u32,
    /// Probe calls at a time.
    pub probe_parallel: u32,
    /// How long each probe call stays up.
    pub probe_hold: Duration,
    /// The number to call.
    pub number: String,
    /// What the soak's callers do once answered.
    pub caller: SoakCaller,
}

/// What the soak's SIPp callers do once answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SoakCaller {
    /// `uac_basic.xml` with `-rtp_echo`: the switch's audio comes back (media-only cost).
    Echo,
    /// This scenario file (a `uac_speech.xml` copy whose `@AUDIO@` is filled in, see
    /// `speech::speech_soak_scenario`): the caller speaks, so recognition, the brain and
    /// synthesis all run (full pipeline cost).
    Speech(std::path::PathBuf),
}

impl SoakConfig {
    /// How long the calls take to ramp in.
    pub fn ramp_in(&self) -> Duration {
        Duration::from_secs_f64(f64::from(self.calls) / f64::from(self.rate.max(1)))
    }

    /// How long every SIPp call lasts.
    pub fn call_duration(&self) -> Duration {
        self.ramp_in() + self.settle + self.hold
    }

    /// How long the probe rounds take.
    pub fn probe_time(&self) -> Duration {
        let rounds = self.probes.div_ceil(self.probe_parallel.max(1));
        (self.probe_hold + PROBE_SLACK) * rounds
    }

    /// Checks that the soak is bounded and the probes fit in the plateau.
    pub fn validate(&self) -> Result<(), LoadError> {
        if self.calls == 0 || self.rate == 0 || self.hold.is_zero() {
            return Err(LoadError::Invalid(
                "soak calls, rate and hold must be positive".into(),
            ));
        }
        if self.probes > 0 && (self.probe_parallel == 0 || self.probe_time() > self.hold) {
            return Err(LoadError::Invalid(format!(
                "{} probes of {:?}, {} at a time, take {:?}: longer than the {:?} hold",
                self.probes,
                self.probe_hold,
                self.probe_parallel,
                self.probe_time(),
                self.hold
            )));
        }
        Ok(())
    }
}

/// RTP pacing and answer-to-first-RTP, from the probe calls.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PacingReport {
    /// Probe calls that completed.
    pub calls: usize,
    /// Why the others failed.
    pub failures: Vec<String>,
    /// Gaps between consecutive outbound RTP packets, in ms.
    pub gaps_ms: Quantiles,
    /// |gap − 20 ms|, in ms.
    pub deviation_ms: Quantiles,
    /// 200 OK to first RTP packet, in ms.
    pub answer_to_first_rtp_ms: Quantiles,
    /// 200 OK to first non-silent packet (the greeting), in ms.
    pub answer_to_first_audio_ms: Quantiles,
    /// INVITE to 200 OK, in ms.
    pub setup_ms: Quantiles,
    /// Arrivals whose sequence numbers were not consecutive (loss or reordering).
    pub sequence_breaks: u64,
    /// Datagrams without a kernel timestamp.
    pub unstamped: u64,
}

impl PacingReport {
    fn from_probes(results: Vec<Result<ProbeOutcome, LoadError>>) -> PacingReport {
        let mut report = PacingReport::default();
        let mut outcomes = Vec::new();
        for result in results {
            match result {
                Ok(outcome) => outcomes.push(outcome),
                Err(err) => report.failures.push(err.to_string()),
            }
        }
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let gaps: Vec<f64> = outcomes
            .iter()
            .flat_map(|o| o.gaps_us.iter().map(|g| *g as f64 / 1e3))
            .collect();
        report.calls = outcomes.len();
        report.deviation_ms = Quantiles::new(gaps.iter().map(|g| (g - 20.0).abs()));
        report.gaps_ms = Quantiles::new(gaps);
        report.answer_to_first_rtp_ms = Quantiles::new(
            outcomes
                .iter()
                .filter_map(|o| o.answer_to_first_rtp.map(ms)),
        );
        report.answer_to_first_audio_ms = Quantiles::new(
            outcomes
                .iter()
                .filter_map(|o| o.answer_to_first_audio.map(ms)),
        );
        report.setup_ms = Quantiles::new(outcomes.iter().map(|o| ms(o.setup)));
        report.sequence_breaks = outcomes.iter().map(|o| o.sequence_breaks).sum();
        report.unstamped = outcomes.iter().map(|o| o.unstamped).sum();
        report
    }
}

/// What the soak measured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SoakReport {
    /// Concurrent SIPp calls asked for.
    pub target_calls: u32,
    /// Highest `calls_active` the switch reported.
    pub peak_calls: u64,
    /// Mean `calls_active` over the plateau (SIPp calls plus probes).
    pub mean_plateau_calls: f64,
    /// Length of the measured plateau.
    pub plateau: Duration,
    /// The switch's CPU over the plateau, in % of one core.
    pub switch_cpu_percent: f64,
    /// SIPp's CPU over the plateau (load generator and RTP echo), in % of one core.
    pub sipp_cpu_percent: f64,
    /// The switch's resident memory before the soak, KiB.
    pub rss_idle_kib: u64,
    /// Its highest resident memory during the plateau, KiB.
    pub rss_peak_kib: u64,
    /// SIPp calls that completed / failed.
    pub sipp_successful: u64,
    /// SIPp calls that failed (or never completed).
    pub sipp_failed: u64,
    /// Pacing and answer-to-first-RTP from the probes.
    pub pacing: PacingReport,
}

impl SoakReport {
    /// The switch's CPU per live call, in % of one core.
    pub fn cpu_per_call_percent(&self) -> f64 {
        self.switch_cpu_percent / self.mean_plateau_calls.max(1.0)
    }

    /// Resident memory per live call above the idle baseline, in KiB.
    pub fn rss_per_call_kib(&self) -> f64 {
        self.rss_peak_kib.saturating_sub(self.rss_idle_kib) as f64
            / self.mean_plateau_calls.max(1.0)
    }
}

/// Runs the soak against `switch`; returns [`LoadError::Interrupted`] once `stop` is set.
pub fn run_soak(
    switch: &mut LoadSwitch,
    config: &SoakConfig,
    stop: &AtomicBool,
) -> Result<SoakReport, LoadError> {
    config.validate()?;
    let ticks = clock_ticks_per_sec();
    let pid = switch.pid();
    let read = |pid: u32| {
        ProcSample::read(pid).map_err(|e| LoadError::io(format!("reading /proc/{pid}"), e))
    };
    let idle = read(pid)?;
    let started = Instant::now();
    let plateau_start = started + config.ramp_in() + config.settle;
    let plateau_end = plateau_start + config.hold;
    let callers = match &config.caller {
        SoakCaller::Echo => SippRun::uac_basic().rtp_echo(),
        SoakCaller::Speech(scenario) => SippRun::scenario(scenario),
    };
    let mut sipp = callers
        .target(switch.sip)
        .service(&config.number)
        .rate(f64::from(config.rate))
        .calls(config.calls)
        .call_duration(config.call_duration())
        .timeout(config.call_duration() + config.ramp_in() + Duration::from_secs(60))
        .spawn()?;
    let sipp_pid = sipp.pid();
    let mut report = SoakReport {
        target_calls: config.calls,
        rss_idle_kib: idle.rss_kib,
        plateau: config.hold,
        ..SoakReport::default()
    };
    let results = std::thread::scope(|scope| -> Result<_, LoadError> {
        let mut probes = None;
        let mut first: Option<(ProcSample, Option<ProcSample>)> = None;
        let mut last = None;
        let mut plateau_calls = Vec::new();
        let mut next_sample = Instant::now();
        while Instant::now() < plateau_end {
            if stop.load(Ordering::Relaxed) {
                return Err(LoadError::Interrupted);
            }
            if !switch.is_running() {
                return Err(switch.error("died during the soak"));
            }
            if sipp.has_exited() {
                break;
            }
            let now = Instant::now();
            if probes.is_none() && now >= plateau_start {
                let switch_addr = switch.sip;
                probes = Some(scope.spawn(move || run_probes(switch_addr, config, stop)));
            }
            if now >= next_sample {
                next_sample += SAMPLE_EVERY;
                let live = switch.calls_active().unwrap_or(0);
                report.peak_calls = report.peak_calls.max(live);
                if now >= plateau_start {
                    let sample = read(pid)?;
                    let sipp_sample = ProcSample::read(sipp_pid).ok();
                    report.rss_peak_kib = report.rss_peak_kib.max(sample.rss_kib);
                    plateau_calls.push(live as f64);
                    if first.is_none() {
                        first = Some((sample, sipp_sample));
                    }
                    last = Some((sample, sipp_sample));
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if let (Some((a, sa)), Some((b, sb))) = (first, last) {
            report.switch_cpu_percent = b.cpu_percent_since(&a, ticks);
            if let (Some(sa), Some(sb)) = (sa, sb) {
                report.sipp_cpu_percent = sb.cpu_percent_since(&sa, ticks);
            }
            report.plateau = b.at.saturating_duration_since(a.at);
        }
        report.mean_plateau_calls =
            plateau_calls.iter().sum::<f64>() / plateau_calls.len().max(1) as f64;
        Ok(probes
            .map(|p| p.join().unwrap_or_default())
            .unwrap_or_default())
    })?;
    report.pacing = PacingReport::from_probes(results);
    let sipp_report = match sipp.wait() {
        Ok(r) => r,
        Err(SippError::TimedOut {
            partial: Some(partial),
            ..
        }) => *partial,
        Err(err) => return Err(err.into()),
    };
    report.sipp_successful = sipp_report.successful;
    report.sipp_failed = sipp_report.failed
        + u64::from(config.calls).saturating_sub(sipp_report.successful + sipp_report.failed);
    switch.wait_idle(Duration::from_secs(30));
    Ok(report)
}

/// Runs the probe calls in rounds of `probe_parallel`, stopping early once `stop` is set.
fn run_probes(
    switch: std::net::SocketAddr,
    config: &SoakConfig,
    stop: &AtomicBool,
) -> Vec<Result<ProbeOutcome, LoadError>> {
    let mut results = Vec::new();
    let parallel = config.probe_parallel.max(1);
    let mut placed = 0;
    while placed < config.probes && !stop.load(Ordering::Relaxed) {
        let round = parallel.min(config.probes - placed);
        let outcomes: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..round)
                .map(|i| {
                    let probe = ProbeConfig {
                        switch,
                        number: config.number.clone(),
                        hold: config.probe_hold,
                        unique: format!("{}-{}", std::process::id(), placed + i),
                        answer_within: ANSWER_WITHIN,
                    };
                    scope.spawn(move || run_probe(&probe))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(LoadError::Probe("probe thread panicked".into())))
                })
                .collect()
        });
        results.extend(outcomes);
        placed += round;
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> SoakConfig {
        SoakConfig {
            calls: 1000,
            rate: 100,
            settle: Duration::from_secs(5),
            hold: Duration::from_secs(120),
            probes: 40,
            probe_parallel: 4,
            probe_hold: Duration::from_secs(5),
            number: "5000".into(),
            caller: SoakCaller::Echo,
        }
    }

    #[test]
    fn timeline_and_probe_budget() {
        let c = config();
        assert_eq!(c.ramp_in(), Duration::from_secs(10));
        assert_eq!(c.call_duration(), Duration::from_secs(135));
        assert_eq!(c.probe_time(), Duration::from_secs(55));
        assert!(c.validate().is_ok());
        let too_many = SoakConfig {
            probes: 200,
            ..config()
        };
        assert!(too_many.validate().is_err());
        let unbounded = SoakConfig {
            hold: Duration::ZERO,
            ..config()
        };
        assert!(unbounded.validate().is_err());
    }

    #[test]
    fn pacing_pools_every_probe() {
        let a = ProbeOutcome {
            setup: Duration::from_millis(2),
            answer_to_first_rtp: Some(Duration::from_millis(1)),
            answer_to_first_audio: Some(Duration::from_millis(21)),
            gaps_us: vec![20_000, 20_500, 19_500],
            packets: 4,
            ..ProbeOutcome::default()
        };
        let b = ProbeOutcome {
            answer_to_first_rtp: Some(Duration::from_millis(3)),
            gaps_us: vec![25_000],
            sequence_breaks: 2,
            ..ProbeOutcome::default()
        };
        let report = PacingReport::from_probes(vec![
            Ok(a),
            Ok(b),
            Err(LoadError::Probe("refused with 503".into())),
        ]);
        assert_eq!(report.calls, 2);
        assert_eq!(report.failures.len(), 1);
        assert_eq!(report.gaps_ms.len(), 4);
        assert_eq!(report.gaps_ms.max(), Some(25.0));
        assert_eq!(report.deviation_ms.percentile(50.0), Some(0.5));
        assert_eq!(report.answer_to_first_rtp_ms.percentile(95.0), Some(3.0));
        assert_eq!(report.answer_to_first_audio_ms.len(), 1);
        assert_eq!(report.sequence_breaks, 2);
    }

    #[test]
    fn per_call_figures_use_the_plateau_mean() {
        let report = SoakReport {
            mean_plateau_calls: 1000.0,
            switch_cpu_percent: 50.0,
            rss_idle_kib: 20_000,
            rss_peak_kib: 120_000,
            ..SoakReport::default()
        };
        assert!((report.cpu_per_call_percent() - 0.05).abs() < 1e-12);
        assert!((report.rss_per_call_kib() - 100.0).abs() < 1e-12);
    }
}
