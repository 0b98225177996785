//! Media for the switch: RTP packets (read and built with `rtp-rs`), G.711 µ-law/A-law, the paced
//! 20 ms playout schedule, the RTP port pool and per-call media counters. Cores are sans-IO.
//!
//! Never depends on: `sip`, `actors`, `switch`, tokio.
