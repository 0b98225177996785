//! Session timers (RFC 4028), sans-IO: keep-alive of a dialog by periodic re-INVITE or UPDATE,
//! so a call whose other end vanished is ended instead of billed forever.
//!
//! `refresher=uac|uas` names a side of the *transaction* that negotiated the interval, so the
//! core needs no dialog role: for a request the peer sent (INVITE, re-INVITE, UPDATE) we are the
//! UAS — [`SessionTimer::grant_for`] decides, [`SessionTimer::start`] arms it when our 2xx goes
//! out, [`SessionTimer::handle_refresh`] does both for a refresh; for a request we sent,
//! [`SessionTimer::request_headers`] says what to add and [`SessionTimer::handle_response`]
//! reads the 2xx (or the 422 asking for a longer interval).
//!
//! Deadlines (RFC 4028 §10): when we refresh, [`SessionTimerEvent::Refresh`] at half the
//! interval (the TU sends a re-INVITE or UPDATE carrying [`SessionTimer::request_headers`]);
//! whoever refreshes, [`SessionTimerEvent::Expired`] at `interval - min(32 s, interval / 3)`
//! unless a refresh restarted the timer first (the TU then ends the dialog with BYE).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use rsipstack::sip::{Request, Response};

use crate::message::{ResponseBuilder, has_token, header_param, header_values, new_tag};

/// RFC 4028 §4: no interval may be below 90 s.
pub const ABSOLUTE_MIN_SE: u32 = 90;

/// Which side of the negotiating transaction refreshes (the `refresher` parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresher {
    /// The side that sent the request.
    Uac,
    /// The side that answered it.
    Uas,
}

impl Refresher {
    fn as_str(self) -> &'static str {
        match self {
            Refresher::Uac => "uac",
            Refresher::Uas => "uas",
        }
    }
}

/// Our session-timer policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTimerConfig {
    /// The shortest interval we accept, in seconds (our `Min-SE`; 90 by default, never below
    /// [`ABSOLUTE_MIN_SE`]).
    pub min_se: u32,
    /// The interval we ask for in our requests, and impose on a request that asks for none
    /// when `Some` (`None` by default: such a call runs without session timer).
    pub interval: Option<u32>,
    /// Who refreshes when the peer supports timers and leaves the choice to us (`Uac`, i.e.
    /// the peer, by default: it then sends the refreshes and we only watch for expiry).
    pub preferred_refresher: Refresher,
}

impl Default for SessionTimerConfig {
    fn default() -> Self {
        SessionTimerConfig {
            min_se: ABSOLUTE_MIN_SE,
            interval: None,
            preferred_refresher: Refresher::Uac,
        }
    }
}

impl SessionTimerConfig {
    fn min_se(&self) -> u32 {
        self.min_se.max(ABSOLUTE_MIN_SE)
    }
}

/// What we agree to for a request the peer sent: the headers of our 2xx.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionGrant {
    /// Session interval in seconds.
    pub interval: u32,
    /// Who refreshes (uac: the peer who sent the request; uas: us).
    pub refresher: Refresher,
    /// Whether the 2xx must carry `Require: timer` (the peer supports the extension).
    pub require_timer: bool,
}

impl SessionGrant {
    /// The headers our 2xx carries: `Session-Expires: N;refresher=…` and, when the peer
    /// supports timers, `Require: timer`.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = vec![(
            "Session-Expires",
            format!("{};refresher={}", self.interval, self.refresher.as_str()),
        )];
        if self.require_timer {
            headers.push(("Require", "timer".into()));
        }
        headers
    }
}

/// A request whose interval is below our minimum: answer it with [`SessionTimerError::response`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SessionTimerError {
    /// `Session-Expires` below our `Min-SE` from a peer that supports timers (RFC 4028 §9).
    #[error("session interval too small: our minimum is {min_se} s")]
    TooSmall {
        /// Our minimum, sent back in `Min-SE`.
        min_se: u32,
    },
}

impl SessionTimerError {
    /// The 422 Session Interval Too Small answer to `req`, with our `Min-SE`.
    pub fn response(&self, req: &Request) -> Response {
        let SessionTimerError::TooSmall { min_se } = *self;
        ResponseBuilder::new(req, 422, Some(&new_tag()))
            .header("Min-SE", min_se.to_string())
            .build()
    }
}

/// What the session timer asks of the TU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionTimerEvent {
    /// We are the refresher and half the interval passed: send a re-INVITE or UPDATE with
    /// [`SessionTimer::request_headers`].
    Refresh,
    /// No refresh came in time: end the dialog with BYE.
    Expired,
}

/// What a response to our request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionResponse {
    /// A 2xx with `Session-Expires`: the timer (re)started.
    Started,
    /// A 2xx without it: the session has no timer.
    NoTimer,
    /// 422: the peer needs a longer interval; resend the request with the new
    /// [`SessionTimer::request_headers`].
    Retry,
    /// Anything else: nothing changed.
    Ignored,
}

/// The session timer of one dialog.
#[derive(Debug, Clone)]
pub struct SessionTimer {
    config: SessionTimerConfig,
    requested: u32,
    interval: Option<u32>,
    we_refresh: bool,
    refresh_at: Option<Instant>,
    expires_at: Option<Instant>,
    events: VecDeque<SessionTimerEvent>,
}

impl SessionTimer {
    /// A stopped timer with our policy.
    pub fn new(config: SessionTimerConfig) -> Self {
        SessionTimer {
            config,
            requested: config.interval.unwrap_or(1800).max(config.min_se()),
            interval: None,
            we_refresh: false,
            refresh_at: None,
            expires_at: None,
            events: VecDeque::new(),
        }
    }

    /// Decides on a request the peer sent (INVITE, re-INVITE, UPDATE) without changing
    /// anything: `Ok(None)` when the session runs without timer, `Err` when it must be
    /// refused 422.
    pub fn grant_for(&self, req: &Request) -> Result<Option<SessionGrant>, SessionTimerError> {
        let supports = has_token(&req.headers, "Supported", "timer")
            || has_token(&req.headers, "Require", "timer");
        let min_se = self.config.min_se();
        let peer_min = header_values(&req.headers, "Min-SE")
            .first()
            .and_then(|v| delta_seconds(v))
            .unwrap_or(0);
        let (asked, refresher) = match header_values(&req.headers, "Session-Expires")
            .first()
            .and_then(|v| session_expires(v))
        {
            Some((n, _)) if n < min_se && supports => {
                return Err(SessionTimerError::TooSmall { min_se });
            }
            Some((n, refresher)) => (n, refresher),
            None => match self.config.interval {
                Some(n) => (n, None),
                None => return Ok(None),
            },
        };
        let refresher = if supports {
            refresher.unwrap_or(self.config.preferred_refresher)
        } else {
            Refresher::Uas
        };
        Ok(Some(SessionGrant {
            interval: asked.max(min_se).max(peer_min),
            refresher,
            require_timer: supports,
        }))
    }

    /// Our 2xx carrying `grant` (from [`SessionTimer::grant_for`]) went out: (re)start the
    /// timer, or stop it for `None`.
    pub fn start(&mut self, now: Instant, grant: Option<&SessionGrant>) {
        match grant {
            Some(g) => self.arm(now, g.interval, g.refresher == Refresher::Uas),
            None => self.stop(),
        }
    }

    /// A refresh from the peer (re-INVITE or UPDATE) that we answer 2xx now: decides and
    /// restarts in one step. On `Err` nothing changes (answer 422 and the old timer runs on).
    pub fn handle_refresh(
        &mut self,
        now: Instant,
        request: &Request,
    ) -> Result<Option<SessionGrant>, SessionTimerError> {
        let grant = self.grant_for(request)?;
        self.start(now, grant.as_ref());
        Ok(grant)
    }

    /// The headers of a request we send (initial INVITE, or a refresh): `Supported: timer`,
    /// `Session-Expires` (with `refresher=uac` once we are the refresher) and `Min-SE`.
    pub fn request_headers(&self) -> Vec<(&'static str, String)> {
        let interval = self.interval.unwrap_or(self.requested);
        let se = if self.interval.is_some() && self.we_refresh {
            format!("{interval};refresher=uac")
        } else {
            interval.to_string()
        };
        vec![
            ("Supported", "timer".into()),
            ("Session-Expires", se),
            ("Min-SE", self.config.min_se().to_string()),
        ]
    }

    /// A response to a request we sent with [`SessionTimer::request_headers`].
    pub fn handle_response(&mut self, now: Instant, response: &Response) -> SessionResponse {
        match response.status_code.code() {
            422 => {
                let min = header_values(&response.headers, "Min-SE")
                    .first()
                    .and_then(|v| delta_seconds(v));
                match min {
                    Some(min) if min > self.requested => {
                        self.requested = min;
                        SessionResponse::Retry
                    }
                    _ => SessionResponse::Ignored,
                }
            }
            200..=299 => {
                match header_values(&response.headers, "Session-Expires")
                    .first()
                    .and_then(|v| session_expires(v))
                {
                    Some((n, refresher)) => {
                        // §7.2: without a refresher parameter the UAC (we) refreshes.
                        let ours = refresher.unwrap_or(Refresher::Uac) == Refresher::Uac;
                        self.arm(now, n.max(ABSOLUTE_MIN_SE), ours);
                        SessionResponse::Started
                    }
                    None => {
                        self.stop();
                        SessionResponse::NoTimer
                    }
                }
            }
            _ => SessionResponse::Ignored,
        }
    }

    fn arm(&mut self, now: Instant, interval: u32, we_refresh: bool) {
        let full = Duration::from_secs(u64::from(interval));
        self.interval = Some(interval);
        self.we_refresh = we_refresh;
        self.refresh_at = we_refresh.then(|| now + full / 2);
        self.expires_at = Some(now + full - (full / 3).min(Duration::from_secs(32)));
    }

    /// Stops the timer (dialog ended, or the session runs without one).
    pub fn stop(&mut self) {
        self.interval = None;
        self.refresh_at = None;
        self.expires_at = None;
    }

    /// The negotiated interval in seconds, while running.
    pub fn interval(&self) -> Option<u32> {
        self.interval
    }

    /// Whether we send the refreshes.
    pub fn we_refresh(&self) -> bool {
        self.interval.is_some() && self.we_refresh
    }

    /// The next deadline and what it will raise.
    pub fn next_deadline(&self) -> Option<(Instant, SessionTimerEvent)> {
        match (self.refresh_at, self.expires_at) {
            (Some(r), _) => Some((r, SessionTimerEvent::Refresh)),
            (None, Some(e)) => Some((e, SessionTimerEvent::Expired)),
            (None, None) => None,
        }
    }

    /// When [`SessionTimer::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_deadline().map(|(at, _)| at)
    }

    /// Runs the deadlines due at `now` (an early call does nothing).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.refresh_at.is_some_and(|at| at <= now) {
            self.refresh_at = None;
            self.events.push_back(SessionTimerEvent::Refresh);
        }
        if self.expires_at.is_some_and(|at| at <= now) {
            self.stop();
            self.events.push_back(SessionTimerEvent::Expired);
        }
    }

    /// The next thing the TU must do.
    pub fn poll_event(&mut self) -> Option<SessionTimerEvent> {
        self.events.pop_front()
    }
}

/// `1800;refresher=uac` → (1800, Some(Uac)).
fn session_expires(value: &str) -> Option<(u32, Option<Refresher>)> {
    let n = delta_seconds(value)?;
    let refresher = match header_param(value, "refresher") {
        Some(r) if r.eq_ignore_ascii_case("uac") => Some(Refresher::Uac),
        Some(r) if r.eq_ignore_ascii_case("uas") => Some(Refresher::Uas),
        _ => None,
    };
    Some((n, refresher))
}

/// The leading delta-seconds of a header value (`90`, `1800;x=y`), capped to what fits.
fn delta_seconds(value: &str) -> Option<u32> {
    let digits = value.split(';').next()?.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(
        digits
            .parse::<u64>()
            .map_or(u32::MAX, |n| n.min(u64::from(u32::MAX)) as u32),
    )
}

#[cfg(test)]
#[path = "session_timer_tests.rs"]
mod tests;
