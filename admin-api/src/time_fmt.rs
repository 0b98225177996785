//! Times in the API: stored as unix milliseconds, shown as RFC 3339 UTC with milliseconds
//! (`2026-11-02T09:30:00.125Z`), and accepted in filters as either form.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use crate::error::ApiError;

/// Unix milliseconds as RFC 3339 UTC with three fractional digits. Out-of-range values (beyond
/// year 9999) fall back to the number itself.
pub(crate) fn rfc3339(ms: i64) -> String {
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| ms.to_string())
}

/// [`rfc3339`] of an optional time.
pub(crate) fn rfc3339_opt(ms: Option<i64>) -> Option<String> {
    ms.map(rfc3339)
}

/// Parses a time filter: unix milliseconds (`1762075800125`) or RFC 3339
/// (`2026-11-02T09:30:00Z`, offsets allowed; a `+` turned into a space by form decoding is
/// taken back). `field` names the parameter in the error.
pub(crate) fn parse_time(field: &str, text: &str) -> Result<i64, ApiError> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse::<i64>()
            .map_err(|_| ApiError::invalid(field, "unix milliseconds out of range"));
    }
    let parsed = OffsetDateTime::parse(text, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(&text.replace(' ', "+"), &Rfc3339));
    let when = parsed.map_err(|_| {
        ApiError::invalid(
            field,
            format!("{text:?} is neither unix milliseconds nor an RFC 3339 time"),
        )
    })?;
    i64::try_from(when.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| ApiError::invalid(field, "time out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_milliseconds() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_762_075_800_125), "2025-11-02T09:30:00.125Z");
        assert_eq!(rfc3339_opt(None), None);
    }

    #[test]
    fn parses_both_forms() {
        assert_eq!(
            parse_time("from", "1762075800125").ok(),
            Some(1_762_075_800_125)
        );
        assert_eq!(
            parse_time("from", "2025-11-02T09:30:00.125Z").ok(),
            Some(1_762_075_800_125)
        );
        assert_eq!(
            parse_time("from", "2025-11-02T10:30:00 01:00").ok(),
            Some(1_762_075_800_000)
        );
        let err = parse_time("to", "yesterday").expect_err("bad");
        assert_eq!(err.field.as_deref(), Some("to"));
    }
}
