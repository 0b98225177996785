//! Transaction timers as data (after quinn-proto's `TimerTable`): one optional deadline per RFC 3261
//! timer kind, the earliest of which is the transaction's next wake-up.

use std::time::{Duration, Instant};

/// RFC 3261 §17 timer kinds (and L, M from RFC 6026 §8.4 and §8.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TxTimer {
    /// Client INVITE: retransmit the INVITE (T1 doubling, UDP only).
    A,
    /// Client INVITE: give up waiting for any response (64*T1).
    B,
    /// Client INVITE: linger in Completed to re-ACK retransmitted non-2xx finals.
    D,
    /// Client INVITE (RFC 6026 Accepted): linger, passing 2xx retransmissions to the TU.
    M,
    /// Server INVITE: retransmit the final response (non-2xx, and 2xx per RFC 6026).
    G,
    /// Server INVITE: give up waiting for the ACK of a non-2xx.
    H,
    /// Server INVITE: linger in Confirmed to absorb ACK retransmissions.
    I,
    /// Server non-INVITE: linger in Completed to absorb request retransmissions.
    J,
    /// Client non-INVITE: retransmit the request.
    E,
    /// Client non-INVITE: give up waiting for a final response.
    F,
    /// Client non-INVITE: linger in Completed to absorb response retransmissions.
    K,
    /// Server INVITE (RFC 6026 Accepted): linger, absorbing retransmitted INVITEs.
    L,
}

const KINDS: [TxTimer; 12] = [
    TxTimer::A,
    TxTimer::B,
    TxTimer::D,
    TxTimer::M,
    TxTimer::G,
    TxTimer::H,
    TxTimer::I,
    TxTimer::J,
    TxTimer::E,
    TxTimer::F,
    TxTimer::K,
    TxTimer::L,
];

impl TxTimer {
    fn index(self) -> usize {
        self as usize
    }
}

/// One deadline slot per timer kind.
#[derive(Debug, Default, Clone)]
pub(crate) struct TimerTable {
    slots: [Option<Instant>; 12],
}

impl TimerTable {
    pub(crate) fn set(&mut self, timer: TxTimer, at: Instant) {
        self.slots[timer.index()] = Some(at);
    }

    pub(crate) fn stop(&mut self, timer: TxTimer) {
        self.slots[timer.index()] = None;
    }

    pub(crate) fn stop_all(&mut self) {
        self.slots = [None; 12];
    }

    /// The earliest armed deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.slots.iter().flatten().min().copied()
    }

    /// Takes the first timer (in a fixed order) that has expired at `now`.
    pub(crate) fn take_expired(&mut self, now: Instant) -> Option<TxTimer> {
        KINDS.into_iter().find(|k| {
            let slot = &mut self.slots[k.index()];
            if slot.is_some_and(|at| at <= now) {
                *slot = None;
                true
            } else {
                false
            }
        })
    }
}

/// The RFC 3261 base intervals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    /// RTT estimate, 500 ms by default.
    pub t1: Duration,
    /// Maximum retransmit interval for non-INVITE requests and INVITE responses, 4 s by default.
    pub t2: Duration,
    /// Maximum time a message remains in the network, 5 s by default.
    pub t4: Duration,
}

impl Default for TimerConfig {
    fn default() -> Self {
        TimerConfig {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

impl TimerConfig {
    /// 64*T1: Timers B, F, H, J, L and M.
    pub fn timeout(&self) -> Duration {
        self.t1 * 64
    }

    /// Timer D (RFC 3261 §17.1.1.2): at least 32 s over an unreliable transport, zero over a
    /// reliable one.
    pub fn timer_d(&self, reliable: bool) -> Duration {
        if reliable {
            Duration::ZERO
        } else {
            Duration::from_secs(32).max(self.timeout())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_and_expiry_order() {
        let t0 = Instant::now();
        let mut table = TimerTable::default();
        assert_eq!(table.next(), None);
        table.set(TxTimer::H, t0 + Duration::from_secs(32));
        table.set(TxTimer::G, t0 + Duration::from_millis(500));
        assert_eq!(table.next(), Some(t0 + Duration::from_millis(500)));
        assert_eq!(table.take_expired(t0), None);
        assert_eq!(
            table.take_expired(t0 + Duration::from_secs(40)),
            Some(TxTimer::G)
        );
        assert_eq!(
            table.take_expired(t0 + Duration::from_secs(40)),
            Some(TxTimer::H)
        );
        assert_eq!(table.take_expired(t0 + Duration::from_secs(40)), None);
    }
}
