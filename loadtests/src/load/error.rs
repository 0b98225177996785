//! The one error type of the load runner.

use crate::SippError;

/// Why a load run (or one of its phases) could not be carried out.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// SIPp could not be run or did not report.
    #[error(transparent)]
    Sipp(#[from] SippError),
    /// An I/O error, with what was being done.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The switch did not start, died, or is not the switch the runner expected.
    #[error("switch: {message}\n--- last lines of its log ---\n{log_tail}")]
    Switch {
        /// What went wrong.
        message: String,
        /// The end of the switch's log.
        log_tail: String,
    },
    /// The admin API refused a provisioning request.
    #[error("admin API {request} answered {status}: {body}")]
    Admin {
        /// Method and path.
        request: String,
        /// HTTP status.
        status: u16,
        /// Response body.
        body: String,
    },
    /// A probe call failed (no answer, a refusal, a malformed response).
    #[error("probe call: {0}")]
    Probe(String),
    /// The run was configured in a way that cannot work.
    #[error("invalid load run: {0}")]
    Invalid(String),
    /// SIGINT or SIGTERM arrived; everything started was stopped.
    #[error("interrupted")]
    Interrupted,
}

impl LoadError {
    /// Wraps an I/O error with a description of what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        LoadError::Io {
            context: context.into(),
            source,
        }
    }
}
