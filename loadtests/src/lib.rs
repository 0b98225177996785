//! SIPp scenarios and a bounded SIPp runner used by the integration tests and the load runner.
//! Every run targets loopback only and stops by itself.
//!
//! Never depends on: the switch's own crates (it talks to the switch only over the wire).
