//! The operator and tenant HTTP API (axum): probes, and (as it grows) tenants, numbers, agents,
//! wallets, call records and live calls.
//!
//! Never depends on: `sip`, `rtp` or any socket of the call path.
