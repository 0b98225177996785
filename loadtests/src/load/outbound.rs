//! The outbound phase: the runner originates N calls through the admin API
//! (`POST /v1/tenants/{tenant}/calls`, four HTTP clients side by side) at a given rate, through a trunk to a SIPp carrier
//! (`uas_answer.xml` with `-rtp_echo`) that answers at once, echoes the agent's audio and
//! hangs up after a hold. It reports the rate the API accepted calls at, the rate the carrier
//! saw INVITEs at, refusals and failed calls, the API's latency and the carrier's INVITE→ACK
//! time (the switch's 200 → ACK turnaround plus the 180/200 the carrier sends; SIPp's
//! resolution is 1 ms).
//!
//! The operator's outbound policy is set wide enough (CPS cap 2 × the rate, concurrency cap
//! the number of calls) that the guard itself does not refuse calls.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::error::LoadError;
use super::procfs::{ProcSample, clock_ticks_per_sec};
use super::quantiles::Quantiles;
use super::switch::LoadSwitch;
use crate::{SippError, SippRun};

/// Slack the carrier gets beyond placing and holding all calls.
const CARRIER_SLACK: Duration = Duration::from_secs(30);

/// How the outbound phase runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundConfig {
    /// Calls to originate.
    pub calls: u32,
    /// Calls per second to originate them at.
    pub rate: u32,
    /// How long the carrier keeps each answered call before it hangs up.
    pub hold: Duration,
}

impl OutboundConfig {
    /// How long placing the calls takes at the configured rate.
    pub fn placing_time(&self) -> Duration {
        Duration::from_secs_f64(f64::from(self.calls) / f64::from(self.rate.max(1)))
    }

    /// Checks that the phase is bounded.
    pub fn validate(&self) -> Result<(), LoadError> {
        if self.calls == 0 || self.rate == 0 {
            return Err(LoadError::Invalid(
                "outbound calls and rate must be positive".into(),
            ));
        }
        Ok(())
    }
}

/// What the outbound phase measured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutboundReport {
    /// Calls asked for.
    pub target_calls: u32,
    /// Rate asked for.
    pub target_cps: u32,
    /// Calls the API accepted (202).
    pub accepted: u64,
    /// Calls it refused, as "status: body" (first few kept).
    pub refused: Vec<String>,
    /// Number of refusals.
    pub refused_count: u64,
    /// Accepted calls per second, from the first request to the last 202.
    pub api_cps: f64,
    /// INVITEs per second the carrier saw, from its first to its last answered call.
    pub carrier_cps: Option<f64>,
    /// Calls the carrier completed (answered, hung up, BYE answered).
    pub carrier_successful: u64,
    /// Calls the carrier saw fail, or never saw.
    pub carrier_failed: u64,
    /// Time the API took to accept each call, in ms.
    pub api_ms: Quantiles,
    /// INVITE received → ACK received at the carrier, in ms.
    pub invite_to_ack_ms: Quantiles,
    /// The switch's CPU while the calls were placed and held, % of one core.
    pub switch_cpu_percent: f64,
}

/// HTTP clients originating side by side, so one request's round trip does not cap the rate.
const CLIENTS: u32 = 4;

/// How many refusals are kept verbatim.
const REFUSALS_KEPT: usize = 5;

/// One originate request's outcome.
struct Placed {
    /// HTTP status (202 when accepted).
    status: u16,
    /// The response body.
    body: String,
    /// When the response came.
    answered_at: Instant,
    /// The request's round trip, ms.
    api_ms: f64,
}

/// What every originating client shares.
struct Originate<'a> {
    switch: &'a LoadSwitch,
    path: &'a str,
    agent_id: &'a str,
    trunk_id: &'a str,
    config: &'a OutboundConfig,
    started: Instant,
    stop: &'a AtomicBool,
}

/// Client `client` of [`CLIENTS`] places calls `client`, `client + CLIENTS`, … each at its
/// slot `n / rate` after `started`.
fn place_calls(o: &Originate<'_>, client: u32) -> Result<Vec<Placed>, LoadError> {
    let Originate {
        switch,
        path,
        agent_id,
        trunk_id,
        config,
        started,
        stop,
    } = *o;
    let mut placed = Vec::new();
    for n in (client..config.calls).step_by(CLIENTS as usize) {
        if stop.load(Ordering::Relaxed) {
            return Err(LoadError::Interrupted);
        }
        let due = started + Duration::from_secs_f64(f64::from(n) / f64::from(config.rate));
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let body = serde_json::json!({
            "to": format!("+1555{n:07}"),
            "agent_id": agent_id,
            "trunk_id": trunk_id,
        });
        let sent = Instant::now();
        let (status, body) = switch.request("POST", path, &body)?;
        let answered_at = Instant::now();
        placed.push(Placed {
            status,
            body,
            answered_at,
            api_ms: (answered_at - sent).as_secs_f64() * 1e3,
        });
    }
    Ok(placed)
}

/// Runs the outbound phase against `switch`, originating for `tenant_id` with `agent_id`.
pub fn run_outbound(
    switch: &mut LoadSwitch,
    tenant_id: &str,
    agent_id: &str,
    config: &OutboundConfig,
    stop: &AtomicBool,
) -> Result<OutboundReport, LoadError> {
    config.validate()?;
    let budget = config.placing_time() + config.hold + CARRIER_SLACK;
    let mut carrier = SippRun::scenario(&crate::scenario_file("uas_answer.xml"))
        .calls(config.calls)
        .call_duration(config.hold)
        .rtp_echo()
        .trace_rtt()
        .timeout(budget)
        .spawn()?;
    let trunk = switch.post(
        "/v1/trunks",
        &serde_json::json!({
            "name": "load-carrier",
            "address": carrier.local_addr().to_string(),
            "transport": "udp",
        }),
    )?;
    let trunk_id = trunk
        .get("id")
        .and_then(|v| v.as_str())
        .ok_or_else(|| switch.error(&format!("no trunk id in {trunk}")))?
        .to_string();
    switch.put(
        &format!("/v1/tenants/{tenant_id}/outbound-policy"),
        &serde_json::json!({
            "allowed_prefixes": ["+1"],
            "max_cps": config.rate.saturating_mul(2),
            "max_concurrent": config.calls,
        }),
    )?;

    let ticks = clock_ticks_per_sec();
    let read = |pid: u32| {
        ProcSample::read(pid).map_err(|e| LoadError::io(format!("reading /proc/{pid}"), e))
    };
    let before = read(switch.pid())?;
    let mut report = OutboundReport {
        target_calls: config.calls,
        target_cps: config.rate,
        ..OutboundReport::default()
    };
    let path = format!("/v1/tenants/{tenant_id}/calls");
    let started = Instant::now();
    let originate = Originate {
        switch,
        path: &path,
        agent_id,
        trunk_id: &trunk_id,
        config,
        started,
        stop,
    };
    let per_client: Vec<Result<Vec<Placed>, LoadError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..CLIENTS.min(config.calls))
            .map(|client| {
                let originate = &originate;
                scope.spawn(move || place_calls(originate, client))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(LoadError::Invalid(
                        "an outbound client thread panicked".into(),
                    ))
                })
            })
            .collect()
    });
    let mut last_accept = started;
    let mut api_ms = Vec::new();
    for placed in per_client {
        for call in placed? {
            api_ms.push(call.api_ms);
            if call.status == 202 {
                report.accepted += 1;
                last_accept = last_accept.max(call.answered_at);
            } else {
                report.refused_count += 1;
                if report.refused.len() < REFUSALS_KEPT {
                    report
                        .refused
                        .push(format!("{}: {}", call.status, call.body.trim()));
                }
            }
        }
    }
    let placing = last_accept.saturating_duration_since(started);
    report.api_cps = if report.accepted > 1 && !placing.is_zero() {
        // n accepted calls span n − 1 intervals of 1 / rate.
        (report.accepted - 1) as f64 / placing.as_secs_f64()
    } else {
        0.0
    };
    report.api_ms = Quantiles::new(api_ms);

    let carrier_report = loop {
        if stop.load(Ordering::Relaxed) {
            return Err(LoadError::Interrupted);
        }
        if !switch.is_running() {
            return Err(switch.error("died during the outbound phase"));
        }
        if carrier.has_exited() || report.accepted == 0 {
            break match carrier.wait() {
                Ok(r) => r,
                Err(SippError::TimedOut {
                    partial: Some(partial),
                    ..
                }) => *partial,
                Err(err) => return Err(err.into()),
            };
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let after = read(switch.pid())?;
    report.switch_cpu_percent = after.cpu_percent_since(&before, ticks);
    report.carrier_successful = carrier_report.successful;
    report.carrier_failed = carrier_report.failed
        + u64::from(config.calls).saturating_sub(carrier_report.successful + carrier_report.failed);
    let samples = &carrier_report.response_times;
    report.invite_to_ack_ms =
        Quantiles::new(samples.iter().map(|s| s.response.as_secs_f64() * 1e3));
    report.carrier_cps = match (samples.first(), samples.last()) {
        (Some(first), Some(last)) if samples.len() > 1 && last.at > first.at => {
            Some((samples.len() - 1) as f64 / (last.at - first.at).as_secs_f64())
        }
        _ => None,
    };
    switch.wait_idle(Duration::from_secs(30));
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_phase_is_bounded() {
        let config = OutboundConfig {
            calls: 100,
            rate: 20,
            hold: Duration::from_secs(2),
        };
        assert_eq!(config.placing_time(), Duration::from_secs(5));
        assert!(config.validate().is_ok());
        assert!(
            OutboundConfig {
                rate: 0,
                ..config.clone()
            }
            .validate()
            .is_err()
        );
        assert!(OutboundConfig { calls: 0, ..config }.validate().is_err());
    }
}
