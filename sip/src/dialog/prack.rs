//! Reliable provisional responses on the UAS side (RFC 3262), sans-IO.
//!
//! When the caller requires (or supports, and we want) `100rel`, a 101–199 response to its
//! INVITE carries `Require: 100rel` and a growing `RSeq`, and our core — not the transaction —
//! retransmits it (T1, doubling) until a PRACK whose `RAck` names it arrives. Unacknowledged
//! after 64*T1, the TU should reject the INVITE with a 5xx (§3). One reliable provisional is
//! outstanding at a time (§3: a second waits for the first PRACK). The UAC side is
//! `UacDialog::prack`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use rsipstack::sip::{Request, Response};

use crate::message::{MessageKeys, has_token, header_values, set_header};
use crate::transaction::TimerConfig;

/// Whether `req` (an INVITE) requires reliable provisional responses (`Require: 100rel`).
pub fn requires_100rel(req: &Request) -> bool {
    has_token(&req.headers, "Require", "100rel")
}

/// Whether `req` supports them (`Supported: 100rel`, or requires them).
pub fn supports_100rel(req: &Request) -> bool {
    has_token(&req.headers, "Supported", "100rel") || requires_100rel(req)
}

/// A misuse or a PRACK that matches nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrackError {
    /// A reliable provisional is still unacknowledged: send this one after its PRACK.
    #[error("reliable provisional RSeq {0} is not acknowledged yet")]
    Outstanding(u32),
    /// Only 101–199 responses can be sent reliably.
    #[error("status {0} cannot be sent reliably")]
    NotProvisional(u16),
    /// The PRACK's `RAck` matches no outstanding response: answer it 481.
    #[error("PRACK matches no unacknowledged provisional response")]
    NoMatch,
}

/// What the reliable-provisional core asks of the TU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrackEvent {
    /// Send this provisional again on the INVITE's server transaction (`Endpoint::respond`).
    Retransmit(Response),
    /// No PRACK within 64*T1: reject the INVITE with a 5xx (e.g. 504) or end the call.
    GaveUp,
}

#[derive(Debug, Clone)]
struct Outstanding {
    response: Response,
    rseq: u32,
    cseq: u32,
    interval: Duration,
    next_at: Instant,
    give_up_at: Instant,
}

/// Reliable provisional responses of one INVITE we answer.
#[derive(Debug, Clone)]
pub struct ReliableProvisionals {
    timers: TimerConfig,
    next_rseq: u32,
    outstanding: Option<Outstanding>,
    events: VecDeque<PrackEvent>,
}

impl ReliableProvisionals {
    /// A core whose first `RSeq` is random in 1..2^31 (§3).
    pub fn new(timers: TimerConfig) -> Self {
        Self::with_first_rseq(timers, rand::random_range(1..(1u32 << 31)))
    }

    /// A core whose first `RSeq` is `rseq` (tests, reproducible traces).
    pub fn with_first_rseq(timers: TimerConfig, rseq: u32) -> Self {
        ReliableProvisionals {
            timers,
            next_rseq: rseq.max(1),
            outstanding: None,
            events: VecDeque::new(),
        }
    }

    /// Makes `response` (101–199, to the INVITE) reliable — adds `Require: 100rel` and `RSeq`
    /// — and starts its retransmission. Returns the response to send now.
    pub fn send(&mut self, now: Instant, mut response: Response) -> Result<Response, PrackError> {
        let status = response.status_code.code();
        if !(101..200).contains(&status) {
            return Err(PrackError::NotProvisional(status));
        }
        if let Some(o) = &self.outstanding {
            return Err(PrackError::Outstanding(o.rseq));
        }
        let cseq = MessageKeys::of_response(&response)
            .map(|k| k.cseq.number)
            .unwrap_or_default();
        let rseq = self.next_rseq;
        self.next_rseq = self.next_rseq.wrapping_add(1).max(1);
        set_header(&mut response.headers, "Require", "100rel".into());
        set_header(&mut response.headers, "RSeq", rseq.to_string());
        self.outstanding = Some(Outstanding {
            response: response.clone(),
            rseq,
            cseq,
            interval: self.timers.t1,
            next_at: now + self.timers.t1,
            give_up_at: now + self.timers.timeout(),
        });
        Ok(response)
    }

    /// A PRACK arrived: `Ok` when its `RAck` (`<rseq> <cseq> INVITE`) names the outstanding
    /// provisional, which stops its retransmission (answer the PRACK 200); `Err(NoMatch)`
    /// otherwise (answer 481).
    pub fn handle_prack(&mut self, prack: &Request) -> Result<(), PrackError> {
        let rack = header_values(&prack.headers, "RAck");
        let mut parts = rack.first().ok_or(PrackError::NoMatch)?.split_whitespace();
        let rseq: Option<u32> = parts.next().and_then(|v| v.parse().ok());
        let cseq: Option<u32> = parts.next().and_then(|v| v.parse().ok());
        let method_ok = parts
            .next()
            .is_some_and(|m| m.eq_ignore_ascii_case("INVITE"));
        match &self.outstanding {
            Some(o) if method_ok && rseq == Some(o.rseq) && cseq == Some(o.cseq) => {
                self.outstanding = None;
                Ok(())
            }
            _ => Err(PrackError::NoMatch),
        }
    }

    /// The final response to the INVITE went out: nothing is retransmitted any more.
    pub fn on_final(&mut self) {
        self.outstanding = None;
    }

    /// The `RSeq` awaiting its PRACK, if any.
    pub fn outstanding(&self) -> Option<u32> {
        self.outstanding.as_ref().map(|o| o.rseq)
    }

    /// When [`ReliableProvisionals::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.outstanding
            .as_ref()
            .map(|o| o.next_at.min(o.give_up_at))
    }

    /// Retransmits or gives up as due at `now` (an early call does nothing).
    pub fn handle_timeout(&mut self, now: Instant) {
        let Some(o) = self.outstanding.as_mut() else {
            return;
        };
        if o.give_up_at <= now {
            self.outstanding = None;
            self.events.push_back(PrackEvent::GaveUp);
            return;
        }
        if o.next_at <= now {
            self.events
                .push_back(PrackEvent::Retransmit(o.response.clone()));
            o.interval *= 2;
            o.next_at = now + o.interval;
        }
    }

    /// The next thing the TU must do.
    pub fn poll_event(&mut self) -> Option<PrackEvent> {
        self.events.pop_front()
    }
}

#[cfg(test)]
#[path = "prack_tests.rs"]
mod tests;
