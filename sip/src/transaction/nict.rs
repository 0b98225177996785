//! Client non-INVITE transaction (RFC 3261 §17.1.2): Timer E retransmits the request (T1 doubling
//! up to T2, T2 once a provisional came), Timer F gives up at 64*T1, Timer K absorbs late responses.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::timer::{TimerTable, TxTimer};
use super::{TimeoutReason, TimerConfig, TxOutput};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Trying,
    Proceeding,
    Completed,
    Terminated,
}

/// What a response did to the transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResponseFate {
    /// First sight of this response: give it to the application.
    Deliver,
    /// A retransmission, absorbed.
    Absorb,
}

/// One client non-INVITE transaction (BYE, OPTIONS, INFO, REFER… sent by us).
#[derive(Debug)]
pub(crate) struct ClientNonInviteTx {
    state: State,
    request: Bytes,
    timers: TimerTable,
    interval: Duration,
    reliable: bool,
    config: TimerConfig,
}

impl ClientNonInviteTx {
    /// Creates the transaction and sends the request.
    pub(crate) fn start(
        now: Instant,
        config: TimerConfig,
        reliable: bool,
        request: Bytes,
        out: &mut Vec<TxOutput>,
    ) -> Self {
        let mut timers = TimerTable::default();
        timers.set(TxTimer::F, now + config.timeout());
        if !reliable {
            timers.set(TxTimer::E, now + config.t1);
        }
        out.push(TxOutput::Send(request.clone()));
        ClientNonInviteTx {
            state: State::Trying,
            request,
            timers,
            interval: config.t1,
            reliable,
            config,
        }
    }

    pub(crate) fn is_terminated(&self) -> bool {
        self.state == State::Terminated
    }

    pub(crate) fn next_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    pub(crate) fn on_response(&mut self, now: Instant, status: u16) -> ResponseFate {
        match (self.state, status) {
            (State::Trying | State::Proceeding, 100..=199) => {
                self.state = State::Proceeding;
                ResponseFate::Deliver
            }
            (State::Trying | State::Proceeding, _) => {
                self.state = State::Completed;
                self.timers.stop_all();
                let linger = if self.reliable {
                    Duration::ZERO
                } else {
                    self.config.t4
                };
                self.timers.set(TxTimer::K, now + linger);
                ResponseFate::Deliver
            }
            _ => ResponseFate::Absorb,
        }
    }

    pub(crate) fn on_timeout(&mut self, now: Instant, out: &mut Vec<TxOutput>) {
        while let Some(timer) = self.timers.take_expired(now) {
            match timer {
                TxTimer::E => {
                    out.push(TxOutput::Send(self.request.clone()));
                    self.interval = match self.state {
                        State::Proceeding => self.config.t2,
                        _ => (self.interval * 2).min(self.config.t2),
                    };
                    self.timers.set(TxTimer::E, now + self.interval);
                }
                TxTimer::F => {
                    out.push(TxOutput::Timeout(TimeoutReason::NoResponse));
                    self.state = State::Terminated;
                    self.timers.stop_all();
                }
                _ => {
                    self.state = State::Terminated;
                    self.timers.stop_all();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_response_lost_gives_eleven_sends_then_timer_f_at_32s() {
        let t0 = Instant::now();
        let mut out = Vec::new();
        let mut tx = ClientNonInviteTx::start(
            t0,
            TimerConfig::default(),
            false,
            Bytes::from_static(b"BYE"),
            &mut out,
        );
        let mut sends = vec![Duration::ZERO];
        let mut timeout_at = None;
        while let Some(d) = tx.next_timeout() {
            let mut out = Vec::new();
            tx.on_timeout(d, &mut out);
            for o in out {
                match o {
                    TxOutput::Send(_) => sends.push(d - t0),
                    TxOutput::Timeout(TimeoutReason::NoResponse) => timeout_at = Some(d - t0),
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
        let ms: Vec<u128> = sends.iter().map(Duration::as_millis).collect();
        assert_eq!(
            ms,
            [
                0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500
            ]
        );
        assert_eq!(timeout_at, Some(Duration::from_secs(32)));
    }

    #[test]
    fn final_response_is_delivered_once() {
        let t0 = Instant::now();
        let mut out = Vec::new();
        let mut tx =
            ClientNonInviteTx::start(t0, TimerConfig::default(), false, Bytes::new(), &mut out);
        assert_eq!(tx.on_response(t0, 200), ResponseFate::Deliver);
        assert_eq!(tx.on_response(t0, 200), ResponseFate::Absorb);
        assert_eq!(tx.next_timeout(), Some(t0 + Duration::from_secs(5)));
        let mut out = Vec::new();
        tx.on_timeout(t0 + Duration::from_secs(5), &mut out);
        assert!(out.is_empty());
        assert!(tx.is_terminated());
    }
}
