//! The digest computation itself (RFC 7616 §3.4.1–§3.4.3): A1, A2 and the response hash, for
//! MD5 and SHA-256 and their `-sess` variants.

use md5::Md5;
use sha2::{Digest, Sha256};

/// A digest algorithm, in order of preference so `max` picks the one to use: SHA-256 over MD5,
/// and within a hash the plain form over `-sess`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Algorithm {
    /// `MD5-sess`.
    Md5Sess,
    /// `MD5` (RFC 2617), the default when a challenge names none.
    Md5,
    /// `SHA-256-sess`.
    Sha256Sess,
    /// `SHA-256` (RFC 7616, RFC 8760).
    Sha256,
}

impl Algorithm {
    /// Reads an `algorithm` parameter; absent means MD5. `None` for algorithms we lack
    /// (e.g. SHA-512-256).
    pub fn parse(param: Option<&str>) -> Option<Self> {
        let Some(name) = param else {
            return Some(Algorithm::Md5);
        };
        [
            Algorithm::Md5,
            Algorithm::Md5Sess,
            Algorithm::Sha256,
            Algorithm::Sha256Sess,
        ]
        .into_iter()
        .find(|a| a.name().eq_ignore_ascii_case(name))
    }

    /// The token as written in headers.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
        }
    }

    fn is_sess(self) -> bool {
        matches!(self, Algorithm::Md5Sess | Algorithm::Sha256Sess)
    }

    /// Lower-case hex of the hash of `parts` joined by `:`.
    fn hash(self, parts: &[&str]) -> String {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => hex_hash::<Md5>(parts),
            Algorithm::Sha256 | Algorithm::Sha256Sess => hex_hash::<Sha256>(parts),
        }
    }
}

fn hex_hash<D: Digest>(parts: &[&str]) -> String {
    let mut d = D::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            d.update(b":");
        }
        d.update(p.as_bytes());
    }
    let out = d.finalize();
    let mut s = String::with_capacity(out.len() * 2);
    for b in out.iter() {
        s.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        s.push(char::from_digit(u32::from(b & 0xf), 16).unwrap_or('0'));
    }
    s
}

/// Everything the response hash covers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DigestInput<'a> {
    pub(crate) algorithm: Algorithm,
    pub(crate) username: &'a str,
    pub(crate) realm: &'a str,
    pub(crate) password: &'a str,
    pub(crate) method: &'a str,
    pub(crate) uri: &'a str,
    pub(crate) nonce: &'a str,
    /// `Some((nc as 8 hex digits, cnonce))` for `qop=auth`; `None` for the RFC 2069 form.
    pub(crate) qop_auth: Option<(&'a str, &'a str)>,
}

/// The `response` parameter (RFC 7616 §3.4.1).
pub(crate) fn response(i: &DigestInput<'_>) -> String {
    let alg = i.algorithm;
    let mut ha1 = alg.hash(&[i.username, i.realm, i.password]);
    if alg.is_sess() {
        let cnonce = i.qop_auth.map_or("", |(_, c)| c);
        ha1 = alg.hash(&[&ha1, i.nonce, cnonce]);
    }
    let ha2 = alg.hash(&[i.method, i.uri]);
    match i.qop_auth {
        Some((nc, cnonce)) => alg.hash(&[&ha1, i.nonce, nc, cnonce, "auth", &ha2]),
        None => alg.hash(&[&ha1, i.nonce, &ha2]),
    }
}

/// `nc` as the 8 lower-case hex digits the header carries.
pub(crate) fn nc_hex(nc: u32) -> String {
    format!("{nc:08x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 2617 §3.5.
    #[test]
    fn rfc2617_md5_example() {
        let got = response(&DigestInput {
            algorithm: Algorithm::Md5,
            username: "Mufasa",
            realm: "testrealm@host.com",
            password: "Circle Of Life",
            method: "GET",
            uri: "/dir/index.html",
            nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            qop_auth: Some(("00000001", "0a4f113b")),
        });
        assert_eq!(got, "6629fae49393a05397450978507c4ef1");
    }

    fn rfc7616(algorithm: Algorithm) -> String {
        response(&DigestInput {
            algorithm,
            username: "Mufasa",
            realm: "http-auth@example.org",
            password: "Circle of Life",
            method: "GET",
            uri: "/dir/index.html",
            nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
            qop_auth: Some(("00000001", "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ")),
        })
    }

    /// RFC 7616 §3.9.1, both algorithms of the example.
    #[test]
    fn rfc7616_sha256_and_md5_example() {
        assert_eq!(
            rfc7616(Algorithm::Sha256),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
        assert_eq!(rfc7616(Algorithm::Md5), "8ca523f5e9506fed4657c9700eebdbec");
    }

    #[test]
    fn algorithm_names_parse_case_insensitively_and_default_to_md5() {
        assert_eq!(Algorithm::parse(None), Some(Algorithm::Md5));
        assert_eq!(Algorithm::parse(Some("sha-256")), Some(Algorithm::Sha256));
        assert_eq!(Algorithm::parse(Some("SHA-512-256")), None);
        assert!(Algorithm::Sha256 > Algorithm::Md5Sess);
        assert_eq!(nc_hex(10), "0000000a");
    }
}
