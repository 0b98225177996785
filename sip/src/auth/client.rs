//! The client side: answering a 401/407 challenge (RFC 3261 §22.2, §22.3).

use rsipstack::sip::{Method, Response};

use super::digest::{Algorithm, DigestInput, nc_hex, response};
use super::error::AuthError;
use super::params::{DigestParams, quote};

/// The username and password we present to a peer that challenges us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Digest username.
    pub username: String,
    /// Digest password.
    pub password: String,
}

/// Answers the challenge in `challenge` (a 401 with WWW-Authenticate or a 407 with
/// Proxy-Authenticate) for a request with `method` and Request-URI `uri`.
///
/// When several Digest challenges are offered the strongest supported algorithm wins (SHA-256
/// over MD5, see [`Algorithm`]). `qop=auth` is used when offered, with `cnonce` and `nc` (the
/// caller counts requests per nonce, starting at 1); a challenge without qop gets the RFC 2069
/// form. Returns the header name to add (`"Authorization"` or `"Proxy-Authorization"`) and its
/// value.
pub fn authorize(
    challenge: &Response,
    method: &Method,
    uri: &str,
    creds: &Credentials,
    cnonce: &str,
    nc: u32,
) -> Result<(&'static str, String), AuthError> {
    let status = u16::from(challenge.status_code.clone());
    let (challenge_name, answer_name) = match status {
        401 => ("WWW-Authenticate", "Authorization"),
        407 => ("Proxy-Authenticate", "Proxy-Authorization"),
        other => return Err(AuthError::NotAChallenge(other)),
    };
    let offers: Vec<DigestParams> = challenge
        .headers
        .iter()
        .filter(|h| h.name().eq_ignore_ascii_case(challenge_name))
        .filter_map(|h| DigestParams::parse(h.value()))
        .collect();
    if offers.is_empty() {
        return Err(AuthError::NoChallenge);
    }
    let (algorithm, offer) = offers
        .iter()
        .filter_map(|p| Some((Algorithm::parse(p.get("algorithm"))?, p)))
        // Only qop=auth or no qop at all: a challenge offering only auth-int is unusable.
        .filter(|(_, p)| p.get("qop").is_none() || p.offers_qop_auth())
        .max_by_key(|(a, _)| *a)
        .ok_or(AuthError::Unsupported)?;
    let realm = offer.get("realm").ok_or(AuthError::Malformed("no realm"))?;
    let nonce = offer.get("nonce").ok_or(AuthError::Malformed("no nonce"))?;
    let nc = nc_hex(nc);
    let qop_auth = offer.offers_qop_auth().then_some((nc.as_str(), cnonce));
    let method = method.to_string();
    let hash = response(&DigestInput {
        algorithm,
        username: &creds.username,
        realm,
        password: &creds.password,
        method: &method,
        uri,
        nonce,
        qop_auth,
    });
    let mut value = format!(
        "Digest username={}, realm={}, nonce={}, uri={}, response=\"{hash}\", algorithm={}",
        quote(&creds.username),
        quote(realm),
        quote(nonce),
        quote(uri),
        algorithm.name(),
    );
    if let Some((nc, cnonce)) = qop_auth {
        value.push_str(&format!(", qop=auth, nc={nc}, cnonce={}", quote(cnonce)));
    }
    if let Some(opaque) = offer.get("opaque") {
        value.push_str(&format!(", opaque={}", quote(opaque)));
    }
    Ok((answer_name, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{SipMessage, parse_message};

    fn resp(status: &str, headers: &str) -> Response {
        let raw = format!(
            "SIP/2.0 {status}\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nFrom: <sip:a@x>;tag=1\r\n\
             To: <sip:a@x>;tag=2\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\n{headers}Content-Length: 0\r\n\r\n"
        );
        match parse_message(raw.as_bytes()).unwrap() {
            SipMessage::Response(r) => r,
            _ => unreachable!(),
        }
    }

    fn creds() -> Credentials {
        Credentials {
            username: "Mufasa".into(),
            password: "Circle Of Life".into(),
        }
    }

    #[test]
    fn md5_challenge_answered_like_rfc2617() {
        let r = resp(
            "401 Unauthorized",
            "WWW-Authenticate: Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", \
             nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"\r\n",
        );
        let (name, value) = authorize(
            &r,
            &Method::Register,
            "/dir/index.html",
            &creds(),
            "0a4f113b",
            1,
        )
        .unwrap();
        assert_eq!(name, "Authorization");
        let p = DigestParams::parse(&value).unwrap();
        assert_eq!(p.get("username"), Some("Mufasa"));
        assert_eq!(p.get("qop"), Some("auth"));
        assert_eq!(p.get("nc"), Some("00000001"));
        assert_eq!(p.get("cnonce"), Some("0a4f113b"));
        assert_eq!(p.get("opaque"), Some("5ccc069c403ebaf9f0171e9517f40e41"));
        assert_eq!(p.get("algorithm"), Some("MD5"));
        // Same inputs as RFC 2617 §3.5 except the method (REGISTER, not GET).
        let expected = response(&DigestInput {
            algorithm: Algorithm::Md5,
            username: "Mufasa",
            realm: "testrealm@host.com",
            password: "Circle Of Life",
            method: "REGISTER",
            uri: "/dir/index.html",
            nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            qop_auth: Some(("00000001", "0a4f113b")),
        });
        assert_eq!(p.get("response"), Some(expected.as_str()));
    }

    #[test]
    fn picks_sha256_when_offered_next_to_md5_and_answers_407_with_proxy_authorization() {
        let r = resp(
            "407 Proxy Authentication Required",
            "Proxy-Authenticate: Digest realm=\"r\", nonce=\"n1\", algorithm=MD5, qop=\"auth\"\r\n\
             Proxy-Authenticate: Digest realm=\"r\", nonce=\"n2\", algorithm=SHA-256, qop=\"auth\"\r\n",
        );
        let (name, value) = authorize(&r, &Method::Invite, "sip:b@h", &creds(), "cn", 3).unwrap();
        assert_eq!(name, "Proxy-Authorization");
        let p = DigestParams::parse(&value).unwrap();
        assert_eq!(p.get("algorithm"), Some("SHA-256"));
        assert_eq!(p.get("nonce"), Some("n2"));
        assert_eq!(p.get("nc"), Some("00000003"));
        assert_eq!(p.get("response").map(str::len), Some(64));
    }

    #[test]
    fn no_qop_challenge_gets_the_rfc2069_form() {
        let r = resp(
            "401 Unauthorized",
            "WWW-Authenticate: Digest realm=\"r\", nonce=\"n\"\r\n",
        );
        let (_, value) = authorize(&r, &Method::Register, "sip:h", &creds(), "cn", 1).unwrap();
        let p = DigestParams::parse(&value).unwrap();
        assert_eq!(p.get("qop"), None);
        assert_eq!(p.get("cnonce"), None);
        let expected = response(&DigestInput {
            algorithm: Algorithm::Md5,
            username: "Mufasa",
            realm: "r",
            password: "Circle Of Life",
            method: "REGISTER",
            uri: "sip:h",
            nonce: "n",
            qop_auth: None,
        });
        assert_eq!(p.get("response"), Some(expected.as_str()));
    }

    #[test]
    fn refuses_non_challenges_and_unusable_ones() {
        let c = creds();
        let m = Method::Register;
        assert_eq!(
            authorize(&resp("200 OK", ""), &m, "sip:h", &c, "x", 1),
            Err(AuthError::NotAChallenge(200))
        );
        assert_eq!(
            authorize(&resp("401 Unauthorized", ""), &m, "sip:h", &c, "x", 1),
            Err(AuthError::NoChallenge)
        );
        let only_int = resp(
            "401 Unauthorized",
            "WWW-Authenticate: Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\"\r\n",
        );
        assert_eq!(
            authorize(&only_int, &m, "sip:h", &c, "x", 1),
            Err(AuthError::Unsupported)
        );
        let sha512 = resp(
            "401 Unauthorized",
            "WWW-Authenticate: Digest realm=\"r\", nonce=\"n\", algorithm=SHA-512-256\r\n",
        );
        assert_eq!(
            authorize(&sha512, &m, "sip:h", &c, "x", 1),
            Err(AuthError::Unsupported)
        );
        let no_nonce = resp(
            "401 Unauthorized",
            "WWW-Authenticate: Digest realm=\"r\"\r\n",
        );
        assert_eq!(
            authorize(&no_nonce, &m, "sip:h", &c, "x", 1),
            Err(AuthError::Malformed("no nonce"))
        );
    }
}
