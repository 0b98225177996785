//! Server INVITE transaction (RFC 3261 §17.2.1, amended by RFC 6026 §7.1 and §8).

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::timer::{TimerTable, TxTimer};
use super::{TimeoutReason, TimerConfig, TxOutput, TxStateError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Proceeding,
    Accepted,
    Completed,
    Confirmed,
    Terminated,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::Proceeding => "Proceeding",
            State::Accepted => "Accepted",
            State::Completed => "Completed",
            State::Confirmed => "Confirmed",
            State::Terminated => "Terminated",
        }
    }
}

/// One server INVITE transaction.
#[derive(Debug)]
pub(crate) struct ServerInviteTx {
    state: State,
    last_response: Option<Bytes>,
    timers: TimerTable,
    retransmit_interval: Duration,
    reliable: bool,
    acked: bool,
    config: TimerConfig,
}

impl ServerInviteTx {
    pub(crate) fn new(config: TimerConfig, reliable: bool) -> Self {
        ServerInviteTx {
            state: State::Proceeding,
            last_response: None,
            timers: TimerTable::default(),
            retransmit_interval: config.t1,
            reliable,
            acked: false,
            config,
        }
    }

    pub(crate) fn is_terminated(&self) -> bool {
        self.state == State::Terminated
    }

    /// Whether a CANCEL can still take effect (no final response sent yet).
    pub(crate) fn is_proceeding(&self) -> bool {
        self.state == State::Proceeding
    }

    pub(crate) fn next_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// A retransmitted INVITE: answer with the last provisional or non-2xx final; absorb otherwise.
    pub(crate) fn on_request_retransmission(&self) -> Option<Bytes> {
        match self.state {
            State::Proceeding | State::Completed => self.last_response.clone(),
            _ => None,
        }
    }

    /// The application sends a response.
    pub(crate) fn on_response(
        &mut self,
        now: Instant,
        status: u16,
        bytes: Bytes,
        out: &mut Vec<TxOutput>,
    ) -> Result<(), TxStateError> {
        match (self.state, status) {
            (State::Proceeding, 100..=199) => {
                self.last_response = Some(bytes.clone());
            }
            (State::Proceeding, 200..=299) => {
                self.state = State::Accepted;
                self.last_response = Some(bytes.clone());
                self.timers.set(TxTimer::L, now + self.config.timeout());
                if !self.reliable {
                    self.retransmit_interval = self.config.t1;
                    self.timers.set(TxTimer::G, now + self.config.t1);
                }
            }
            (State::Proceeding, 300..=699) => {
                self.state = State::Completed;
                self.last_response = Some(bytes.clone());
                self.timers.set(TxTimer::H, now + self.config.timeout());
                if !self.reliable {
                    self.retransmit_interval = self.config.t1;
                    self.timers.set(TxTimer::G, now + self.config.t1);
                }
            }
            // RFC 6026 §8.5: 2xx retransmissions from the TU pass through in Accepted.
            (State::Accepted, 200..=299) => {}
            (state, status) => {
                return Err(TxStateError {
                    status,
                    state: state.name(),
                });
            }
        }
        out.push(TxOutput::Send(bytes));
        Ok(())
    }

    /// The ACK of a non-2xx final response (same branch as the INVITE).
    pub(crate) fn on_ack(&mut self, now: Instant) {
        if self.state == State::Completed {
            self.state = State::Confirmed;
            self.timers.stop(TxTimer::G);
            self.timers.stop(TxTimer::H);
            let linger = if self.reliable {
                Duration::ZERO
            } else {
                self.config.t4
            };
            self.timers.set(TxTimer::I, now + linger);
        }
    }

    /// The dialog saw the ACK of our 2xx: stop retransmitting it.
    pub(crate) fn on_2xx_acked(&mut self) {
        if self.state == State::Accepted {
            self.acked = true;
            self.timers.stop(TxTimer::G);
        }
    }

    pub(crate) fn on_timeout(&mut self, now: Instant, out: &mut Vec<TxOutput>) {
        while let Some(timer) = self.timers.take_expired(now) {
            match timer {
                TxTimer::G => {
                    if let Some(bytes) = &self.last_response {
                        out.push(TxOutput::Send(bytes.clone()));
                    }
                    self.retransmit_interval = (self.retransmit_interval * 2).min(self.config.t2);
                    self.timers.set(TxTimer::G, now + self.retransmit_interval);
                }
                TxTimer::H => {
                    out.push(TxOutput::Timeout(TimeoutReason::NoAck));
                    self.terminate();
                }
                TxTimer::L => {
                    if !self.acked {
                        out.push(TxOutput::Timeout(TimeoutReason::NoAck));
                    }
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

    fn sends(out: &[TxOutput]) -> usize {
        out.iter()
            .filter(|o| matches!(o, TxOutput::Send(_)))
            .count()
    }

    /// Drives the transaction to each deadline in turn, recording when it sent.
    fn run(tx: &mut ServerInviteTx, t0: Instant) -> (Vec<Duration>, Vec<TxOutput>) {
        let mut at = Vec::new();
        let mut all = Vec::new();
        while let Some(deadline) = tx.next_timeout() {
            let mut out = Vec::new();
            tx.on_timeout(deadline, &mut out);
            for _ in 0..sends(&out) {
                at.push(deadline - t0);
            }
            all.extend(out);
        }
        (at, all)
    }

    #[test]
    fn unacked_2xx_is_retransmitted_until_timer_l() {
        let t0 = Instant::now();
        let cfg = TimerConfig::default();
        let mut tx = ServerInviteTx::new(cfg, false);
        let mut out = Vec::new();
        tx.on_response(t0, 180, Bytes::from_static(b"180"), &mut out)
            .unwrap();
        tx.on_response(t0, 200, Bytes::from_static(b"200"), &mut out)
            .unwrap();
        assert_eq!(sends(&out), 2);
        let (at, all) = run(&mut tx, t0);
        let ms: Vec<u128> = at.iter().map(Duration::as_millis).collect();
        // 0.5, 1.5, 3.5, 7.5, then every 4 s up to 32 s.
        assert_eq!(
            ms,
            [
                500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500
            ]
        );
        assert_eq!(all.last(), Some(&TxOutput::Timeout(TimeoutReason::NoAck)));
        assert!(tx.is_terminated());
    }

    #[test]
    fn acked_2xx_stops_retransmitting_and_ends_quietly() {
        let t0 = Instant::now();
        let mut tx = ServerInviteTx::new(TimerConfig::default(), false);
        let mut out = Vec::new();
        tx.on_response(t0, 200, Bytes::from_static(b"200"), &mut out)
            .unwrap();
        let mut out = Vec::new();
        tx.on_timeout(t0 + Duration::from_millis(500), &mut out);
        assert_eq!(sends(&out), 1);
        tx.on_2xx_acked();
        assert!(
            tx.on_request_retransmission().is_none(),
            "INVITE absorbed in Accepted"
        );
        let (at, all) = run(&mut tx, t0);
        assert!(at.is_empty());
        assert!(all.is_empty(), "no timeout once acknowledged");
        assert!(tx.is_terminated());
    }

    #[test]
    fn non_2xx_waits_for_ack_then_lingers_t4() {
        let t0 = Instant::now();
        let cfg = TimerConfig::default();
        let mut tx = ServerInviteTx::new(cfg, false);
        let mut out = Vec::new();
        tx.on_response(t0, 486, Bytes::from_static(b"486"), &mut out)
            .unwrap();
        assert_eq!(tx.on_request_retransmission().as_deref(), Some(&b"486"[..]));
        tx.on_ack(t0 + Duration::from_millis(700));
        assert_eq!(
            tx.next_timeout(),
            Some(t0 + Duration::from_millis(700) + cfg.t4)
        );
        let (at, all) = run(&mut tx, t0);
        assert!(at.is_empty() && all.is_empty());
        assert!(tx.is_terminated());
    }

    #[test]
    fn non_2xx_without_ack_times_out_at_64_t1() {
        let t0 = Instant::now();
        let mut tx = ServerInviteTx::new(TimerConfig::default(), false);
        let mut out = Vec::new();
        tx.on_response(t0, 404, Bytes::from_static(b"404"), &mut out)
            .unwrap();
        let mut last = t0;
        while let Some(d) = tx.next_timeout() {
            let mut out = Vec::new();
            tx.on_timeout(d, &mut out);
            if out.contains(&TxOutput::Timeout(TimeoutReason::NoAck)) {
                last = d;
            }
        }
        assert_eq!(last - t0, Duration::from_secs(32));
    }

    #[test]
    fn reliable_transport_never_retransmits() {
        let t0 = Instant::now();
        let mut tx = ServerInviteTx::new(TimerConfig::default(), true);
        let mut out = Vec::new();
        tx.on_response(t0, 200, Bytes::from_static(b"200"), &mut out)
            .unwrap();
        let (at, _) = run(&mut tx, t0);
        assert!(at.is_empty());
    }

    #[test]
    fn responses_out_of_state_are_errors() {
        let t0 = Instant::now();
        let mut tx = ServerInviteTx::new(TimerConfig::default(), false);
        let mut out = Vec::new();
        tx.on_response(t0, 486, Bytes::from_static(b"486"), &mut out)
            .unwrap();
        assert!(
            tx.on_response(t0, 200, Bytes::from_static(b"200"), &mut out)
                .is_err()
        );
    }
}
