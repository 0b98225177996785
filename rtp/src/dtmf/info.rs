//! SIP INFO DTMF: the `application/dtmf-relay` body (a de-facto format from Cisco, used by
//! most trunks), e.g. `Signal=1\r\nDuration=160\r\n`.
//!
//! Keys are matched case-insensitively, lines may end in CRLF or LF, spaces around `=` are
//! allowed, and unknown lines are ignored. `Signal` is a digit, `*`, `#` or `A`–`D`; some
//! senders write `10` and `11` for `*` and `#` (the RFC 4733 codes), which are accepted too.

use super::{digit_to_event, event_to_digit};

/// Duration assumed when the body has no `Duration` line, in milliseconds.
const DEFAULT_DURATION_MS: u32 = 250;

/// Reads an `application/dtmf-relay` body: the digit and its duration in milliseconds.
///
/// Returns `None` without a usable `Signal` line, or with a `Duration` that is not a number.
/// A missing `Duration` gives 250 ms.
pub fn parse_dtmf_relay(body: &str) -> Option<(char, u32)> {
    let mut digit = None;
    let mut duration = None;
    for line in body.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if key.eq_ignore_ascii_case("signal") {
            digit = Some(parse_signal(value)?);
        } else if key.eq_ignore_ascii_case("duration") {
            duration = Some(value.parse::<u32>().ok()?);
        }
    }
    Some((digit?, duration.unwrap_or(DEFAULT_DURATION_MS)))
}

fn parse_signal(value: &str) -> Option<char> {
    let mut chars = value.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => digit_to_event(c).and_then(event_to_digit),
        _ => value.parse::<u8>().ok().and_then(event_to_digit),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cisco_style_bodies() {
        assert_eq!(
            parse_dtmf_relay("Signal=1\r\nDuration=160\r\n"),
            Some(('1', 160))
        );
        assert_eq!(
            parse_dtmf_relay("Signal=1\r\nDuration=160"),
            Some(('1', 160))
        );
        assert_eq!(
            parse_dtmf_relay("signal = #\nduration = 250\n"),
            Some(('#', 250))
        );
        assert_eq!(parse_dtmf_relay("Signal=*\r\n"), Some(('*', 250)));
        assert_eq!(parse_dtmf_relay("Signal=a\r\nDuration=80"), Some(('A', 80)));
        assert_eq!(
            parse_dtmf_relay("Signal=10\r\nDuration=100"),
            Some(('*', 100))
        );
        assert_eq!(
            parse_dtmf_relay("Signal=11\r\nDuration=100"),
            Some(('#', 100))
        );
        assert_eq!(
            parse_dtmf_relay("Duration=120\r\nX-Other=1\r\nSignal=9\r\n"),
            Some(('9', 120))
        );
    }

    #[test]
    fn unusable_bodies() {
        assert_eq!(parse_dtmf_relay(""), None);
        assert_eq!(parse_dtmf_relay("Duration=160"), None);
        assert_eq!(parse_dtmf_relay("Signal=\r\nDuration=160"), None);
        assert_eq!(parse_dtmf_relay("Signal=X\r\nDuration=160"), None);
        assert_eq!(parse_dtmf_relay("Signal=16\r\nDuration=160"), None);
        assert_eq!(parse_dtmf_relay("Signal=1\r\nDuration=-5"), None);
        assert_eq!(parse_dtmf_relay("Signal=1\r\nDuration=lots"), None);
        assert_eq!(parse_dtmf_relay("Signal 1"), None);
    }
}
