//! Parser for the statistics CSV that SIPp 3.6 writes with `-trace_stat -stf <file>`.
//!
//! The file has one header line naming the columns, then one line per dump (every `-fd`
//! period, plus one when SIPp quits). Fields are separated by `;` and every line ends with a
//! trailing `;`. Timestamps contain tabs but never `;`. Columns ending in `(C)` are cumulative
//! since the start, so the last line is the final result of the run. Durations are written
//! as `HH:MM:SS:uuuuuu` (microseconds) or `HH:MM:SS`.

use std::time::Duration;

/// The last data row of a statistics file, as (column name, value) pairs in file order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct StatRow {
    pub(crate) columns: Vec<(String, String)>,
}

impl StatRow {
    /// The raw value of a column, if the column exists.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.columns
            .iter()
            .find(|(column, _)| column == name)
            .map(|(_, value)| value.as_str())
    }

    /// A counter column. A missing column is an error (SIPp always writes them all).
    pub(crate) fn counter(&self, name: &str) -> Result<u64, String> {
        let raw = self
            .get(name)
            .ok_or_else(|| format!("column {name} is missing"))?;
        raw.trim()
            .parse()
            .map_err(|_| format!("column {name} is not a counter: {raw:?}"))
    }

    /// A duration column (`HH:MM:SS:uuuuuu` or `HH:MM:SS`).
    pub(crate) fn duration(&self, name: &str) -> Result<Duration, String> {
        let raw = self
            .get(name)
            .ok_or_else(|| format!("column {name} is missing"))?;
        parse_sipp_duration(raw).ok_or_else(|| format!("column {name} is not a duration: {raw:?}"))
    }
}

/// Parses a whole statistics file and returns its last data row.
///
/// Returns `Ok(None)` when the file holds a header but no data row yet (SIPp was stopped
/// before its first dump), and an error when the text is not a SIPp statistics file.
pub(crate) fn parse_stat_csv(text: &str) -> Result<Option<StatRow>, String> {
    let mut lines = text.lines().filter(|line| !line.trim().is_empty());
    let header = lines
        .next()
        .ok_or_else(|| "the statistics file is empty".to_string())?;
    let names = split_fields(header);
    if !names.contains(&"TotalCallCreated") {
        return Err(format!(
            "the header has no TotalCallCreated column: {}",
            truncate(header, 120)
        ));
    }
    let Some(last) = lines.next_back() else {
        return Ok(None);
    };
    let values = split_fields(last);
    if values.len() != names.len() {
        return Err(format!(
            "the last row has {} fields but the header names {}",
            values.len(),
            names.len()
        ));
    }
    let columns = names
        .into_iter()
        .zip(values)
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    Ok(Some(StatRow { columns }))
}

/// Splits one line at `;`, dropping the empty field after the trailing separator.
fn split_fields(line: &str) -> Vec<&str> {
    let line = line.trim_end_matches(['\r', '\n']);
    let line = line.strip_suffix(';').unwrap_or(line);
    line.split(';').collect()
}

/// Parses SIPp's `HH:MM:SS:uuuuuu` or `HH:MM:SS` duration format.
pub(crate) fn parse_sipp_duration(raw: &str) -> Option<Duration> {
    let parts: Vec<&str> = raw.trim().split(':').collect();
    let number = |s: &str| -> Option<u64> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let (h, m, s, micros) = match parts.as_slice() {
        [h, m, s] => (number(h)?, number(m)?, number(s)?, 0),
        [h, m, s, us] => (number(h)?, number(m)?, number(s)?, number(us)?),
        _ => return None,
    };
    if m >= 60 || s >= 60 || micros >= 1_000_000 {
        return None;
    }
    let secs = h.checked_mul(3600)?.checked_add(m * 60 + s)?;
    Some(Duration::from_secs(secs) + Duration::from_micros(micros))
}

fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A statistics file written by SIPp 3.6.1 (`-sn uac -m 3 -d 200` against `-sn uas`).
    pub(crate) const SAMPLE: &str = include_str!("../tests/data/uac_stat_3_calls.csv");

    #[test]
    fn last_row_of_a_real_file_is_the_final_result() {
        let row = parse_stat_csv(SAMPLE)
            .expect("parses")
            .expect("has data rows");
        assert_eq!(row.counter("TotalCallCreated"), Ok(3));
        assert_eq!(row.counter("SuccessfulCall(C)"), Ok(3));
        assert_eq!(row.counter("FailedCall(C)"), Ok(0));
        assert_eq!(row.counter("Retransmissions(C)"), Ok(0));
        assert_eq!(row.counter("OutgoingCall(C)"), Ok(3));
        assert_eq!(
            row.duration("CallLength(C)"),
            Ok(Duration::from_millis(205))
        );
        assert!(row.get("StartTime").is_some_and(|v| v.contains('\t')));
    }

    #[test]
    fn header_only_file_has_no_row() {
        let header = SAMPLE.lines().next().expect("sample has a header");
        assert_eq!(parse_stat_csv(header), Ok(None));
    }

    #[test]
    fn foreign_files_are_rejected() {
        assert!(parse_stat_csv("").is_err());
        assert!(parse_stat_csv("a;b;c;\n1;2;3;\n").is_err());
    }

    #[test]
    fn a_truncated_row_is_rejected() {
        let mut lines = SAMPLE.lines();
        let header = lines.next().expect("header");
        let text = format!("{header}\n2026-11-21;1;2;\n");
        let err = parse_stat_csv(&text).expect_err("field count differs");
        assert!(err.contains("fields"), "{err}");
    }

    #[test]
    fn non_numeric_counters_are_errors_not_panics() {
        let row = StatRow {
            columns: vec![("FailedCall(C)".into(), "x".into())],
        };
        assert!(row.counter("FailedCall(C)").is_err());
        assert!(row.counter("SuccessfulCall(C)").is_err());
    }

    #[test]
    fn durations_in_both_formats() {
        assert_eq!(
            parse_sipp_duration("00:00:00:205000"),
            Some(Duration::from_millis(205))
        );
        assert_eq!(
            parse_sipp_duration("01:02:03"),
            Some(Duration::from_secs(3723))
        );
        assert_eq!(parse_sipp_duration("00:61:00"), None);
        assert_eq!(parse_sipp_duration("00:00:-1"), None);
        assert_eq!(parse_sipp_duration(""), None);
        assert_eq!(parse_sipp_duration("1:2"), None);
    }
}
