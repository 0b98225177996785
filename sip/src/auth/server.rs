//! The server side: challenging requests and verifying their credentials (RFC 3261 §22.1,
//! RFC 7616 §3.3, §3.5).
//!
//! Nonces are stateless: `hex(issued_at) ‖ hex(HMAC-SHA256(secret, issued_at ‖ realm)[..16])`.
//! Verification recomputes the MAC, so a forged nonce is refused and an expired one is reported
//! stale, with no table of issued nonces to grow under a flood. The trade-off: within its lifetime
//! a nonce (and a captured response to it for the same method and URI) can be replayed, since `nc`
//! is not tracked; keep the lifetime short.

use hmac::{Hmac, KeyInit, Mac};
use rsipstack::sip::Request;
use sha2::Sha256;

use super::digest::{Algorithm, DigestInput, response};
use super::error::AuthFailure;
use super::params::{DigestParams, quote};

/// Clock skew tolerated on a nonce's timestamp being ahead of `now`.
const FUTURE_SKEW_SECS: u64 = 60;
/// Bytes of the HMAC kept in the nonce.
const MAC_LEN: usize = 16;

/// Issues Digest challenges for one realm and verifies the answers.
#[derive(Clone)]
pub struct DigestVerifier {
    realm: String,
    secret: Vec<u8>,
    nonce_lifetime_secs: u64,
    /// Algorithms offered and accepted, in the order of the challenge headers.
    algorithms: Vec<Algorithm>,
}

impl std::fmt::Debug for DigestVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DigestVerifier")
            .field("realm", &self.realm)
            .field("nonce_lifetime_secs", &self.nonce_lifetime_secs)
            .field("algorithms", &self.algorithms)
            .finish_non_exhaustive()
    }
}

impl DigestVerifier {
    /// A verifier for `realm` whose nonces are sealed with `secret` and live
    /// `nonce_lifetime_secs` seconds.
    pub fn new(
        realm: impl Into<String>,
        secret: impl Into<Vec<u8>>,
        nonce_lifetime_secs: u64,
    ) -> Self {
        DigestVerifier {
            realm: realm.into(),
            secret: secret.into(),
            nonce_lifetime_secs,
            algorithms: vec![Algorithm::Sha256, Algorithm::Md5],
        }
    }

    /// Offers (and accepts) `algorithms` in this order instead of SHA-256 then MD5. `-sess`
    /// variants are dropped; an empty list keeps the default. Clients that read only the first
    /// challenge and know only MD5 (SIPp 3.6, many older PBXs) need MD5 first; RFC 8760 clients
    /// pick the strongest offered wherever it is.
    pub fn with_algorithms(mut self, algorithms: &[Algorithm]) -> Self {
        let kept: Vec<Algorithm> = algorithms
            .iter()
            .copied()
            .filter(|a| matches!(a, Algorithm::Md5 | Algorithm::Sha256))
            .collect();
        if !kept.is_empty() {
            self.algorithms = kept;
        }
        self
    }

    /// The realm challenged.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The WWW-Authenticate values of a challenge issued at `now_unix_secs`: one per algorithm
    /// (RFC 7616 §3.7), by default SHA-256 first, then MD5 for peers without RFC 8760. `stale` marks a re-challenge
    /// after an expired nonce, so the client retries without asking the user (§3.3).
    pub fn challenge(&self, now_unix_secs: u64, stale: bool) -> Vec<String> {
        let nonce = self.nonce(now_unix_secs);
        self.algorithms
            .iter()
            .map(|alg| {
                let mut v = format!(
                    "Digest realm={}, nonce=\"{nonce}\", algorithm={}, qop=\"auth\"",
                    quote(&self.realm),
                    alg.name()
                );
                if stale {
                    v.push_str(", stale=true");
                }
                v
            })
            .collect()
    }

    /// Verifies the Authorization of `request`; returns the authenticated username.
    /// `password_of_user` looks a user's password up.
    pub fn verify(
        &self,
        request: &Request,
        password_of_user: impl Fn(&str) -> Option<String>,
        now_unix_secs: u64,
    ) -> Result<String, AuthFailure> {
        let creds = request
            .headers
            .iter()
            .filter(|h| h.name().eq_ignore_ascii_case("Authorization"))
            .filter_map(|h| DigestParams::parse(h.value()))
            .find(|p| p.get("realm") == Some(self.realm.as_str()))
            .ok_or(AuthFailure::Missing)?;
        let algorithm = match Algorithm::parse(creds.get("algorithm")) {
            Some(a) if self.algorithms.contains(&a) => a,
            _ => return Err(AuthFailure::Malformed("algorithm not offered")),
        };
        if !creds
            .get("qop")
            .is_some_and(|q| q.eq_ignore_ascii_case("auth"))
        {
            return Err(AuthFailure::Malformed("qop must be auth"));
        }
        let field = |name: &'static str| creds.get(name).ok_or(AuthFailure::Malformed(name));
        let (username, nonce, uri) = (field("username")?, field("nonce")?, field("uri")?);
        let (nc, cnonce, given) = (field("nc")?, field("cnonce")?, field("response")?);
        if nc.len() != 8 || !nc.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(AuthFailure::Malformed("nc"));
        }
        self.check_nonce(nonce, now_unix_secs)?;
        let password =
            password_of_user(username).ok_or_else(|| AuthFailure::UnknownUser(username.into()))?;
        let method = request.method.to_string();
        let expected = response(&DigestInput {
            algorithm,
            username,
            realm: &self.realm,
            password: &password,
            method: &method,
            uri,
            nonce,
            qop_auth: Some((nc, cnonce)),
        });
        if constant_time_eq_ignore_case(expected.as_bytes(), given.as_bytes()) {
            Ok(username.to_string())
        } else {
            Err(AuthFailure::WrongResponse(username.into()))
        }
    }

    fn mac(&self, issued_at: u64) -> Hmac<Sha256> {
        // HMAC takes keys of any length, so this cannot fail.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret)
            .expect("HMAC accepts keys of any length");
        mac.update(&issued_at.to_be_bytes());
        mac.update(self.realm.as_bytes());
        mac
    }

    fn nonce(&self, issued_at: u64) -> String {
        let tag = self.mac(issued_at).finalize().into_bytes();
        let mut s = format!("{issued_at:016x}");
        for b in &tag[..MAC_LEN] {
            s.push_str(&format!("{b:02x}"));
        }
        s
    }

    fn check_nonce(&self, nonce: &str, now: u64) -> Result<(), AuthFailure> {
        let not_ours = AuthFailure::Malformed("nonce not issued here");
        if nonce.len() != 16 + 2 * MAC_LEN || !nonce.is_ascii() {
            return Err(not_ours);
        }
        let issued_at = u64::from_str_radix(&nonce[..16], 16).map_err(|_| not_ours.clone())?;
        let mut tag = [0u8; MAC_LEN];
        for (i, b) in tag.iter_mut().enumerate() {
            let pair = &nonce[16 + 2 * i..18 + 2 * i];
            *b = u8::from_str_radix(pair, 16).map_err(|_| not_ours.clone())?;
        }
        if self.mac(issued_at).verify_truncated_left(&tag).is_err() {
            return Err(not_ours);
        }
        if issued_at > now.saturating_add(FUTURE_SKEW_SECS) {
            return Err(not_ours);
        }
        if now > issued_at.saturating_add(self.nonce_lifetime_secs) {
            return Err(AuthFailure::Stale);
        }
        Ok(())
    }
}

/// Compares two hex strings without an early exit (the response hash is attacker-probed).
fn constant_time_eq_ignore_case(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| {
        acc | (x.to_ascii_lowercase() ^ y.to_ascii_lowercase())
    }) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Credentials, authorize};
    use crate::message::{Method, ResponseBuilder, SipMessage, parse_message};

    const NOW: u64 = 1_800_000_000;

    fn invite(extra: &str) -> Request {
        let raw = format!(
            "INVITE sip:1000@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.9;branch=z9hG4bKa\r\n\
             From: <sip:carrier@x>;tag=ft\r\nTo: <sip:1000@y>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n\
             {extra}Content-Length: 0\r\n\r\n"
        );
        match parse_message(raw.as_bytes()).unwrap() {
            SipMessage::Request(r) => r,
            _ => unreachable!(),
        }
    }

    fn verifier() -> DigestVerifier {
        DigestVerifier::new("switch", b"s3cret".to_vec(), 300)
    }

    fn users(u: &str) -> Option<String> {
        (u == "carrier").then(|| "pw".to_string())
    }

    /// The client's answer to the verifier's challenge, issued at `issued`.
    fn answered(v: &DigestVerifier, issued: u64, password: &str, drop_sha: bool) -> Request {
        let req = invite("");
        let mut b = ResponseBuilder::new(&req, 401, Some("t"));
        for c in v.challenge(issued, false) {
            if !(drop_sha && c.contains("SHA-256")) {
                b = b.header("WWW-Authenticate", c);
            }
        }
        let creds = Credentials {
            username: "carrier".into(),
            password: password.into(),
        };
        let (name, value) = authorize(
            &b.build(),
            &Method::Invite,
            "sip:1000@127.0.0.1",
            &creds,
            "abc",
            1,
        )
        .unwrap();
        invite(&format!("{name}: {value}\r\n"))
    }

    #[test]
    fn round_trip_with_sha256_and_with_md5() {
        let v = verifier();
        assert_eq!(
            v.verify(&answered(&v, NOW, "pw", false), users, NOW + 5),
            Ok("carrier".into())
        );
        let md5 = answered(&v, NOW, "pw", true);
        assert!(md5.to_string().contains("algorithm=MD5"));
        assert_eq!(v.verify(&md5, users, NOW), Ok("carrier".into()));
    }

    #[test]
    fn missing_wrong_stale_and_forged_are_told_apart() {
        let v = verifier();
        assert_eq!(v.verify(&invite(""), users, NOW), Err(AuthFailure::Missing));
        assert_eq!(
            v.verify(&answered(&v, NOW, "nope", false), users, NOW),
            Err(AuthFailure::WrongResponse("carrier".into()))
        );
        assert_eq!(
            v.verify(&answered(&v, NOW, "pw", false), users, NOW + 301),
            Err(AuthFailure::Stale)
        );
        // Another secret issued the nonce: not ours.
        let other = DigestVerifier::new("switch", b"other".to_vec(), 300);
        assert_eq!(
            v.verify(&answered(&other, NOW, "pw", false), users, NOW),
            Err(AuthFailure::Malformed("nonce not issued here"))
        );
        // Credentials for another realm count as none.
        let elsewhere = DigestVerifier::new("elsewhere", b"s3cret".to_vec(), 300);
        assert_eq!(
            v.verify(&answered(&elsewhere, NOW, "pw", false), users, NOW),
            Err(AuthFailure::Missing)
        );
        let unknown = |_: &str| None;
        assert_eq!(
            v.verify(&answered(&v, NOW, "pw", false), unknown, NOW),
            Err(AuthFailure::UnknownUser("carrier".into()))
        );
    }

    #[test]
    fn tampered_response_or_nonce_is_refused() {
        let v = verifier();
        let good = answered(&v, NOW, "pw", false).to_string();
        let nonce = v.nonce(NOW);
        // Move the timestamp forward (to extend the nonce's life) without the MAC.
        let forged = format!("{:016x}{}", NOW + 1000, &nonce[16..]);
        let bad = good.replace(&nonce, &forged);
        let SipMessage::Request(bad) = parse_message(bad.as_bytes()).unwrap() else {
            panic!()
        };
        assert_eq!(
            v.verify(&bad, users, NOW + 400),
            Err(AuthFailure::Malformed("nonce not issued here"))
        );
        let no_qop = invite(
            "Authorization: Digest username=\"carrier\", realm=\"switch\", nonce=\"x\", uri=\"sip:a\", response=\"00\"\r\n",
        );
        assert_eq!(
            v.verify(&no_qop, users, NOW),
            Err(AuthFailure::Malformed("qop must be auth"))
        );
    }

    #[test]
    fn challenges_offer_sha256_before_md5_and_mark_stale() {
        let c = verifier().challenge(NOW, true);
        assert_eq!(c.len(), 2);
        assert!(c[0].contains("algorithm=SHA-256") && c[0].ends_with("stale=true"));
        assert!(c[1].contains("algorithm=MD5"));
    }

    #[test]
    fn algorithm_order_and_set_can_be_chosen() {
        let md5_first = verifier().with_algorithms(&[Algorithm::Md5, Algorithm::Sha256]);
        let c = md5_first.challenge(NOW, false);
        assert!(c[0].contains("algorithm=MD5") && c[1].contains("algorithm=SHA-256"));
        // A client picking the strongest still uses SHA-256, and it verifies.
        assert!(
            answered(&md5_first, NOW, "pw", false)
                .to_string()
                .contains("algorithm=SHA-256")
        );
        let sha_only = verifier().with_algorithms(&[Algorithm::Sha256]);
        assert_eq!(sha_only.challenge(NOW, false).len(), 1);
        // An MD5 answer (to a verifier that offered it) is refused by one that does not.
        let md5 = answered(&verifier(), NOW, "pw", true);
        assert_eq!(
            sha_only.verify(&md5, users, NOW),
            Err(AuthFailure::Malformed("algorithm not offered"))
        );
    }
}
