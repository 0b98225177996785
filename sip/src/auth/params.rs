//! The `Digest` auth-param list of WWW-Authenticate, Proxy-Authenticate, Authorization and
//! Proxy-Authorization (RFC 7616 §3.3, §3.4): `Digest name=token, name="quoted \" string", …`.
//!
//! Parsing is total: malformed input yields `None` rather than a panic, and quoted strings are
//! unescaped, so commas and `=` inside them are data.

/// The parameters of one Digest header, names lower-cased, values unquoted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DigestParams {
    params: Vec<(String, String)>,
}

impl DigestParams {
    /// Parses a header value; `None` when the scheme is not Digest or the list is malformed.
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim_start();
        let (scheme, rest) = value.split_at(value.find(|c: char| c.is_whitespace())?);
        if !scheme.eq_ignore_ascii_case("Digest") {
            return None;
        }
        let mut params = Vec::new();
        let mut chars = rest.chars().peekable();
        loop {
            // Skip separators between parameters.
            while chars.next_if(|c| c.is_whitespace() || *c == ',').is_some() {}
            if chars.peek().is_none() {
                break;
            }
            let mut name = String::new();
            while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
                name.push(c.to_ascii_lowercase());
            }
            while chars.next_if(|c| c.is_whitespace()).is_some() {}
            if chars.next() != Some('=') || name.is_empty() {
                return None;
            }
            while chars.next_if(|c| c.is_whitespace()).is_some() {}
            let mut val = String::new();
            if chars.next_if_eq(&'"').is_some() {
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => val.push(chars.next()?),
                        c => val.push(c),
                    }
                }
            } else {
                while let Some(c) = chars.next_if(|c| *c != ',' && !c.is_whitespace()) {
                    val.push(c);
                }
            }
            params.push((name, val));
        }
        Some(DigestParams { params })
    }

    /// The value of parameter `name` (lower-case), first occurrence.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether `qop` (a comma-separated list in challenges) offers `auth`.
    pub fn offers_qop_auth(&self) -> bool {
        self.get("qop")
            .is_some_and(|q| q.split(',').any(|t| t.trim().eq_ignore_ascii_case("auth")))
    }
}

/// `s` as a quoted-string (RFC 3261 §25.1): backslash-escapes `"` and `\`.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tokens_quoted_strings_and_escapes() {
        let p = DigestParams::parse(
            "Digest realm=\"a, b=c\", nonce=\"n\\\"1\",algorithm=SHA-256 ,qop=\"auth,auth-int\", stale=TRUE",
        )
        .unwrap();
        assert_eq!(p.get("realm"), Some("a, b=c"));
        assert_eq!(p.get("nonce"), Some("n\"1"));
        assert_eq!(p.get("algorithm"), Some("SHA-256"));
        assert_eq!(p.get("stale"), Some("TRUE"));
        assert!(p.offers_qop_auth());
    }

    #[test]
    fn refuses_other_schemes_and_broken_lists() {
        assert_eq!(DigestParams::parse("Basic realm=\"x\""), None);
        assert_eq!(DigestParams::parse("Digest realm=\"unterminated"), None);
        assert_eq!(DigestParams::parse("Digest =x"), None);
        assert_eq!(DigestParams::parse("Digest realm"), None);
    }

    #[test]
    fn quote_round_trips_through_parse() {
        let v = format!("Digest username={}", quote("we\"ird\\user"));
        assert_eq!(
            DigestParams::parse(&v).unwrap().get("username"),
            Some("we\"ird\\user")
        );
    }
}
