//! The SIP transport driver: the one task that owns the SIP socket and the sans-IO
//! [`sip::endpoint::Endpoint`]. It feeds datagrams, commands and timeouts to the endpoint, sends
//! what it transmits, and routes its events: to live calls by Call-ID, new INVITEs to the router.

mod dispatch;
mod udp;

pub use dispatch::Dispatcher;
pub use udp::run_udp;
