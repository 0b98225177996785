//! Virtual-time tests of the registration core against a registrar built from the real
//! [`crate::auth::DigestVerifier`].

use std::time::{Duration, Instant};

use super::*;
use crate::auth::{Credentials, DigestVerifier};
use crate::endpoint::Transport;
use crate::message::{MessageKeys, Request, Response, ResponseBuilder, header_values};

const UNIX_EPOCH_OFFSET: u64 = 1_800_000_000;
const CONTACT: &str = "sip:trunk@10.0.0.1:5060";

fn config(credentials: bool) -> RegistrationConfig {
    RegistrationConfig {
        registrar: "sip:carrier.example".into(),
        aor: "sip:alice@carrier.example".into(),
        contact: CONTACT.into(),
        via_sent_by: "10.0.0.1:5060".into(),
        transport: Transport::Udp,
        user_agent: "switch".into(),
        expires: 600,
        credentials: credentials.then(|| Credentials {
            username: "alice".into(),
            password: "pw".into(),
        }),
        response_timeout: Duration::from_secs(40),
    }
}

/// A registrar that challenges with `verifier` and grants `grant` seconds.
struct Registrar {
    verifier: DigestVerifier,
    t0: Instant,
    grant: u32,
}

impl Registrar {
    fn new(t0: Instant) -> Self {
        Registrar {
            verifier: DigestVerifier::new("carrier.example", b"k".to_vec(), 300),
            t0,
            grant: 600,
        }
    }

    fn unix(&self, now: Instant) -> u64 {
        UNIX_EPOCH_OFFSET + (now - self.t0).as_secs()
    }

    fn answer(&self, now: Instant, req: &Request) -> Response {
        let users = |u: &str| (u == "alice").then(|| "pw".to_string());
        match self.verifier.verify(req, users, self.unix(now)) {
            Ok(_) => ResponseBuilder::new(req, 200, Some("r"))
                .header("Contact", format!("<{CONTACT}>;expires={}", self.grant))
                .build(),
            // Missing, stale or wrong: challenge (again).
            Err(_) => self.challenge(now, req),
        }
    }

    fn challenge(&self, now: Instant, req: &Request) -> Response {
        let mut b = ResponseBuilder::new(req, 401, Some("r"));
        for c in self.verifier.challenge(self.unix(now), false) {
            b = b.header("WWW-Authenticate", c);
        }
        b.build()
    }
}

fn status(req: &Request, code: u16, extra: &[(&str, &str)]) -> Response {
    extra
        .iter()
        .fold(ResponseBuilder::new(req, code, Some("r")), |b, (n, v)| {
            b.header(n, *v)
        })
        .build()
}

fn cseq(req: &Request) -> u32 {
    MessageKeys::of_request(req).unwrap().cseq.number
}

/// Advances to the next deadline and returns the request sent then, if any.
fn step(reg: &mut Registration) -> (Instant, Option<Request>) {
    let at = reg
        .poll_timeout()
        .expect("a registration always has a deadline");
    reg.handle_timeout(at);
    (at, reg.poll_request())
}

#[test]
fn first_register_is_due_at_once_and_carries_the_binding() {
    let t0 = Instant::now();
    let mut reg = Registration::new(t0, config(false), "cid-1".into()).unwrap();
    assert_eq!(reg.poll_timeout(), Some(t0));
    assert!(
        reg.poll_request().is_none(),
        "nothing before the timer fires"
    );
    let (at, req) = step(&mut reg);
    let req = req.unwrap();
    assert_eq!(at, t0);
    assert_eq!(req.uri.to_string(), "sip:carrier.example");
    let h = &req.headers;
    assert_eq!(header_values(h, "To"), ["<sip:alice@carrier.example>"]);
    assert!(header_values(h, "From")[0].starts_with("<sip:alice@carrier.example>;tag="));
    assert_eq!(header_values(h, "Contact"), [format!("<{CONTACT}>")]);
    assert_eq!(header_values(h, "Expires"), ["600"]);
    assert_eq!(header_values(h, "Call-ID"), ["cid-1"]);
    assert_eq!(cseq(&req), 1);
    assert_eq!(reg.state(), &RegistrationState::Registering);
}

#[test]
fn challenge_is_answered_then_refreshed_before_expiry_with_the_same_call_id() {
    let t0 = Instant::now();
    let registrar = Registrar::new(t0);
    let mut reg = Registration::new(t0, config(true), "cid".into()).unwrap();
    let (_, first) = step(&mut reg);
    let first = first.unwrap();
    let from = header_values(&first.headers, "From")[0].to_string();
    reg.handle_response(t0, &registrar.answer(t0, &first));
    let second = reg
        .poll_request()
        .expect("the challenge is answered at once");
    assert_eq!(cseq(&second), 2);
    assert_eq!(header_values(&second.headers, "From"), [from.as_str()]);
    assert!(header_values(&second.headers, "Authorization")[0].contains("algorithm=SHA-256"));
    let ok = registrar.answer(t0, &second);
    assert_eq!(
        ok.status_code.code(),
        200,
        "the real verifier accepts the answer"
    );
    reg.handle_response(t0, &ok);
    let expires_at = t0 + Duration::from_secs(600);
    assert_eq!(reg.state(), &RegistrationState::Registered { expires_at });
    // 600 s granted: refresh at max(300, 480) = 480 s.
    assert_eq!(reg.poll_timeout(), Some(t0 + Duration::from_secs(480)));
    let (at, refresh) = step(&mut reg);
    let refresh = refresh.unwrap();
    assert_eq!(at, t0 + Duration::from_secs(480));
    assert_eq!(cseq(&refresh), 3);
    assert_eq!(header_values(&refresh.headers, "Call-ID"), ["cid"]);
    assert!(header_values(&refresh.headers, "Authorization").is_empty());
    // The registrar's nonce from 480 s ago has expired; it challenges again and the new nonce
    // is answered.
    reg.handle_response(at, &registrar.answer(at, &refresh));
    let answered = reg.poll_request().unwrap();
    reg.handle_response(at, &registrar.answer(at, &answered));
    assert_eq!(
        reg.state(),
        &RegistrationState::Registered {
            expires_at: at + Duration::from_secs(600)
        }
    );
}

#[test]
fn a_rechallenge_with_the_answered_nonce_is_a_failure_then_backoff_doubles() {
    let t0 = Instant::now();
    let registrar = Registrar::new(t0);
    let mut cfg = config(true);
    cfg.credentials.as_mut().unwrap().password = "wrong".into();
    let mut reg = Registration::new(t0, cfg, "cid".into()).unwrap();
    let mut retries = Vec::new();
    let mut at = t0;
    for _ in 0..4 {
        let (sent_at, req) = step(&mut reg);
        retries.push(sent_at - t0);
        at = sent_at;
        reg.handle_response(at, &registrar.answer(at, &req.unwrap()));
        let answered = reg
            .poll_request()
            .expect("first challenge of the attempt is answered");
        // Same nonce (same second) again: the password was refused.
        reg.handle_response(at, &registrar.answer(at, &answered));
        assert!(reg.poll_request().is_none(), "a nonce is answered once");
        assert_eq!(
            reg.state(),
            &RegistrationState::Failed { status: Some(401) }
        );
    }
    let s = Duration::from_secs;
    assert_eq!(retries, [s(0), s(5), s(15), s(35)]);
    assert_eq!(reg.failures(), 4);
    assert_eq!(reg.poll_timeout(), Some(at + s(40)));
}

#[test]
fn no_credentials_means_a_challenge_is_a_failure() {
    let t0 = Instant::now();
    let registrar = Registrar::new(t0);
    let mut reg = Registration::new(t0, config(false), "cid".into()).unwrap();
    let (_, req) = step(&mut reg);
    reg.handle_response(t0, &registrar.answer(t0, &req.unwrap()));
    assert!(reg.poll_request().is_none());
    assert_eq!(
        reg.state(),
        &RegistrationState::Failed { status: Some(401) }
    );
}

#[test]
fn lost_responses_time_out_and_retry_with_capped_backoff() {
    let t0 = Instant::now();
    let mut reg = Registration::new(t0, config(false), "cid".into()).unwrap();
    let mut sends = Vec::new();
    for _ in 0..9 {
        let (at, req) = step(&mut reg);
        if let Some(req) = req {
            sends.push(((at - t0).as_secs(), cseq(&req)));
        }
    }
    // Sent at 0; no answer by 40 s → retry 5 s later (45); then 40 s + 10 s, 40 + 20, 40 + 40 ...
    assert_eq!(sends, [(0, 1), (45, 2), (95, 3), (155, 4), (235, 5)]);
    assert_eq!(reg.state(), &RegistrationState::Failed { status: None });
    // The transaction layer's own timeout counts the same, and a late answer to the
    // abandoned request is ignored.
    let (at, req) = step(&mut reg);
    assert_eq!(at, t0 + Duration::from_secs(235 + 40));
    assert!(req.is_none());
    let (at, req) = step(&mut reg);
    let req = req.unwrap();
    reg.handle_transaction_timeout(at + Duration::from_secs(32));
    assert_eq!(reg.failures(), 6);
    reg.handle_response(at + Duration::from_secs(33), &status(&req, 200, &[]));
    assert_eq!(reg.state(), &RegistrationState::Failed { status: None });
    assert_eq!(
        reg.poll_timeout(),
        Some(at + Duration::from_secs(32 + 160)),
        "sixth failure: 5 s × 2^5"
    );
}

#[test]
fn retry_after_and_min_expires_are_honoured() {
    let t0 = Instant::now();
    let mut reg = Registration::new(t0, config(false), "cid".into()).unwrap();
    let (_, req) = step(&mut reg);
    reg.handle_response(t0, &status(&req.unwrap(), 503, &[("Retry-After", "120")]));
    assert_eq!(reg.poll_timeout(), Some(t0 + Duration::from_secs(120)));
    let (at, req) = step(&mut reg);
    reg.handle_response(at, &status(&req.unwrap(), 423, &[("Min-Expires", "1800")]));
    let raised = reg.poll_request().expect("423 is retried at once");
    assert_eq!(header_values(&raised.headers, "Expires"), ["1800"]);
    // The registrar grants via the Expires header only.
    reg.handle_response(at, &status(&raised, 200, &[("Expires", "1800")]));
    assert_eq!(
        reg.state(),
        &RegistrationState::Registered {
            expires_at: at + Duration::from_secs(1800)
        }
    );
    assert_eq!(reg.failures(), 0);
    assert_eq!(reg.poll_timeout(), Some(at + Duration::from_secs(1680)));
}

#[test]
fn binding_stays_valid_while_refreshes_fail_then_lapses() {
    let t0 = Instant::now();
    let mut reg = Registration::new(t0, config(false), "cid".into()).unwrap();
    let (_, req) = step(&mut reg);
    reg.handle_response(t0, &status(&req.unwrap(), 200, &[("Expires", "60")]));
    let expires_at = t0 + Duration::from_secs(60);
    // Refresh at 30 s, refused 500: the binding is still valid until 60 s.
    let (at, req) = step(&mut reg);
    assert_eq!(at, t0 + Duration::from_secs(30));
    reg.handle_response(at, &status(&req.unwrap(), 500, &[]));
    assert_eq!(reg.state(), &RegistrationState::Registered { expires_at });
    let (at, req) = step(&mut reg);
    assert_eq!(at, t0 + Duration::from_secs(35));
    reg.handle_response(at, &status(&req.unwrap(), 500, &[]));
    // Next retry at 45 s; the one after (65 s) comes after the lapse at 60 s.
    let (_, req) = step(&mut reg);
    reg.handle_response(
        t0 + Duration::from_secs(45),
        &status(&req.unwrap(), 500, &[]),
    );
    let (at, req) = step(&mut reg);
    assert_eq!(at, expires_at);
    assert!(req.is_none());
    assert_eq!(reg.state(), &RegistrationState::Failed { status: None });
}

#[test]
fn bad_registrar_uri_is_refused() {
    let mut cfg = config(false);
    cfg.registrar = "not a uri".into();
    assert!(Registration::new(Instant::now(), cfg, "c".into()).is_err());
}

#[test]
fn unregister_sends_expires_zero_answers_the_challenge_and_stops() {
    let t0 = Instant::now();
    let registrar = Registrar::new(t0);
    let mut reg = Registration::new(t0, config(true), "cid".into()).unwrap();
    let (_, req) = step(&mut reg);
    reg.handle_response(t0, &registrar.answer(t0, &req.unwrap()));
    let answered = reg.poll_request().unwrap();
    reg.handle_response(t0, &registrar.answer(t0, &answered));
    assert!(matches!(reg.state(), RegistrationState::Registered { .. }));

    let at = t0 + Duration::from_secs(10);
    reg.unregister(at);
    assert_eq!(reg.state(), &RegistrationState::Unregistering);
    let removal = reg.poll_request().expect("the removal goes out at once");
    assert_eq!(header_values(&removal.headers, "Expires"), ["0"]);
    assert_eq!(header_values(&removal.headers, "Call-ID"), ["cid"]);
    reg.handle_response(at, &registrar.answer(at, &removal));
    let authed = reg.poll_request().expect("its challenge is answered too");
    assert_eq!(header_values(&authed.headers, "Expires"), ["0"]);
    reg.handle_response(at, &status(&authed, 200, &[]));
    assert_eq!(reg.state(), &RegistrationState::Unregistered);
    assert_eq!(reg.poll_timeout(), None, "nothing more is scheduled");
    reg.handle_timeout(at + Duration::from_secs(7200));
    assert!(reg.poll_request().is_none());
}

#[test]
fn unregister_without_a_binding_sends_nothing_and_a_failed_removal_is_not_retried() {
    let t0 = Instant::now();
    let mut reg = Registration::new(t0, config(false), "cid".into()).unwrap();
    reg.unregister(t0);
    assert_eq!(reg.state(), &RegistrationState::Unregistered);
    assert!(reg.poll_request().is_none());
    assert_eq!(reg.poll_timeout(), None);

    let mut reg = Registration::new(t0, config(false), "cid".into()).unwrap();
    let (_, req) = step(&mut reg);
    reg.handle_response(t0, &status(&req.unwrap(), 200, &[]));
    reg.unregister(t0);
    let removal = reg.poll_request().unwrap();
    reg.handle_response(t0, &status(&removal, 423, &[("Min-Expires", "60")]));
    assert_eq!(reg.state(), &RegistrationState::Unregistered);
    assert!(reg.poll_request().is_none());
    assert_eq!(reg.poll_timeout(), None);
}
