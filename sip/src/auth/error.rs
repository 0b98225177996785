//! Errors of the digest client and outcomes of digest verification.

/// Why a challenge could not be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The response is not a 401 or 407.
    #[error("status {0} is not an authentication challenge")]
    NotAChallenge(u16),
    /// The 401/407 carries no Digest challenge header.
    #[error("no Digest challenge in the response")]
    NoChallenge,
    /// Every Digest challenge names an algorithm or qop we do not implement.
    #[error("no supported Digest challenge (algorithm or qop)")]
    Unsupported,
    /// A Digest challenge lacks its realm or nonce.
    #[error("malformed Digest challenge: {0}")]
    Malformed(&'static str),
}

/// Why a request's credentials were not accepted (the caller picks the answer: challenge again
/// on [`AuthFailure::Missing`] and [`AuthFailure::Stale`], 403 or a new challenge otherwise).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthFailure {
    /// No Digest credentials for our realm: send a challenge.
    #[error("no credentials for this realm")]
    Missing,
    /// The nonce is ours and intact but has expired: challenge again with `stale=true`.
    #[error("nonce expired")]
    Stale,
    /// Credentials are malformed, name another algorithm or qop, or carry a nonce we did not issue.
    #[error("malformed credentials: {0}")]
    Malformed(&'static str),
    /// The user is unknown.
    #[error("unknown user {0}")]
    UnknownUser(String),
    /// The response hash does not match the password.
    #[error("wrong credentials for user {0}")]
    WrongResponse(String),
}
