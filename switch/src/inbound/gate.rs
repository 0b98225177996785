//! The trunk gate of new INVITEs: which trunk the source address belongs to (403 when none, unless
//! loopback is trusted), and, for trunks whose peers authenticate to us, Digest verification
//! (401 challenge, 403 on wrong credentials).

use std::net::IpAddr;

use sip::auth::{Algorithm, AuthFailure, DigestVerifier};
use sip::message::Request;

use crate::trunks::{TrunkCache, TrunkEntry};

/// Nonce lifetime of our challenges: short, since nonces are stateless and replayable within it.
const NONCE_LIFETIME_SECS: u64 = 300;

/// Why an INVITE did not pass the gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateRefusal {
    /// Answer 401 with these WWW-Authenticate values (not a refusal of the call: the peer retries
    /// with credentials).
    Challenge(Vec<String>),
    /// Refuse with `status`; `cause` goes on the call record and the metric.
    Refuse {
        /// SIP status.
        status: u16,
        /// Refusal cause.
        cause: &'static str,
    },
}

/// The source check and Digest verification of new INVITEs.
#[derive(Debug)]
pub struct InboundGate {
    trunks: TrunkCache,
    verifier: DigestVerifier,
    trusted_loopback: bool,
}

impl InboundGate {
    /// A gate over the trunk table. `realm` names us in challenges; nonces are sealed with a
    /// random per-process secret. With `trusted_loopback`, loopback sources that match no trunk
    /// are admitted as before trunks existed (the demo and local tests).
    pub fn new(trunks: TrunkCache, realm: &str, trusted_loopback: bool) -> Self {
        let secret: [u8; 32] = rand::random();
        InboundGate {
            trunks,
            // MD5 first: SIP peers that know only MD5 commonly read just the first challenge;
            // peers with RFC 8760 choose SHA-256 from the second.
            verifier: DigestVerifier::new(realm, secret.to_vec(), NONCE_LIFETIME_SECS)
                .with_algorithms(&[Algorithm::Md5, Algorithm::Sha256]),
            trusted_loopback,
        }
    }

    /// The trunk an INVITE from `source` comes from (`None`: an unlisted but trusted loopback
    /// source), or why it may not pass.
    pub fn check(
        &self,
        request: &Request,
        source: IpAddr,
        now_unix_secs: u64,
    ) -> Result<Option<TrunkEntry>, GateRefusal> {
        let table = self.trunks.snapshot();
        let Some(entry) = table.match_source(source) else {
            return if self.trusted_loopback && source.to_canonical().is_loopback() {
                Ok(None)
            } else {
                Err(GateRefusal::Refuse {
                    status: 403,
                    cause: "source_not_allowed",
                })
            };
        };
        if entry.requires_auth() {
            let password_of = |user: &str| {
                (entry.trunk.username.as_deref() == Some(user))
                    .then(|| entry.trunk.password.clone())
                    .flatten()
            };
            match self.verifier.verify(request, password_of, now_unix_secs) {
                Ok(_) => {}
                Err(AuthFailure::Missing) => {
                    return Err(GateRefusal::Challenge(
                        self.verifier.challenge(now_unix_secs, false),
                    ));
                }
                Err(AuthFailure::Stale) => {
                    return Err(GateRefusal::Challenge(
                        self.verifier.challenge(now_unix_secs, true),
                    ));
                }
                Err(_) => {
                    return Err(GateRefusal::Refuse {
                        status: 403,
                        cause: "auth_failed",
                    });
                }
            }
        }
        Ok(Some(entry.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trunks::TrunkTable;
    use sip::auth::{Credentials, authorize};
    use sip::message::{Method, ResponseBuilder, SipMessage, parse_message};
    use store::Trunk;

    const NOW: u64 = 1_800_000_000;

    fn trunk(cidr: &str, creds: bool, register: bool) -> Trunk {
        Trunk {
            id: "t1".into(),
            name: "carrier".into(),
            address: "127.0.0.3".into(),
            transport: "udp".into(),
            inbound_cidrs: vec![cidr.into()],
            username: creds.then(|| "pbx".into()),
            password: creds.then(|| "pw".into()),
            codecs: vec![],
            register,
            created_at: 0,
        }
    }

    fn gate(trunks: Vec<Trunk>, trusted_loopback: bool) -> InboundGate {
        let cache = TrunkCache::default();
        cache.replace(TrunkTable::new(trunks));
        InboundGate::new(cache, "switch", trusted_loopback)
    }

    fn invite(extra: &str) -> Request {
        let raw = format!(
            "INVITE sip:1000@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2;branch=z9hG4bKa\r\n\
             From: <sip:a@x>;tag=f\r\nTo: <sip:1000@y>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\
             {extra}Content-Length: 0\r\n\r\n"
        );
        match parse_message(raw.as_bytes()).unwrap() {
            SipMessage::Request(r) => r,
            _ => unreachable!(),
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn unlisted_sources_are_refused_unless_trusted_loopback() {
        let refused = Some(GateRefusal::Refuse {
            status: 403,
            cause: "source_not_allowed",
        });
        let strict = gate(vec![trunk("127.0.0.3/32", false, false)], false);
        assert_eq!(
            strict.check(&invite(""), ip("127.0.0.2"), NOW).err(),
            refused
        );
        let matched = strict.check(&invite(""), ip("127.0.0.3"), NOW).unwrap();
        assert_eq!(matched.unwrap().trunk.id, "t1");
        let demo = gate(vec![], true);
        assert_eq!(
            demo.check(&invite(""), ip("127.0.0.2"), NOW)
                .unwrap()
                .map(|e| e.trunk.id),
            None
        );
        assert_eq!(demo.check(&invite(""), ip("192.0.2.1"), NOW).err(), refused);
    }

    #[test]
    fn trunks_with_credentials_challenge_then_admit_the_right_answer() {
        let g = gate(vec![trunk("127.0.0.2", true, false)], true);
        let Err(GateRefusal::Challenge(values)) = g.check(&invite(""), ip("127.0.0.2"), NOW) else {
            panic!("a trunk with credentials challenges")
        };
        let answer = |password: &str| {
            let mut b = ResponseBuilder::new(&invite(""), 401, Some("t"));
            for v in &values {
                b = b.header("WWW-Authenticate", v.clone());
            }
            let creds = Credentials {
                username: "pbx".into(),
                password: password.into(),
            };
            let (name, value) = authorize(
                &b.build(),
                &Method::Invite,
                "sip:1000@127.0.0.1",
                &creds,
                "c",
                1,
            )
            .unwrap();
            invite(&format!("{name}: {value}\r\n"))
        };
        let ok = g.check(&answer("pw"), ip("127.0.0.2"), NOW + 1).unwrap();
        assert_eq!(ok.unwrap().trunk.id, "t1");
        assert_eq!(
            g.check(&answer("bad"), ip("127.0.0.2"), NOW + 1).err(),
            Some(GateRefusal::Refuse {
                status: 403,
                cause: "auth_failed"
            })
        );
        let Err(GateRefusal::Challenge(stale)) = g.check(
            &answer("pw"),
            ip("127.0.0.2"),
            NOW + NONCE_LIFETIME_SECS + 1,
        ) else {
            panic!("an expired nonce is re-challenged")
        };
        assert!(stale[0].contains("stale=true"));
    }

    #[test]
    fn registering_trunks_are_trusted_by_address() {
        let g = gate(vec![trunk("127.0.0.2", true, true)], false);
        assert!(
            g.check(&invite(""), ip("127.0.0.2"), NOW)
                .unwrap()
                .is_some()
        );
    }
}
