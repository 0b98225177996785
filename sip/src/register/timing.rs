//! When to refresh a binding, how long to back off after a failure, and what expiry a 200 to
//! REGISTER granted.

use std::time::Duration;

use crate::message::{Headers, header_param, header_values, uri_of};

/// First retry delay after a failure.
pub const RETRY_MIN: Duration = Duration::from_secs(5);
/// Largest retry delay.
pub const RETRY_MAX: Duration = Duration::from_secs(300);
/// How long before the binding lapses a refresh is sent, at most (half the binding for short ones).
pub const REFRESH_MARGIN: Duration = Duration::from_secs(120);

/// Delay from a successful registration to its refresh: `max(granted / 2, granted − 120 s)`.
pub fn refresh_after(granted: Duration) -> Duration {
    (granted / 2).max(granted.saturating_sub(REFRESH_MARGIN))
}

/// Delay before retry number `failures` (1 for the first failure): 5 s doubling, capped at 5 min,
/// and never sooner than the registrar's `retry_after`.
pub fn backoff(failures: u32, retry_after: Option<Duration>) -> Duration {
    let doubled = RETRY_MIN.saturating_mul(1u32 << failures.saturating_sub(1).min(16));
    doubled.min(RETRY_MAX).max(retry_after.unwrap_or_default())
}

/// The expiry a 200 granted to `contact_uri` (RFC 3261 §10.2.4): the `expires` parameter of the
/// Contact naming our URI, else the Expires header, else `requested`.
pub fn granted_expiry(headers: &Headers, contact_uri: &str, requested: u32) -> u32 {
    let from_contact = header_values(headers, "Contact")
        .into_iter()
        .flat_map(split_list)
        .filter(|c| uri_of(c).eq_ignore_ascii_case(contact_uri))
        .find_map(|c| header_param(c, "expires")?.parse().ok());
    from_contact
        .or_else(|| {
            header_values(headers, "Expires")
                .first()?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(requested)
}

/// A seconds-valued header (Retry-After, Min-Expires), ignoring any comment or parameters.
pub fn seconds_header(headers: &Headers, name: &str) -> Option<u32> {
    let value = header_values(headers, name).into_iter().next()?;
    value
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// Splits a header value on the commas that separate list elements (not those inside `<…>` or
/// quotes).
fn split_list(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut start) = (0i32, false, 0);
    for (i, c) in value.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '<' if !quoted => depth += 1,
            '>' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                out.push(value[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(value[start..].trim());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Headers;

    fn headers(list: &[(&str, &str)]) -> Headers {
        let mut h = Headers::default();
        for (n, v) in list {
            h.push(rsipstack::sip::headers::make_header(n, v.to_string()));
        }
        h
    }

    #[test]
    fn refresh_is_half_for_short_bindings_and_two_minutes_early_for_long_ones() {
        let s = Duration::from_secs;
        assert_eq!(refresh_after(s(3600)), s(3480));
        assert_eq!(refresh_after(s(240)), s(120));
        assert_eq!(refresh_after(s(60)), s(30));
        assert_eq!(refresh_after(s(0)), s(0));
    }

    #[test]
    fn backoff_doubles_to_the_cap_and_honours_retry_after() {
        let s = Duration::from_secs;
        let seq: Vec<_> = (1..=8).map(|n| backoff(n, None)).collect();
        assert_eq!(
            seq,
            [s(5), s(10), s(20), s(40), s(80), s(160), s(300), s(300)]
        );
        assert_eq!(backoff(1, Some(s(60))), s(60));
        assert_eq!(backoff(100, None), s(300));
    }

    #[test]
    fn granted_expiry_prefers_our_contact_then_expires_then_the_request() {
        let ours = "sip:trunk@10.0.0.1:5060";
        let h = headers(&[
            (
                "Contact",
                "<sip:other@x>;expires=10, <sip:trunk@10.0.0.1:5060>;expires=600",
            ),
            ("Expires", "900"),
        ]);
        assert_eq!(granted_expiry(&h, ours, 3600), 600);
        let h = headers(&[("Contact", "<sip:other@x>;expires=10"), ("Expires", "900")]);
        assert_eq!(granted_expiry(&h, ours, 3600), 900);
        assert_eq!(granted_expiry(&headers(&[]), ours, 3600), 3600);
    }

    #[test]
    fn seconds_headers_ignore_comments() {
        let h = headers(&[("Retry-After", "30 (maintenance);duration=60")]);
        assert_eq!(seconds_header(&h, "Retry-After"), Some(30));
        assert_eq!(seconds_header(&h, "Min-Expires"), None);
    }
}
