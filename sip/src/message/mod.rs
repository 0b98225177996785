//! SIP messages: parsing, the few keys every layer needs, and building responses and requests.
//!
//! The wire codec is the rsip-derived one maintained inside `rsipstack` (it reads compact header forms,
//! header folding and case-insensitive names, which `rsip` 0.4 does not). This module is the one place
//! that knows it: the rest of the crate works with [`Request`], [`Response`] and [`MessageKeys`].

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
