//! Parser for the per-call response times SIPp 3.6 writes with `-trace_rtt`.
//!
//! The file is `<scenario>_<pid>_rtt.csv` in SIPp's working directory: a header
//! `Date_ms;response_time_ms;rtd_no`, then one line per measured response (`rtd="true"` in the
//! scenario): when it was measured (ms since SIPp started, with a fractional part) and the
//! response time in whole milliseconds (SIPp's resolution). SIPp 3.6.1 appends a batch every
//! `-rtt_freq` samples and drops a partial batch when it quits, so runs use `-rtt_freq 1`.

use std::path::Path;
use std::time::Duration;

/// One response time measured by SIPp (`-trace_rtt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseTimeSample {
    /// When the response arrived, since SIPp started (microsecond precision).
    pub at: Duration,
    /// The response time (for `uac_basic.xml`: INVITE sent to 200 OK received), in SIPp's
    /// whole-millisecond resolution.
    pub response: Duration,
    /// Which `rtd` measure of the scenario this is (1 for the first).
    pub rtd: u32,
}

/// Parses the text of one `-trace_rtt` file. Lines that are not samples are errors.
pub(crate) fn parse_rtt_csv(text: &str) -> Result<Vec<ResponseTimeSample>, String> {
    let mut samples = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || (index == 0 && line.starts_with("Date_ms")) {
            continue;
        }
        let fields: Vec<&str> = line.trim_end_matches(';').split(';').collect();
        let [at, response, rtd] = fields.as_slice() else {
            return Err(format!("line {}: expected 3 fields: {line:?}", index + 1));
        };
        let at: f64 = at
            .parse()
            .map_err(|_| format!("line {}: bad date {at:?}", index + 1))?;
        let response: f64 = response
            .parse()
            .map_err(|_| format!("line {}: bad response time {response:?}", index + 1))?;
        let rtd: u32 = rtd
            .parse()
            .map_err(|_| format!("line {}: bad rtd number {rtd:?}", index + 1))?;
        if !(at.is_finite() && at >= 0.0 && response.is_finite() && response >= 0.0) {
            return Err(format!("line {}: negative or infinite value", index + 1));
        }
        samples.push(ResponseTimeSample {
            at: Duration::from_secs_f64(at / 1000.0),
            response: Duration::from_secs_f64(response / 1000.0),
            rtd,
        });
    }
    Ok(samples)
}

/// Reads every `*_rtt.csv` file in `dir` (SIPp's working directory). A missing or unreadable
/// directory gives no samples; a file that is not a SIPp rtt file is an error.
pub(crate) fn read_rtt_dir(dir: &Path) -> Result<Vec<ResponseTimeSample>, String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut samples = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let is_rtt = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with("_rtt.csv"));
        if !is_rtt {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        samples.extend(parse_rtt_csv(&text).map_err(|e| format!("{}: {e}", path.display()))?);
    }
    samples.sort_by_key(|s| s.at);
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written by SIPp 3.6.1 (`uac_basic.xml -trace_rtt` against `-sn uas`).
    const SAMPLE: &str = "Date_ms;response_time_ms;rtd_no\n52.001;0;1\n104.001;3;1\n1004;12;1\n";

    #[test]
    fn samples_keep_date_and_response_time() {
        let samples = parse_rtt_csv(SAMPLE).expect("parses");
        assert_eq!(samples.len(), 3);
        assert_eq!(samples[0].at, Duration::from_micros(52_001));
        assert_eq!(samples[1].response, Duration::from_millis(3));
        assert_eq!(samples[2].at, Duration::from_millis(1004));
        assert_eq!(samples[2].response, Duration::from_millis(12));
        assert!(samples.iter().all(|s| s.rtd == 1));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(parse_rtt_csv("Date_ms;response_time_ms;rtd_no\n1;2\n").is_err());
        assert!(parse_rtt_csv("x;y;z\n").is_err());
        assert!(parse_rtt_csv("1;-2;1\n").is_err());
        assert_eq!(
            parse_rtt_csv("Date_ms;response_time_ms;rtd_no\n"),
            Ok(vec![])
        );
    }

    #[test]
    fn a_directory_is_read_in_time_order() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("b_2_rtt.csv"), "Date_ms;x;y\n20;1;1\n").expect("write");
        std::fs::write(dir.path().join("a_1_rtt.csv"), "Date_ms;x;y\n10;2;1\n").expect("write");
        std::fs::write(dir.path().join("stats.csv"), "not rtt").expect("write");
        let samples = read_rtt_dir(dir.path()).expect("reads");
        let at: Vec<_> = samples.iter().map(|s| s.at.as_millis()).collect();
        assert_eq!(at, [10, 20]);
        assert!(
            read_rtt_dir(&dir.path().join("missing"))
                .expect("empty")
                .is_empty()
        );
    }
}
