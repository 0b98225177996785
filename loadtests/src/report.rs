//! The outcome of a finished SIPp run: exit code and the final cumulative statistics.
//!
//! The figures come from the last row of SIPp's `-trace_stat` CSV (see `stats`), which
//! SIPp writes when it quits; the raw row is kept so later tools (the load runner) can
//! read any other column without changing this type.

use std::time::Duration;

use crate::rtt::ResponseTimeSample;
use crate::stats::StatRow;

/// What a SIPp run did, read from its final statistics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SippReport {
    /// SIPp's exit code: 0 all calls successful, 1 at least one call failed, 97 stopped by
    /// an internal command, 99 normal exit without calls processed, 255 (-1) fatal error,
    /// 254 (-2) fatal error binding a socket. A child ended by a signal gets 128 + signal.
    pub exit_code: i32,
    /// Calls created in total (`TotalCallCreated`; incoming and outgoing).
    pub created: u64,
    /// Calls that reached the end of the scenario (`SuccessfulCall(C)`).
    pub successful: u64,
    /// Calls that failed for any reason (`FailedCall(C)`).
    pub failed: u64,
    /// Calls still open when the statistics were written (`CurrentCall`).
    pub current: u64,
    /// UDP retransmissions SIPp sent (`Retransmissions(C)`).
    pub retransmissions: u64,
    /// Calls failed because a request was never answered (`FailedMaxUDPRetrans(C)`).
    pub failed_max_udp_retrans: u64,
    /// Calls failed on a message the scenario did not expect (`FailedUnexpectedMessage(C)`).
    pub failed_unexpected_message: u64,
    /// Calls failed on a `recv` timeout (`FailedTimeoutOnRecv(C)`).
    pub failed_timeout_on_recv: u64,
    /// Messages received for calls that had already ended (`DeadCallMsgs(C)`).
    pub dead_call_msgs: u64,
    /// Messages that matched no call (`OutOfCallMsgs(C)`).
    pub out_of_call_msgs: u64,
    /// Mean of the scenario's first response-time measure (`ResponseTime1(C)`, ms
    /// resolution); `None` when the scenario measures none (no `rtd` attribute).
    pub mean_response_time: Option<Duration>,
    /// Mean call length (`CallLength(C)`).
    pub mean_call_length: Duration,
    /// Wall-clock time from spawning SIPp until it had exited.
    pub elapsed: Duration,
    /// The last lines SIPp wrote to stderr (at most a few KiB).
    pub stderr_tail: String,
    /// The whole final statistics row, as (column name, raw value) pairs in SIPp's order.
    pub columns: Vec<(String, String)>,
    /// Every response time SIPp measured, in time order; empty unless the run asked for them
    /// with [`SippRun::trace_rtt`](crate::SippRun::trace_rtt).
    pub response_times: Vec<ResponseTimeSample>,
}

impl SippReport {
    /// Builds a report from the last statistics row.
    pub(crate) fn from_row(
        row: StatRow,
        exit_code: i32,
        elapsed: Duration,
        stderr_tail: String,
    ) -> Result<Self, String> {
        Ok(SippReport {
            exit_code,
            created: row.counter("TotalCallCreated")?,
            successful: row.counter("SuccessfulCall(C)")?,
            failed: row.counter("FailedCall(C)")?,
            current: row.counter("CurrentCall")?,
            retransmissions: row.counter("Retransmissions(C)")?,
            failed_max_udp_retrans: row.counter("FailedMaxUDPRetrans(C)")?,
            failed_unexpected_message: row.counter("FailedUnexpectedMessage(C)")?,
            failed_timeout_on_recv: row.counter("FailedTimeoutOnRecv(C)")?,
            dead_call_msgs: row.counter("DeadCallMsgs(C)")?,
            out_of_call_msgs: row.counter("OutOfCallMsgs(C)")?,
            mean_response_time: match row.get("ResponseTime1(C)") {
                Some(_) => Some(row.duration("ResponseTime1(C)")?),
                None => None,
            },
            mean_call_length: row.duration("CallLength(C)")?,
            elapsed,
            stderr_tail,
            columns: row.columns,
            response_times: Vec::new(),
        })
    }

    /// The raw value of any column of the final statistics row (e.g. `"CallRate(C)"`).
    pub fn column(&self, name: &str) -> Option<&str> {
        self.columns
            .iter()
            .find(|(column, _)| column == name)
            .map(|(_, value)| value.as_str())
    }

    /// True when SIPp exited with 0, exactly `calls` calls succeeded and none failed.
    pub fn all_successful(&self, calls: u64) -> bool {
        self.exit_code == 0 && self.successful == calls && self.failed == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{parse_stat_csv, tests::SAMPLE};

    fn sample_report(exit_code: i32) -> SippReport {
        let row = parse_stat_csv(SAMPLE)
            .expect("parses")
            .expect("has a data row");
        SippReport::from_row(row, exit_code, Duration::from_secs(1), String::new())
            .expect("all columns present")
    }

    #[test]
    fn figures_come_from_the_named_columns() {
        let report = sample_report(0);
        assert_eq!(report.created, 3);
        assert_eq!(report.successful, 3);
        assert_eq!(report.failed, 0);
        assert_eq!(report.current, 0);
        assert_eq!(report.retransmissions, 0);
        assert_eq!(report.mean_call_length, Duration::from_millis(205));
        assert_eq!(report.mean_response_time, Some(Duration::ZERO));
        assert_eq!(report.column("OutgoingCall(C)"), Some("3"));
        assert_eq!(report.column("NoSuchColumn"), None);
        assert!(report.all_successful(3));
        assert!(!report.all_successful(4));
    }

    #[test]
    fn a_failing_exit_code_is_not_all_successful() {
        assert!(!sample_report(1).all_successful(3));
    }

    #[test]
    fn scenarios_without_rtd_have_no_response_time() {
        let row = parse_stat_csv(SAMPLE)
            .expect("parses")
            .expect("has a data row");
        let columns = row
            .columns
            .into_iter()
            .filter(|(name, _)| !name.starts_with("ResponseTime"))
            .collect();
        let report = SippReport::from_row(StatRow { columns }, 0, Duration::ZERO, String::new())
            .expect("response time is optional");
        assert_eq!(report.mean_response_time, None);
        assert_eq!(report.successful, 3);
    }

    #[test]
    fn a_missing_column_is_an_error() {
        let row = StatRow {
            columns: vec![("TotalCallCreated".into(), "1".into())],
        };
        let err = SippReport::from_row(row, 0, Duration::ZERO, String::new())
            .expect_err("columns missing");
        assert!(err.contains("SuccessfulCall(C)"), "{err}");
    }
}
