//! The registration state machine of one trunk: what to send, when, and what the answers mean.

use std::time::{Duration, Instant};

use rsipstack::sip::headers::make_header;
use rsipstack::sip::{Headers, Method, Request, Response, Uri, Version};

use super::timing::{backoff, granted_expiry, refresh_after, seconds_header};
use crate::auth::{Credentials, DigestParams, authorize};
use crate::endpoint::Transport;
use crate::message::{MessageKeys, header_values, new_branch, new_tag};

/// Challenges answered within one attempt before giving up (each must carry a new nonce).
const MAX_ANSWERS_PER_ATTEMPT: u8 = 3;

/// What a registration is for and how it names us.
#[derive(Debug, Clone)]
pub struct RegistrationConfig {
    /// Request-URI: the registrar's domain, e.g. `sip:carrier.example:5060` (§10.2: no user part).
    pub registrar: String,
    /// Address of record, in To and From: `sip:user@carrier.example`.
    pub aor: String,
    /// Our Contact URI (without angle brackets): where the carrier sends calls.
    pub contact: String,
    /// Our `host:port` for the Via.
    pub via_sent_by: String,
    /// Transport of the Via.
    pub transport: Transport,
    /// User-Agent header.
    pub user_agent: String,
    /// Expiry asked for, seconds.
    pub expires: u32,
    /// Digest credentials; without them a challenge is a failure.
    pub credentials: Option<Credentials>,
    /// How long to wait for a final response before counting the attempt failed (the driver also
    /// reports transaction timeouts; this bounds the wait when that report is lost).
    pub response_timeout: Duration,
}

/// Where a registration stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationState {
    /// No binding yet: the first attempt is in flight or scheduled.
    Registering,
    /// The registrar holds our binding until `expires_at` (a refresh may be failing meanwhile).
    Registered {
        /// When the binding lapses unless refreshed.
        expires_at: Instant,
    },
    /// No binding: the last attempt failed (`status` of the final response, `None` when there was
    /// none); a retry is scheduled.
    Failed {
        /// Final status of the failed attempt.
        status: Option<u16>,
    },
    /// [`Registration::unregister`] was called: the REGISTER with `Expires: 0` is in flight.
    Unregistering,
    /// Finished: the binding was removed (or removing it failed); nothing more is sent.
    Unregistered,
}

impl RegistrationState {
    /// A short label for metrics and logs: `registering`, `registered` or `failed`.
    pub fn label(&self) -> &'static str {
        match self {
            RegistrationState::Registering => "registering",
            RegistrationState::Registered { .. } => "registered",
            RegistrationState::Failed { .. } => "failed",
            RegistrationState::Unregistering => "unregistering",
            RegistrationState::Unregistered => "unregistered",
        }
    }
}

/// A REGISTER awaiting its final response.
#[derive(Debug, Clone)]
struct InFlight {
    cseq: u32,
    deadline: Instant,
}

/// One binding kept alive at one registrar. Calling protocol: after [`Registration::new`] and
/// after every `handle_*`, drain [`Registration::poll_request`] and re-arm the timer from
/// [`Registration::poll_timeout`]. Time never goes backwards (earlier `now`s are clamped) and an
/// early timeout does nothing.
#[derive(Debug)]
pub struct Registration {
    config: RegistrationConfig,
    call_id: String,
    from_tag: String,
    cseq: u32,
    /// The expiry asked for; raised by a 423's Min-Expires.
    expires: u32,
    state: RegistrationState,
    /// When the next REGISTER is due (first attempt, refresh or retry).
    next_send: Option<Instant>,
    in_flight: Option<InFlight>,
    /// Nonces answered in the current attempt: a challenge repeating one means the credentials
    /// were refused.
    answered_nonces: Vec<String>,
    /// Consecutive failed attempts.
    failures: u32,
    outbox: Option<Request>,
    last_now: Instant,
}

/// A configuration the core cannot work with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistrationError {
    /// The registrar is not a SIP URI.
    #[error("registrar {0:?} is not a SIP URI")]
    BadRegistrar(String),
}

impl Registration {
    /// A registration whose first REGISTER is due at `now`; the Call-ID and From tag stay the same
    /// for its whole life (§10.2.4).
    pub fn new(
        now: Instant,
        config: RegistrationConfig,
        call_id: String,
    ) -> Result<Self, RegistrationError> {
        let scheme_ok = ["sip:", "sips:"].iter().any(|s| {
            config
                .registrar
                .get(..s.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(s))
        });
        if !scheme_ok
            || config.registrar.contains(char::is_whitespace)
            || Uri::try_from(config.registrar.as_str()).is_err()
        {
            return Err(RegistrationError::BadRegistrar(config.registrar));
        }
        Ok(Registration {
            expires: config.expires,
            config,
            call_id,
            from_tag: new_tag(),
            cseq: 0,
            state: RegistrationState::Registering,
            next_send: Some(now),
            in_flight: None,
            answered_nonces: Vec::new(),
            failures: 0,
            outbox: None,
            last_now: now,
        })
    }

    /// The Call-ID of every REGISTER of this registration (the driver routes responses by it).
    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    /// Where the registration stands.
    pub fn state(&self) -> &RegistrationState {
        &self.state
    }

    /// Consecutive failed attempts (0 after a success).
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The next deadline: a REGISTER due, a response overdue, or the binding lapsing. Changed by
    /// every `handle_*`.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let lapse = match self.state {
            RegistrationState::Registered { expires_at } => Some(expires_at),
            _ => None,
        };
        [
            self.next_send,
            self.in_flight.as_ref().map(|f| f.deadline),
            lapse,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The next REGISTER to send, if one is due. Filled by `new`'s deadline passing
    /// ([`Registration::handle_timeout`]) and by challenges ([`Registration::handle_response`]).
    pub fn poll_request(&mut self) -> Option<Request> {
        self.outbox.take()
    }

    /// Time passes: sends the due REGISTER, gives up on an overdue response, notes a lapsed binding.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.clamp(now);
        if self.in_flight.as_ref().is_some_and(|f| now >= f.deadline) {
            self.fail(now, None, None);
        }
        if let RegistrationState::Registered { expires_at } = self.state
            && now >= expires_at
        {
            self.state = RegistrationState::Failed { status: None };
        }
        if self.in_flight.is_none() && self.next_send.is_some_and(|t| now >= t) {
            self.answered_nonces.clear();
            self.send(now, None);
        }
    }

    /// Removes the binding (RFC 3261 §10.2.2): a REGISTER with `Expires: 0` now (answering a
    /// challenge as usual), then [`RegistrationState::Unregistered`] on any final outcome, with no
    /// retries. When no binding was ever obtained, it finishes at once without sending.
    pub fn unregister(&mut self, now: Instant) {
        let now = self.clamp(now);
        let had_binding = matches!(self.state, RegistrationState::Registered { .. })
            || (self.in_flight.is_some() && self.expires > 0);
        self.in_flight = None;
        self.next_send = None;
        if !had_binding || self.expires == 0 {
            self.state = RegistrationState::Unregistered;
            return;
        }
        self.expires = 0;
        self.state = RegistrationState::Unregistering;
        self.answered_nonces.clear();
        self.send(now, None);
    }

    /// The transaction carrying our REGISTER gave up without a final response (Timer F).
    pub fn handle_transaction_timeout(&mut self, now: Instant) {
        let now = self.clamp(now);
        if self.in_flight.is_some() {
            self.fail(now, None, None);
        }
    }

    /// A response to one of our REGISTERs. Responses to older requests, and provisionals, are
    /// ignored.
    pub fn handle_response(&mut self, now: Instant, response: &Response) {
        let now = self.clamp(now);
        let Ok(keys) = MessageKeys::of_response(response) else {
            return;
        };
        let ours = keys.call_id == self.call_id
            && keys.cseq.method == Method::Register
            && self
                .in_flight
                .as_ref()
                .is_some_and(|f| f.cseq == keys.cseq.number);
        let status = response.status_code.code();
        if !ours || status < 200 {
            return;
        }
        match status {
            200..=299 => self.registered(now, response),
            401 | 407 => self.answer_challenge(now, response),
            423 => {
                let min = seconds_header(&response.headers, "Min-Expires").unwrap_or(0);
                if self.expires > 0 && min > self.expires {
                    self.expires = min;
                    self.send(now, None);
                } else {
                    self.fail(now, Some(status), None);
                }
            }
            _ => {
                let retry_after = seconds_header(&response.headers, "Retry-After")
                    .map(|s| Duration::from_secs(s.into()));
                self.fail(now, Some(status), retry_after);
            }
        }
    }

    fn registered(&mut self, now: Instant, response: &Response) {
        if self.expires == 0 {
            self.finish();
            return;
        }
        let granted = granted_expiry(&response.headers, &self.config.contact, self.expires);
        if granted == 0 {
            // The registrar kept no binding although we asked for one.
            self.fail(now, Some(response.status_code.code()), None);
            return;
        }
        let granted = Duration::from_secs(granted.into());
        self.in_flight = None;
        self.failures = 0;
        self.state = RegistrationState::Registered {
            expires_at: now + granted,
        };
        self.next_send = Some(now + refresh_after(granted));
    }

    fn answer_challenge(&mut self, now: Instant, response: &Response) {
        let status = response.status_code.code();
        let Some(creds) = self.config.credentials.clone() else {
            self.fail(now, Some(status), None);
            return;
        };
        let name = if status == 401 {
            "WWW-Authenticate"
        } else {
            "Proxy-Authenticate"
        };
        let nonces: Vec<String> = header_values(&response.headers, name)
            .into_iter()
            .filter_map(DigestParams::parse)
            .filter_map(|p| p.get("nonce").map(str::to_string))
            .collect();
        let repeated = nonces.iter().any(|n| self.answered_nonces.contains(n));
        if repeated || self.answered_nonces.len() >= usize::from(MAX_ANSWERS_PER_ATTEMPT) {
            self.fail(now, Some(status), None);
            return;
        }
        let cnonce = new_tag();
        match authorize(
            response,
            &Method::Register,
            &self.config.registrar,
            &creds,
            &cnonce,
            1,
        ) {
            Ok(header) => {
                self.answered_nonces.extend(nonces);
                self.send(now, Some(header));
            }
            Err(_) => self.fail(now, Some(status), None),
        }
    }

    /// Counts a failed attempt and schedules the retry. The state turns `Failed` unless a binding
    /// from an earlier success is still valid.
    fn fail(&mut self, now: Instant, status: Option<u16>, retry_after: Option<Duration>) {
        if self.expires == 0 {
            // Removing the binding is tried once: it lapses by itself anyway.
            self.finish();
            return;
        }
        self.in_flight = None;
        self.failures = self.failures.saturating_add(1);
        self.next_send = Some(now + backoff(self.failures, retry_after));
        let binding_valid =
            matches!(self.state, RegistrationState::Registered { expires_at } if expires_at > now);
        if !binding_valid {
            self.state = RegistrationState::Failed { status };
        }
    }

    fn finish(&mut self) {
        self.in_flight = None;
        self.next_send = None;
        self.state = RegistrationState::Unregistered;
    }

    fn send(&mut self, now: Instant, authorization: Option<(&'static str, String)>) {
        self.cseq += 1;
        self.in_flight = Some(InFlight {
            cseq: self.cseq,
            deadline: now + self.config.response_timeout,
        });
        self.next_send = None;
        self.outbox = Some(self.build(authorization));
    }

    fn build(&self, authorization: Option<(&'static str, String)>) -> Request {
        let c = &self.config;
        let mut headers = Headers::default();
        let via = format!(
            "SIP/2.0/{} {};branch={};rport",
            c.transport.via_token(),
            c.via_sent_by,
            new_branch()
        );
        headers.push(make_header("Via", via));
        headers.push(make_header("Max-Forwards", "70".into()));
        headers.push(make_header(
            "From",
            format!("<{}>;tag={}", c.aor, self.from_tag),
        ));
        headers.push(make_header("To", format!("<{}>", c.aor)));
        headers.push(make_header("Call-ID", self.call_id.clone()));
        headers.push(make_header("CSeq", format!("{} REGISTER", self.cseq)));
        headers.push(make_header("Contact", format!("<{}>", c.contact)));
        headers.push(make_header("Expires", self.expires.to_string()));
        if let Some((name, value)) = authorization {
            headers.push(make_header(name, value));
        }
        headers.push(make_header("User-Agent", c.user_agent.clone()));
        headers.push(make_header("Content-Length", "0".into()));
        Request {
            method: Method::Register,
            // Checked in `new`.
            uri: Uri::try_from(c.registrar.as_str())
                .expect("registrar checked in Registration::new"),
            version: Version::V2,
            headers,
            body: Vec::new(),
        }
    }

    fn clamp(&mut self, now: Instant) -> Instant {
        self.last_now = self.last_now.max(now);
        self.last_now
    }
}
