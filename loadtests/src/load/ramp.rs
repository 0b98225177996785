//! The CPS ramp: SIPp places 1-s calls (`uac_basic.xml`, greeting from the cache, no RTP back)
//! at rising rates, each step for a fixed time, until a step is not clean: a failed call, the
//! rate not reached, retransmissions, or slow answers. Each step records what SIPp achieved and
//! measured (per-call INVITE→200 times from `-trace_rtt`) and the switch's CPU.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::error::LoadError;
use super::procfs::{ProcSample, clock_ticks_per_sec};
use super::quantiles::Quantiles;
use super::switch::LoadSwitch;
use crate::{SippError, SippReport, SippRun};

/// How the ramp runs and when a step counts as clean.
#[derive(Debug, Clone, PartialEq)]
pub struct RampConfig {
    /// Target call rates, in order (calls per second).
    pub steps: Vec<u32>,
    /// How long each step places calls.
    pub step_duration: Duration,
    /// How long each call lasts after the ACK.
    pub call_duration: Duration,
    /// A step whose INVITE→200 p95 is above this is degraded.
    pub max_p95: Duration,
    /// A step with more retransmissions than this share of its calls is degraded.
    pub max_retransmission_ratio: f64,
    /// A step that reaches less than this share of its target rate is degraded.
    pub min_rate_ratio: f64,
    /// The number to call.
    pub number: String,
}

/// What one step of the ramp did.
#[derive(Debug, Clone, PartialEq)]
pub struct RampStep {
    /// The target rate.
    pub target_cps: u32,
    /// Calls asked for (target × step length).
    pub calls: u64,
    /// Calls SIPp created.
    pub created: u64,
    /// Calls that completed the scenario.
    pub successful: u64,
    /// Calls that failed (including those still open when SIPp's budget ran out).
    pub failed: u64,
    /// SIP retransmissions SIPp sent.
    pub retransmissions: u64,
    /// Answered calls per second, from the first to the last 200 OK SIPp measured.
    pub achieved_cps: f64,
    /// INVITE→200 times (ms, SIPp's 1 ms resolution).
    pub response_ms: Quantiles,
    /// The switch's CPU over the step, in % of one core.
    pub switch_cpu_percent: f64,
    /// Why the step is not clean; `None` when it is.
    pub degraded: Option<String>,
}

impl RampStep {
    /// Whether the step had no failure and no sign of overload.
    pub fn is_clean(&self) -> bool {
        self.degraded.is_none()
    }
}

/// Every step the ramp ran, in order; it stops after the first step that is not clean.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RampReport {
    /// The steps.
    pub steps: Vec<RampStep>,
}

impl RampReport {
    /// The clean step with the highest achieved rate.
    pub fn best(&self) -> Option<&RampStep> {
        self.steps
            .iter()
            .filter(|s| s.is_clean())
            .max_by(|a, b| a.achieved_cps.total_cmp(&b.achieved_cps))
    }

    /// The step with this target rate.
    pub fn step(&self, cps: u32) -> Option<&RampStep> {
        self.steps.iter().find(|s| s.target_cps == cps)
    }

    /// Failed calls over all steps.
    pub fn failed_total(&self) -> u64 {
        self.steps.iter().map(|s| s.failed).sum()
    }
}

/// Runs the ramp against `switch`; returns early with [`LoadError::Interrupted`] once `stop`
/// is set (SIPp is killed).
pub fn run_ramp(
    switch: &mut LoadSwitch,
    config: &RampConfig,
    stop: &AtomicBool,
) -> Result<RampReport, LoadError> {
    let mut report = RampReport::default();
    let ticks = clock_ticks_per_sec();
    for &cps in &config.steps {
        if cps == 0 {
            return Err(LoadError::Invalid("a ramp step of 0 CPS".into()));
        }
        let calls = (u64::from(cps) * config.step_duration.as_millis() as u64 / 1000).max(1);
        let budget = config.step_duration + config.call_duration + Duration::from_secs(30);
        let before = ProcSample::read(switch.pid())
            .map_err(|e| LoadError::io("reading the switch's /proc entry", e))?;
        let mut sipp = SippRun::uac_basic()
            .target(switch.sip)
            .service(&config.number)
            .rate(f64::from(cps))
            .calls(u32::try_from(calls).unwrap_or(u32::MAX))
            .call_duration(config.call_duration)
            .trace_rtt()
            .timeout(budget)
            .spawn()?;
        while !sipp.has_exited() {
            if stop.load(Ordering::Relaxed) {
                return Err(LoadError::Interrupted);
            }
            if !switch.is_running() {
                return Err(switch.error(&format!("died during the {cps} CPS step")));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let after = ProcSample::read(switch.pid())
            .map_err(|e| LoadError::io("reading the switch's /proc entry", e))?;
        let sipp_report = match sipp.wait() {
            Ok(r) => r,
            Err(SippError::TimedOut {
                partial: Some(partial),
                ..
            }) => *partial,
            Err(err) => return Err(err.into()),
        };
        let step = judge(
            cps,
            calls,
            &sipp_report,
            after.cpu_percent_since(&before, ticks),
            config,
        );
        let clean = step.is_clean();
        report.steps.push(step);
        // Let the last calls end before the next step (or before the soak).
        switch.wait_idle(Duration::from_secs(15));
        if !clean {
            break;
        }
    }
    Ok(report)
}

/// Builds a step's figures from SIPp's report and decides whether it is clean.
fn judge(
    cps: u32,
    calls: u64,
    sipp: &SippReport,
    switch_cpu_percent: f64,
    config: &RampConfig,
) -> RampStep {
    let samples = &sipp.response_times;
    let response_ms = Quantiles::new(samples.iter().map(|s| s.response.as_secs_f64() * 1e3));
    let achieved_cps = match (samples.first(), samples.last()) {
        (Some(first), Some(last)) if samples.len() > 1 && last.at > first.at => {
            (samples.len() - 1) as f64 / (last.at - first.at).as_secs_f64()
        }
        _ => sipp.successful as f64 / config.step_duration.as_secs_f64().max(1e-3),
    };
    let failed = sipp.failed + calls.saturating_sub(sipp.successful + sipp.failed);
    let p95 = response_ms.percentile(95.0).unwrap_or(0.0);
    let retrans_ratio = sipp.retransmissions as f64 / calls.max(1) as f64;
    let degraded = if failed > 0 {
        Some(format!("{failed} failed calls"))
    } else if achieved_cps < config.min_rate_ratio * f64::from(cps) {
        Some(format!("reached {achieved_cps:.0} of {cps} CPS"))
    } else if retrans_ratio > config.max_retransmission_ratio {
        Some(format!("{} retransmissions", sipp.retransmissions))
    } else if p95 > config.max_p95.as_secs_f64() * 1e3 {
        Some(format!("INVITE→200 p95 {p95:.0} ms"))
    } else {
        None
    };
    RampStep {
        target_cps: cps,
        calls,
        created: sipp.created,
        successful: sipp.successful,
        failed,
        retransmissions: sipp.retransmissions,
        achieved_cps,
        response_ms,
        switch_cpu_percent,
        degraded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ResponseTimeSample;

    fn config() -> RampConfig {
        RampConfig {
            steps: vec![100],
            step_duration: Duration::from_secs(10),
            call_duration: Duration::from_secs(1),
            max_p95: Duration::from_millis(50),
            max_retransmission_ratio: 0.001,
            min_rate_ratio: 0.95,
            number: "5000".into(),
        }
    }

    /// A report of `n` calls answered at `cps` with response time `ms`.
    fn report(n: u64, cps: f64, ms: u64) -> SippReport {
        let row = crate::stats::parse_stat_csv(crate::stats::tests::SAMPLE)
            .expect("parses")
            .expect("row");
        let mut report =
            SippReport::from_row(row, 0, Duration::from_secs(11), String::new()).expect("report");
        report.created = n;
        report.successful = n;
        report.response_times = (0..n)
            .map(|i| ResponseTimeSample {
                at: Duration::from_secs_f64(i as f64 / cps),
                response: Duration::from_millis(ms),
                rtd: 1,
            })
            .collect();
        report
    }

    #[test]
    fn a_step_at_rate_without_failures_is_clean() {
        let step = judge(100, 1000, &report(1000, 100.0, 2), 12.5, &config());
        assert!(step.is_clean(), "{:?}", step.degraded);
        assert!(
            (step.achieved_cps - 100.0).abs() < 0.5,
            "{}",
            step.achieved_cps
        );
        assert_eq!(step.response_ms.percentile(95.0), Some(2.0));
        assert_eq!(step.switch_cpu_percent, 12.5);
    }

    #[test]
    fn failures_missing_calls_slow_rates_and_slow_answers_degrade() {
        let mut failed = report(1000, 100.0, 2);
        failed.successful = 990;
        failed.failed = 10;
        assert_eq!(
            judge(100, 1000, &failed, 0.0, &config())
                .degraded
                .as_deref(),
            Some("10 failed calls")
        );
        // Calls never created (SIPp ran out of time) count as failed.
        let short = report(900, 100.0, 2);
        assert_eq!(judge(100, 1000, &short, 0.0, &config()).failed, 100);
        let slow_rate = report(1000, 80.0, 2);
        assert!(
            judge(100, 1000, &slow_rate, 0.0, &config())
                .degraded
                .expect("degraded")
                .contains("reached 80")
        );
        let slow_answers = report(1000, 100.0, 80);
        assert!(
            judge(100, 1000, &slow_answers, 0.0, &config())
                .degraded
                .expect("degraded")
                .contains("p95 80 ms")
        );
        let mut retrans = report(1000, 100.0, 2);
        retrans.retransmissions = 5;
        assert!(!judge(100, 1000, &retrans, 0.0, &config()).is_clean());
    }

    #[test]
    fn best_is_the_fastest_clean_step() {
        let cfg = config();
        let mut ramp = RampReport::default();
        ramp.steps
            .push(judge(100, 1000, &report(1000, 100.0, 1), 0.0, &cfg));
        ramp.steps
            .push(judge(200, 2000, &report(2000, 200.0, 1), 0.0, &cfg));
        let mut bad = report(3000, 300.0, 1);
        bad.successful = 2999;
        bad.failed = 1;
        ramp.steps.push(judge(300, 3000, &bad, 0.0, &cfg));
        assert_eq!(ramp.best().map(|s| s.target_cps), Some(200));
        assert_eq!(ramp.failed_total(), 1);
        assert!(ramp.step(300).is_some_and(|s| !s.is_clean()));
    }
}
