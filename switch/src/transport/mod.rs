//! The SIP transport: one driver task owns the UDP socket and the sans-IO
//! [`sip::endpoint::Endpoint`], and receives the messages TCP connection tasks frame. It feeds
//! datagrams, messages, commands and timeouts to the endpoint, sends what it transmits over the
//! peer's transport, and routes its events: to live calls by Call-ID, new INVITEs to the router.

mod dispatch;
mod driver;
mod tcp;

pub use dispatch::Dispatcher;
pub use driver::run;
pub use tcp::{Inbound, TcpConfig, TcpTransport};
