//! SIP digest authentication (RFC 3261 §22 over RFC 7616, with SHA-256 per RFC 8760), sans-IO.
//!
//! Both halves are pure functions of their inputs: the client side ([`authorize`]) turns a
//! 401/407 challenge into the `Authorization`/`Proxy-Authorization` header to add to the retried
//! request; the server side ([`DigestVerifier`]) issues challenges whose nonces are stateless
//! (a timestamp sealed with an HMAC, so no per-nonce table grows with traffic) and verifies the
//! credentials of a request. Only `qop=auth` is supported (and the legacy no-qop form on the
//! client side); `auth-int` is refused because no SIP peer we meet requires it.

mod client;
mod digest;
mod error;
mod params;
mod server;

pub use client::{Credentials, authorize};
pub use digest::Algorithm;
pub use error::{AuthError, AuthFailure};
pub use params::DigestParams;
pub use server::DigestVerifier;
