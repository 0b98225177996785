//! The switch: start-up and wiring of the SIP transport, the router, the call actor tree, storage
//! and the admin API. The `switch` binary (`main.rs`) is a thin CLI over [`app::run`].

pub mod app;
pub mod billing;
pub mod demo;
pub mod events;
pub mod inbound;
pub mod live;
pub mod metrics;
pub mod records;
pub mod router;
pub mod speech;
pub mod stt_engine;
pub mod transport;
pub mod trunks;
pub mod voices;
