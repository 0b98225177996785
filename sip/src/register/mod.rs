//! Registering with a carrier (RFC 3261 §10.2), sans-IO: one [`Registration`] per trunk keeps a
//! binding of our Contact alive at the carrier's registrar.
//!
//! The core builds each REGISTER (stable Call-ID and From tag, CSeq incrementing, RFC 3261
//! §10.2.4), answers a 401/407 with [`crate::auth::authorize`] once per nonce, reads the granted
//! expiry from the 200, and schedules the refresh and the retries. The driver sends what
//! [`Registration::poll_request`] returns on a client transaction, feeds back the responses
//! ([`Registration::handle_response`]) and transaction timeouts
//! ([`Registration::handle_transaction_timeout`]), and sleeps until
//! [`Registration::poll_timeout`].
//!
//! Timing rules ([`timing`]):
//! - refresh `max(granted / 2, granted − 120 s)` after the 200: late enough not to churn, early
//!   enough that a refresh lost to a whole transaction timeout (32 s over UDP) still has two
//!   retries before the binding lapses;
//! - after a failure (error response, transaction timeout, no answer within
//!   [`RegistrationConfig::response_timeout`]), retry after 5 s, doubling to at most 5 min, and
//!   at least the registrar's Retry-After; a success resets the backoff;
//! - 423 Interval Too Brief: retry at once asking for the Min-Expires the registrar named;
//! - [`Registration::unregister`] sends `Expires: 0` once (challenge answered) and ends.

mod client;
pub mod timing;

pub use client::{Registration, RegistrationConfig, RegistrationError, RegistrationState};

#[cfg(test)]
mod tests;
