//! The one error type of the SIPp runner.
//!
//! Every variant carries what the caller needs next: the install command when SIPp is
//! missing, the refused address, the partial statistics of a run that timed out, or the
//! tail of SIPp's stderr when it died before writing any statistics.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::report::SippReport;

/// Why a SIPp run could not be started or did not produce a report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SippError {
    /// The SIPp binary could not be found.
    #[error(
        "SIPp is not installed (`{program}` was not found); install it with `apt-get install sip-tester`"
    )]
    NotInstalled {
        /// The program that was looked up (`sipp` on `PATH` unless overridden).
        program: PathBuf,
    },
    /// The target is not a loopback address; nothing was spawned.
    #[error("refusing to send SIP to {0}: only loopback targets (127.0.0.0/8, ::1) are allowed")]
    NotLoopback(SocketAddr),
    /// The local (listening) address is not a loopback address; nothing was spawned.
    #[error("refusing to bind SIPp to {0}: only loopback addresses are allowed")]
    NotLoopbackLocal(IpAddr),
    /// The run was configured in a way that would not be bounded or makes no sense.
    #[error("invalid SIPp run: {0}")]
    Invalid(String),
    /// The scenario file does not exist.
    #[error("SIPp scenario file {0} does not exist")]
    ScenarioNotFound(PathBuf),
    /// SIPp did not finish within its time budget. It was stopped (by its own `-timeout`
    /// or, failing that, killed).
    #[error("SIPp did not finish within {after:?}")]
    TimedOut {
        /// Wall-clock time from spawn until SIPp was gone.
        after: Duration,
        /// The statistics SIPp had written by then, if any.
        partial: Option<Box<SippReport>>,
    },
    /// SIPp stopped on a fatal error (bad scenario, port in use, ...) or exited without
    /// writing any statistics.
    #[error("SIPp failed with exit code {exit_code}; stderr: {stderr_tail}")]
    Fatal {
        /// SIPp's exit code (255 is SIPp's -1 "fatal error", 254 its -2 "cannot bind").
        exit_code: i32,
        /// The last lines SIPp wrote to stderr.
        stderr_tail: String,
    },
    /// An I/O error while preparing, running or reading back a run.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// SIPp's statistics output could not be understood.
    #[error("cannot parse SIPp statistics: {0}")]
    Unparsable(String),
}

impl SippError {
    /// Wraps an I/O error with a description of what was being done.
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        SippError::Io {
            context: context.into(),
            source,
        }
    }
}
