//! Server non-INVITE transaction (RFC 3261 §17.2.2): absorbs request retransmissions by replaying
//! the last response, and lingers Timer J (64*T1 on UDP, zero on TCP) after the final one.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::timer::{TimerTable, TxTimer};
use super::{TimerConfig, TxOutput, TxStateError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Trying,
    Proceeding,
    Completed,
    Terminated,
}

/// One server non-INVITE transaction.
#[derive(Debug)]
pub(crate) struct ServerNonInviteTx {
    state: State,
    last_response: Option<Bytes>,
    timers: TimerTable,
    reliable: bool,
    config: TimerConfig,
}

impl ServerNonInviteTx {
    pub(crate) fn new(config: TimerConfig, reliable: bool) -> Self {
        ServerNonInviteTx {
            state: State::Trying,
            last_response: None,
            timers: TimerTable::default(),
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

    pub(crate) fn on_request_retransmission(&self) -> Option<Bytes> {
        self.last_response.clone()
    }

    pub(crate) fn on_response(
        &mut self,
        now: Instant,
        status: u16,
        bytes: Bytes,
        out: &mut Vec<TxOutput>,
    ) -> Result<(), TxStateError> {
        match (self.state, status) {
            (State::Trying | State::Proceeding, 100..=199) => self.state = State::Proceeding,
            (State::Trying | State::Proceeding, 200..=699) => {
                self.state = State::Completed;
                let linger = if self.reliable {
                    Duration::ZERO
                } else {
                    self.config.timeout()
                };
                self.timers.set(TxTimer::J, now + linger);
            }
            (state, status) => {
                return Err(TxStateError {
                    status,
                    state: match state {
                        State::Completed => "Completed",
                        _ => "Terminated",
                    },
                });
            }
        }
        self.last_response = Some(bytes.clone());
        out.push(TxOutput::Send(bytes));
        Ok(())
    }

    pub(crate) fn on_timeout(&mut self, now: Instant) {
        if self.timers.take_expired(now) == Some(TxTimer::J) {
            self.state = State::Terminated;
            self.timers.stop_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_response_is_replayed_then_forgotten_after_timer_j() {
        let t0 = Instant::now();
        let mut tx = ServerNonInviteTx::new(TimerConfig::default(), false);
        assert!(tx.on_request_retransmission().is_none());
        let mut out = Vec::new();
        tx.on_response(t0, 200, Bytes::from_static(b"200"), &mut out)
            .unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(tx.on_request_retransmission().as_deref(), Some(&b"200"[..]));
        assert_eq!(tx.next_timeout(), Some(t0 + Duration::from_secs(32)));
        tx.on_timeout(t0 + Duration::from_secs(31));
        assert!(!tx.is_terminated(), "an early timeout does nothing");
        tx.on_timeout(t0 + Duration::from_secs(32));
        assert!(tx.is_terminated());
        assert!(tx.on_response(t0, 200, Bytes::new(), &mut out).is_err());
    }

    #[test]
    fn tcp_ends_at_once() {
        let t0 = Instant::now();
        let mut tx = ServerNonInviteTx::new(TimerConfig::default(), true);
        let mut out = Vec::new();
        tx.on_response(t0, 200, Bytes::from_static(b"200"), &mut out)
            .unwrap();
        assert_eq!(tx.next_timeout(), Some(t0));
    }
}
