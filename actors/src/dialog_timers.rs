//! The timers of one dialog beside its transactions: the session timer (RFC 4028: refresh when
//! we are the refresher, end the call when the refresh never comes) and the retransmission of a
//! reliable provisional response until its PRACK (RFC 3262). Both are sans-IO cores of the
//! `sip` crate; this merges their deadlines into the one wake-up the dialog actor schedules.

use std::time::Instant;

use sip::dialog::{
    PrackEvent, ReliableProvisionals, SessionTimer, SessionTimerConfig, SessionTimerEvent,
};
use sip::transaction::TimerConfig;

/// Something a dialog timer asks the dialog actor to do.
#[derive(Debug)]
pub enum DialogTimerEvent {
    /// From the session timer.
    Session(SessionTimerEvent),
    /// From the reliable provisionals.
    Prack(PrackEvent),
}

/// The session timer and the reliable provisionals of one dialog.
#[derive(Debug)]
pub struct DialogTimers {
    /// RFC 4028.
    pub session: SessionTimer,
    /// RFC 3262.
    pub reliable: ReliableProvisionals,
}

impl Default for DialogTimers {
    fn default() -> Self {
        DialogTimers {
            session: SessionTimer::new(SessionTimerConfig::default()),
            reliable: ReliableProvisionals::new(TimerConfig::default()),
        }
    }
}

impl DialogTimers {
    /// The earliest deadline of either.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.session.poll_timeout(), self.reliable.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Runs both at `now` (early calls do nothing).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.session.handle_timeout(now);
        self.reliable.handle_timeout(now);
    }

    /// The next thing to do.
    pub fn poll_event(&mut self) -> Option<DialogTimerEvent> {
        self.session
            .poll_event()
            .map(DialogTimerEvent::Session)
            .or_else(|| self.reliable.poll_event().map(DialogTimerEvent::Prack))
    }
}
