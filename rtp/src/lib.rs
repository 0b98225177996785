//! Media for the switch: RTP packets (read and built with `rtp-rs`), G.711 µ-law/A-law, the paced
//! 20 ms playout schedule, the adaptive jitter buffer with loss concealment, DTMF (RFC 4733,
//! SIP INFO and in-band tones), RTCP reports, the RTP port pool and per-call media counters. Cores are sans-IO.
//!
//! Never depends on: `sip`, `actors`, `switch`, tokio.
//!
//! # What lives where
//!
//! | module | job |
//! |---|---|
//! | [`frame`] | the media clock: 8 kHz, 20 ms frames of 160 samples |
//! | [`G711`] (`g711`) | PCMU/PCMA encode and decode into caller buffers |
//! | [`RtpSender`], [`parse_rtp`] (`packet`) | write RTP into a caller buffer; parse a datagram, routing RTCP away |
//! | [`Pacer`] (`pacing`) | when to send the next outbound frame, without drift or bursts |
//! | [`PortPool`] (`port_pool`) | even RTP ports leased per call, returned on drop |
//! | [`MediaStats`] (`stats`) | per-call counters, loss, jitter, [`MediaSummary`] |
//! | [`quality`] | ITU-T G.107 E-model MOS estimate |
//! | [`JitterBuffer`] (`jitter`) | inbound: reorder, drop duplicates and late packets, adapt the depth, conceal loss ([`Plc`]); continuous 20 ms PCM [`Frame`]s out |
//! | [`DtmfReceiver`], [`DtmfSender`], [`parse_dtmf_relay`], [`InbandDtmfDetector`] (`dtmf`) | RFC 4733 telephone-events in and out, SIP INFO DTMF, DTMF tones in the audio, one [`DtmfEvent`] stream |
//! | [`RtcpSession`] (`rtcp`) | SR/RR every ~5 s with `rtc-rtcp`, the peer's reports, round-trip time |
//!
//! # Sans-IO and the hot path
//!
//! Nothing here opens a socket, spawns a task or reads the clock: the driver (in `switch`)
//! passes datagrams and `Instant`s in and sends what comes out. The per-packet and per-frame
//! calls ([`G711::encode`]/[`G711::decode`], [`RtpSender::write_packet`], [`parse_rtp`],
//! [`Pacer::on_frame_sent`], [`MediaStats::on_packet_in`], [`JitterBuffer::push`],
//! [`JitterBuffer::pop_frame`] and [`InbandDtmfDetector::push_frame`]) write into buffers the caller owns or allocated up front,
//! allocate nothing and take no locks. The only lock is the port pool's, taken at call setup
//! and teardown.
//!
//! A typical outbound tick, with buffers reused across frames:
//!
//! ```
//! use std::time::Instant;
//! use rtp::{FRAME_SAMPLES, G711, MediaStats, Pacer, RtpSender, parse_rtp};
//!
//! let start = Instant::now();
//! let mut pacer = Pacer::new(start);
//! let mut tx = RtpSender::new(0x1234_5678, 1000, 0, G711::Pcmu.payload_type())?;
//! let mut stats = MediaStats::new();
//! let (pcm, mut payload, mut datagram) = ([0i16; FRAME_SAMPLES], [0u8; FRAME_SAMPLES], [0u8; 1500]);
//!
//! let now = pacer.poll_timeout(); // the driver sleeps until then
//! let n = G711::Pcmu.encode(&pcm, &mut payload);
//! let len = tx.write_packet(&payload[..n], true, &mut datagram)?;
//! pacer.on_frame_sent(now);
//! stats.on_packet_out(len);
//!
//! // The far end parses it back:
//! let view = parse_rtp(&datagram[..len])?;
//! assert_eq!((view.seq, view.payload.len()), (1000, 160));
//! # Ok::<(), rtp::RtpError>(())
//! ```
//!
//! The inbound side: route each parsed packet by payload type, and pop one frame per tick.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use rtp::{DtmfReceiver, JitterBuffer, JitterConfig, RtpSender, parse_rtp};
//!
//! let t0 = Instant::now();
//! let mut jb = JitterBuffer::new(t0, JitterConfig::default())?; // PCMU, 20-200 ms
//! let mut dtmf = DtmfReceiver::new();
//! let mut peer = RtpSender::new(0x5EED, 7, 800, 0)?;
//! let mut datagram = [0u8; 200];
//! for k in 0..3u64 {
//!     let len = peer.write_packet(&[0xFF; 160], k == 0, &mut datagram)?;
//!     let now = t0 + Duration::from_millis(20 * k);
//!     let view = parse_rtp(&datagram[..len])?;
//!     match view.payload_type {
//!         101 => dtmf.handle_packet(now, &view)?,
//!         _ => jb.push(now, &view),
//!     }
//! }
//! let frame = jb.pop_frame(t0 + Duration::from_millis(45));
//! assert_eq!(frame.samples().len(), 160); // always a full 20 ms, for speech-to-text
//! assert_eq!(jb.stats().received, 3);
//! # Ok::<(), rtp::RtpError>(())
//! ```
//!
//! # Errors
//!
//! Every fallible call returns [`RtpError`]. Malformed datagrams are errors, never panics;
//! [`RtpError::Rtcp`] marks RTCP multiplexed on the RTP port (RFC 5761) for routing.

mod dtmf;
mod error;
pub mod frame;
mod g711;
mod jitter;
mod pacing;
mod packet;
mod port_pool;
pub mod quality;
mod rtcp;
mod stats;
mod tone_meter;

pub use dtmf::{
    DtmfEvent, DtmfPacket, DtmfReceiver, DtmfSender, DtmfSource, DtmfTones, InbandDtmfDetector,
    InbandStats, digit_to_event, dtmf_frequencies, event_to_digit, parse_dtmf_relay,
};
pub use error::RtpError;
pub use frame::{FRAME_DURATION, FRAME_MS, FRAME_SAMPLES, FRAME_TS_STEP, SAMPLE_RATE_HZ};
pub use g711::G711;
pub use jitter::{Frame, JitterBuffer, JitterConfig, JitterStats, Plc};
pub use pacing::{MAX_CATCH_UP, Pacer, PacerStats};
pub use packet::{RTP_HEADER_LEN, RtpSender, RtpView, is_rtcp, parse_rtp};
pub use port_pool::{PortLease, PortPool};
pub use rtcp::{RemoteReport, ReportInput, RtcpConfig, RtcpEvent, RtcpSession, ntp_from_unix};
pub use stats::{MediaStats, MediaSummary};
pub use tone_meter::tone_share;
