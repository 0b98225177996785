//! The checks a new INVITE passes before the router spends anything on it: the CPS limits
//! ([`Throttler`], in the transport's dispatcher: a throttled INVITE costs no task, no storage
//! and no call record) and the trunk gate ([`InboundGate`], in the router).

mod gate;
mod limiter;

use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use metrics::counter;
use sip::message::{Request, Response, ResponseBuilder, new_tag};

pub use gate::{GateRefusal, InboundGate};
pub use limiter::{InviteLimiter, LimiterConfig, Throttle};

/// Retry-After of a throttled INVITE, seconds (the buckets refill within a second).
const RETRY_AFTER_SECS: u32 = 1;

/// The INVITE limiter behind a lock, answering throttled INVITEs 503.
#[derive(Debug)]
pub struct Throttler {
    limiter: Mutex<InviteLimiter>,
    user_agent: String,
}

impl Throttler {
    /// A throttler with `config`'s limits.
    pub fn new(config: LimiterConfig, user_agent: String) -> Self {
        Throttler {
            limiter: Mutex::new(InviteLimiter::new(config, Instant::now())),
            user_agent,
        }
    }

    /// `None` when the INVITE from `source` may proceed; else the 503 to send, counted in
    /// `sip_invites_throttled_total{reason}`.
    pub fn check(&self, request: &Request, source: IpAddr) -> Option<Response> {
        let verdict = self
            .limiter
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .check(Instant::now(), source.to_canonical());
        let throttle = verdict.err()?;
        counter!("sip_invites_throttled_total", "reason" => throttle.label()).increment(1);
        Some(
            ResponseBuilder::new(request, 503, Some(&new_tag()))
                .header("Server", self.user_agent.clone())
                .header("Retry-After", RETRY_AFTER_SECS.to_string())
                .build(),
        )
    }
}
