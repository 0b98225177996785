//! Client INVITE transaction (RFC 3261 §17.1.1, amended by RFC 6026 §7.2 and §8.4).
//!
//! - *Calling*: the INVITE was sent; Timer A retransmits it (T1, doubling, UDP only) and Timer B
//!   (64*T1) gives up with [`TimeoutReason::NoResponse`].
//! - *Proceeding*: a provisional came; no more retransmissions, and no timer unless a CANCEL was
//!   sent (§9.1: without a final response 64*T1 after the CANCEL, the INVITE is given up).
//! - *Completed*: a 300–699 came; the transaction sent the ACK itself (§17.1.1.3) and re-sends it
//!   for every retransmission of that response until Timer D (32 s UDP, 0 TCP).
//! - *Accepted* (RFC 6026): a 2xx came; it and every retransmission of it (or a 2xx of another
//!   fork) go to the TU, which ACKs each in a new, transaction-less request, until Timer M (64*T1).

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::nict::ResponseFate;
use super::timer::{TimerTable, TxTimer};
use super::{TimeoutReason, TimerConfig, TxOutput};
use crate::message::{Request, Response, ack_for_non_2xx, request_bytes};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Calling,
    Proceeding,
    Completed,
    Accepted,
    Terminated,
}

/// Whether a CANCEL can go out for this INVITE (§9.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CancelTiming {
    /// A provisional response came: send the CANCEL now.
    Now,
    /// Nothing came yet: the CANCEL waits for the first provisional response.
    Deferred,
    /// A final response came (or the transaction ended): nothing to cancel.
    TooLate,
}

/// One client INVITE transaction.
#[derive(Debug)]
pub(crate) struct ClientInviteTx {
    state: State,
    invite: Request,
    bytes: Bytes,
    ack: Option<Bytes>,
    timers: TimerTable,
    interval: Duration,
    reliable: bool,
    cancel_pending: bool,
    cancelled: bool,
    config: TimerConfig,
}

impl ClientInviteTx {
    /// Creates the transaction and sends the INVITE.
    pub(crate) fn start(
        now: Instant,
        config: TimerConfig,
        reliable: bool,
        invite: Request,
        out: &mut Vec<TxOutput>,
    ) -> Self {
        let bytes = Bytes::from(request_bytes(&invite));
        let mut timers = TimerTable::default();
        timers.set(TxTimer::B, now + config.timeout());
        if !reliable {
            timers.set(TxTimer::A, now + config.t1);
        }
        out.push(TxOutput::Send(bytes.clone()));
        ClientInviteTx {
            state: State::Calling,
            invite,
            bytes,
            ack: None,
            timers,
            interval: config.t1,
            reliable,
            cancel_pending: false,
            cancelled: false,
            config,
        }
    }

    /// The INVITE this transaction carries (the source of its CANCEL).
    pub(crate) fn invite(&self) -> &Request {
        &self.invite
    }

    pub(crate) fn is_terminated(&self) -> bool {
        self.state == State::Terminated
    }

    pub(crate) fn next_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// The TU asks to cancel the INVITE: says whether the CANCEL goes out now, after the first
    /// provisional response, or not at all.
    pub(crate) fn request_cancel(&mut self) -> CancelTiming {
        match self.state {
            State::Calling => {
                self.cancel_pending = true;
                CancelTiming::Deferred
            }
            State::Proceeding if !self.cancelled && !self.cancel_pending => CancelTiming::Now,
            _ => CancelTiming::TooLate,
        }
    }

    /// The endpoint sent the CANCEL: arm the §9.1 guard (64*T1 for a final response).
    pub(crate) fn on_cancel_sent(&mut self, now: Instant) {
        self.cancel_pending = false;
        self.cancelled = true;
        self.timers.set(TxTimer::B, now + self.config.timeout());
    }

    /// Whether a deferred CANCEL is now due (a provisional arrived since it was asked for).
    pub(crate) fn cancel_due(&self) -> bool {
        self.cancel_pending && self.state == State::Proceeding
    }

    /// A response matched this transaction.
    pub(crate) fn on_response(
        &mut self,
        now: Instant,
        response: &Response,
        out: &mut Vec<TxOutput>,
    ) -> ResponseFate {
        let status = response.status_code.code();
        match (self.state, status) {
            (State::Calling | State::Proceeding, 100..=199) => {
                self.state = State::Proceeding;
                self.timers.stop(TxTimer::A);
                if !self.cancelled {
                    self.timers.stop(TxTimer::B);
                }
                ResponseFate::Deliver
            }
            (State::Calling | State::Proceeding, 200..=299) => {
                self.state = State::Accepted;
                self.cancel_pending = false;
                self.timers.stop_all();
                self.timers.set(TxTimer::M, now + self.config.timeout());
                ResponseFate::Deliver
            }
            (State::Calling | State::Proceeding, 300..=699) => {
                self.state = State::Completed;
                self.cancel_pending = false;
                self.timers.stop_all();
                self.timers
                    .set(TxTimer::D, now + self.config.timer_d(self.reliable));
                let ack = Bytes::from(request_bytes(&ack_for_non_2xx(&self.invite, response)));
                out.push(TxOutput::Send(ack.clone()));
                self.ack = Some(ack);
                ResponseFate::Deliver
            }
            (State::Completed, 300..=699) => {
                if let Some(ack) = &self.ack {
                    out.push(TxOutput::Send(ack.clone()));
                }
                ResponseFate::Absorb
            }
            // RFC 6026 §8.4: every 2xx in Accepted goes to the TU, which ACKs it.
            (State::Accepted, 200..=299) => ResponseFate::Deliver,
            _ => ResponseFate::Absorb,
        }
    }

    pub(crate) fn on_timeout(&mut self, now: Instant, out: &mut Vec<TxOutput>) {
        while let Some(timer) = self.timers.take_expired(now) {
            match timer {
                TxTimer::A => {
                    out.push(TxOutput::Send(self.bytes.clone()));
                    self.interval *= 2;
                    self.timers.set(TxTimer::A, now + self.interval);
                }
                TxTimer::B => {
                    out.push(TxOutput::Timeout(TimeoutReason::NoResponse));
                    self.terminate();
                }
                _ => self.terminate(),
            }
        }
    }

    fn terminate(&mut self) {
        self.state = State::Terminated;
        self.timers.stop_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{SipMessage, parse_message};

    fn invite() -> Request {
        let raw = "INVITE sip:b@192.0.2.5 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKi\r\n\
            From: <sip:a@10.0.0.1>;tag=f\r\nTo: <sip:b@192.0.2.5>\r\nCall-ID: c\r\n\
            CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
        match parse_message(raw.as_bytes()) {
            Ok(SipMessage::Request(r)) => r,
            other => panic!("test INVITE: {other:?}"),
        }
    }

    fn response(status: u16) -> Response {
        crate::message::ResponseBuilder::new(&invite(), status, Some("t")).build()
    }

    fn sends(out: &[TxOutput]) -> usize {
        out.iter()
            .filter(|o| matches!(o, TxOutput::Send(_)))
            .count()
    }

    #[test]
    fn provisional_stops_timers_a_and_b() {
        let t0 = Instant::now();
        let mut out = Vec::new();
        let mut tx = ClientInviteTx::start(t0, TimerConfig::default(), false, invite(), &mut out);
        assert_eq!(tx.next_timeout(), Some(t0 + Duration::from_millis(500)));
        assert_eq!(
            tx.on_response(t0, &response(180), &mut out),
            ResponseFate::Deliver
        );
        assert_eq!(tx.next_timeout(), None, "Proceeding waits for the TU");
        assert_eq!(tx.request_cancel(), CancelTiming::Now);
        tx.on_cancel_sent(t0);
        assert_eq!(tx.next_timeout(), Some(t0 + Duration::from_secs(32)));
        assert_eq!(tx.request_cancel(), CancelTiming::TooLate, "one CANCEL");
        let mut out = Vec::new();
        tx.on_timeout(t0 + Duration::from_secs(32), &mut out);
        assert_eq!(out, [TxOutput::Timeout(TimeoutReason::NoResponse)]);
        assert!(tx.is_terminated());
    }

    #[test]
    fn cancel_before_any_response_waits_for_the_provisional() {
        let t0 = Instant::now();
        let mut out = Vec::new();
        let mut tx = ClientInviteTx::start(t0, TimerConfig::default(), true, invite(), &mut out);
        assert_eq!(tx.request_cancel(), CancelTiming::Deferred);
        assert!(!tx.cancel_due());
        tx.on_response(t0, &response(100), &mut out);
        assert!(tx.cancel_due());
        tx.on_cancel_sent(t0);
        assert!(!tx.cancel_due());
    }

    #[test]
    fn non_2xx_is_acked_once_per_copy_and_lingers_timer_d() {
        let t0 = Instant::now();
        let mut out = Vec::new();
        let mut tx = ClientInviteTx::start(t0, TimerConfig::default(), false, invite(), &mut out);
        let mut out = Vec::new();
        assert_eq!(
            tx.on_response(t0, &response(486), &mut out),
            ResponseFate::Deliver
        );
        assert_eq!(sends(&out), 1);
        assert_eq!(
            tx.on_response(t0, &response(486), &mut out),
            ResponseFate::Absorb
        );
        assert_eq!(sends(&out), 2);
        assert_eq!(out[0], out[1], "the same ACK each time");
        assert_eq!(tx.request_cancel(), CancelTiming::TooLate);
        assert_eq!(tx.next_timeout(), Some(t0 + Duration::from_secs(32)));
        let mut out = Vec::new();
        tx.on_timeout(t0 + Duration::from_secs(32), &mut out);
        assert!(out.is_empty() && tx.is_terminated());
    }

    #[test]
    fn reliable_transport_has_no_timer_a_and_zero_timer_d() {
        let t0 = Instant::now();
        let mut out = Vec::new();
        let mut tx = ClientInviteTx::start(t0, TimerConfig::default(), true, invite(), &mut out);
        assert_eq!(tx.next_timeout(), Some(t0 + Duration::from_secs(32)));
        tx.on_response(t0, &response(603), &mut out);
        assert_eq!(tx.next_timeout(), Some(t0));
    }

    #[test]
    fn accepted_passes_every_2xx_until_timer_m() {
        let t0 = Instant::now();
        let mut out = Vec::new();
        let mut tx = ClientInviteTx::start(t0, TimerConfig::default(), false, invite(), &mut out);
        let mut out = Vec::new();
        for _ in 0..3 {
            assert_eq!(
                tx.on_response(t0, &response(200), &mut out),
                ResponseFate::Deliver
            );
        }
        assert!(out.is_empty(), "the TU ACKs a 2xx, not the transaction");
        assert_eq!(
            tx.on_response(t0, &response(180), &mut out),
            ResponseFate::Absorb
        );
        assert_eq!(tx.next_timeout(), Some(t0 + Duration::from_secs(32)));
        tx.on_timeout(t0 + Duration::from_secs(32), &mut out);
        assert!(out.is_empty() && tx.is_terminated());
    }
}
