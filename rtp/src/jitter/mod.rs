//! The adaptive jitter buffer: received RTP in, one continuous 20 ms frame of PCM out per tick.
//!
//! [`JitterBuffer`] is sans-IO. The driver calls [`JitterBuffer::push`] for every G.711 packet
//! of the call's audio payload type and [`JitterBuffer::pop_frame`] every 20 ms on its own
//! schedule, passing the current `Instant` to both; nothing here reads a clock.
//!
//! # Why the buffer holds decoded PCM
//!
//! Packets are decoded on arrival into a preallocated ring of `i16` samples indexed by RTP
//! timestamp, not kept as payload bytes. Three things follow:
//! - packets of 10, 20, 30 or 60 ms all land in the same sample ring, and each pop reads exactly
//!   160 samples (20 ms) however the sender packetised them;
//! - loss concealment ([`Plc`], in `plc.rs`) works on the PCM history it needs, inside the
//!   buffer, so the consumer (speech-to-text, recording) always gets continuous audio;
//! - the per-packet path is one table decode into the ring and a few bit operations: no
//!   allocation, no copy beyond the decode.
//!
//! # Pieces
//!
//! | file | job |
//! |---|---|
//! | `config.rs` | [`JitterConfig`]: codec law and the depth bounds (default 20–200 ms) |
//! | `output.rs` | [`Frame`] handed to the driver and the [`JitterStats`] counters |
//! | `buffer.rs` | [`JitterBuffer`]: classification of packets, playout, growth and shrinkage |
//! | `ring.rs` | the sample ring with its presence bitmap |
//! | `held.rs` | the one packet kept aside after a timestamp jump until the next confirms it |
//! | `seq.rs` | the window of recent sequence numbers that spots duplicates and reordering |
//! | `adapt.rs` | RFC 3550 jitter, the fastest-path transit and the target depth |
//! | `plc.rs` | [`Plc`], pitch-repetition loss concealment after ITU-T G.711 Appendix I |

mod adapt;
mod buffer;
mod config;
mod held;
mod output;
mod plc;
mod ring;
mod seq;

pub use buffer::JitterBuffer;
pub use config::JitterConfig;
pub use output::{Frame, JitterStats};
pub use plc::Plc;
