//! SIP messages: parsing, the few keys every layer needs, and building responses and requests.
//!
//! The message types are those of the rsip-derived codec maintained inside `rsipstack` (compact
//! header forms, header folding and case-insensitive names, which `rsip` 0.4 lacks). The framing
//! (lines, folding, blank line, body) is read by `parse` and written by `wire` here, faster than
//! the codec's and more tolerant (bare LF, non-UTF-8 header bytes); URIs and header values stay
//! the codec's. This module is the one place that knows it: the rest of the crate works with
//! [`Request`], [`Response`] and [`MessageKeys`].

mod build;
mod header_name;
mod ids;
mod keys;
mod parse;
mod requests;
mod require;
mod wire;

pub use build::{ResponseBuilder, header_values, set_header};
pub use ids::{new_branch, new_tag};
pub use keys::{CSeqValue, MessageKeys, header_param, uri_of};
pub(crate) use parse::parse_unknown_method;
pub use parse::{ParseError, parse_message};
pub use requests::{ack_for_non_2xx, cancel_for};
pub(crate) use require::has_token;
pub use require::{header_tokens, unsupported_require};
pub use rsipstack::sip::{Header, Headers, Method, Request, Response, SipMessage, StatusCode};
pub use wire::{request_bytes, response_bytes};
