//! The jitter buffer when the stream itself changes: SSRC switch, timestamp jump, talkspurts
//! (marker bit), stray and late packets, overflow, and adaptation of the depth to jitter.

mod common;

use std::time::{Duration, Instant};

use common::netsim::NetConfig;
use common::{Kind, Sim, frame_ids, payload};
use rtp::{Frame, G711, JitterBuffer, JitterConfig, RtpSender, parse_rtp};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Builds the datagram carrying granules `first..first + n` (20 ms = 2 granules).
fn datagram(tx: &mut RtpSender, first: u32, n: usize, marker: bool) -> Vec<u8> {
    let mut body = Vec::new();
    payload(first, n, &mut body);
    let mut out = vec![0u8; 12 + body.len()];
    let len = tx.write_packet(&body, marker, &mut out).expect("fits");
    out.truncate(len);
    out
}

fn push(jb: &mut JitterBuffer, at: Instant, dgram: &[u8]) {
    jb.push(at, &parse_rtp(dgram).expect("valid RTP"));
}

#[test]
fn ssrc_switch_resets_and_keeps_playing() {
    let mut sim = Sim::new(NetConfig::default(), 1, 20);
    sim.run_for(Duration::from_secs(5));
    let played_before = sim.stats().played;
    sim.tx = RtpSender::new(0x5555_0000, 7, 123_456, 0).expect("PT 0");
    sim.marker_next = true;
    sim.run_for(ms(100));
    // A straggler of the old stream arrives after the switch: late, not a switch back.
    let mut old = RtpSender::new(0x1111_2222, 1, 1, 0).expect("PT 0");
    let straggler = datagram(&mut old, 1, 2, false);
    push(&mut sim.jb, sim.now, &straggler);
    sim.run_for(Duration::from_secs(5));
    sim.drain();
    let st = sim.stats();
    assert_eq!((st.ssrc_changes, st.resyncs, st.late), (1, 0, 1));
    assert!(st.played > played_before + 240, "{st:?}");
    let ids = sim.played_ids();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    // At most the one frame buffered at the switch and one of buffering are lost.
    assert!(st.played + 2 >= sim.net.sent, "{st:?}");
}

#[test]
fn timestamp_jump_is_confirmed_then_resynced() {
    let mut sim = Sim::new(NetConfig::default(), 1, 20);
    sim.run_for(Duration::from_secs(3));
    let (ssrc, seq, ts) = (sim.tx.ssrc(), sim.tx.next_seq(), sim.tx.next_timestamp());
    sim.tx = RtpSender::new(ssrc, seq, ts.wrapping_add(3_000_000), 0).expect("PT 0");
    sim.run_for(Duration::from_secs(3));
    sim.drain();
    let st = sim.stats();
    assert_eq!((st.resyncs, st.stray, st.ssrc_changes), (1, 0, 0), "{st:?}");
    let ids = sim.played_ids();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    // The held packet and its confirmation both play: only buffering frames are lost.
    assert!(st.played + 2 >= sim.net.sent, "{st:?}");
}

#[test]
fn stray_far_packets_are_counted_and_ignored() {
    let mut sim = Sim::new(NetConfig::default(), 1, 20);
    sim.run_for(Duration::from_secs(1));
    let mut stray_tx = RtpSender::new(sim.tx.ssrc(), 30_000, 2_000_000_000, 0).expect("PT 0");
    for _ in 0..2 {
        let d = datagram(&mut stray_tx, 0, 2, false);
        stray_tx.skip_samples(100_000); // no two strays confirm each other
        push(&mut sim.jb, sim.now, &d);
        sim.run_for(ms(100));
    }
    sim.run_for(Duration::from_secs(1));
    sim.drain();
    let st = sim.stats();
    assert_eq!((st.stray, st.resyncs), (1, 0), "{st:?}");
    assert_eq!(st.played, sim.net.sent);
    assert!(
        sim.check_continuity()
            .concealed_before(sim.sent_end)
            .is_empty()
    );
}

#[test]
fn talkspurt_after_silence_suppression_re_anchors() {
    for marker in [true, false] {
        let mut sim = Sim::new(NetConfig::default(), 1, 20);
        sim.run_for(Duration::from_secs(2));
        sim.pause();
        sim.run_for(Duration::from_secs(1));
        sim.resume(marker);
        sim.run_for(Duration::from_secs(2));
        let st = sim.stats();
        assert_eq!(st.talkspurts, 1, "marker {marker}");
        assert!(
            (20..40).contains(&st.current_depth_ms),
            "marker {marker}: {st:?}"
        );
        // The gap is waited out, not played as concealment.
        let gap_frames = sim.out.iter().filter(|o| o.kind == Kind::Expanded).count();
        assert!(
            (44..=48).contains(&gap_frames),
            "marker {marker}: {gap_frames}"
        );
        sim.drain();
        let st = sim.stats();
        assert_eq!(st.played, sim.net.sent, "marker {marker}");
        // Three fading frames each time the sender went quiet, none anywhere else.
        assert_eq!(st.concealed, 6, "marker {marker}: {st:?}");
        assert_eq!(st.underruns, 2);
    }
}

#[test]
fn marker_on_every_packet_does_no_harm() {
    let mut sim = Sim::new(NetConfig::default(), 1, 20);
    for _ in 0..250 {
        sim.marker_next = true;
        sim.run_for(ms(20));
    }
    sim.drain();
    let st = sim.stats();
    assert_eq!((st.talkspurts, st.silence, st.expanded > 0), (0, 3, true));
    assert_eq!(st.played, sim.net.sent);
    assert!(
        sim.check_continuity()
            .concealed_before(sim.sent_end)
            .is_empty()
    );
}

#[test]
fn late_packet_is_counted_not_played() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(t0, JitterConfig::default()).expect("valid");
    let mut tx = RtpSender::new(9, 100, 0, 0).expect("PT 0");
    let packets: Vec<Vec<u8>> = (0..10)
        .map(|k| datagram(&mut tx, 2 * k, 2, k == 0))
        .collect();
    let mut kinds = Vec::new();
    for (k, p) in packets.iter().enumerate() {
        let at = t0 + ms(20 * k as u64);
        if k != 4 {
            push(&mut jb, at, p);
        }
        if k == 7 {
            push(&mut jb, at, &packets[4]); // 80 ms late: its frame was concealed
        }
        let frame = jb.pop_frame(at + ms(5));
        kinds.push(match frame {
            Frame::Audio(s) => Some(frame_ids(s).expect("ids").0),
            _ => None,
        });
    }
    assert_eq!(
        kinds,
        [
            None,
            Some(0),
            Some(2),
            Some(4),
            Some(6),
            None,
            Some(10),
            Some(12),
            Some(14),
            Some(16)
        ]
    );
    let st = jb.stats();
    assert_eq!(
        (st.late, st.concealed, st.played, st.received),
        (1, 1, 8, 9)
    );
}

#[test]
fn invalid_and_backwards_time_do_no_harm() {
    let t0 = Instant::now() + Duration::from_secs(1);
    let mut jb = JitterBuffer::new(t0, JitterConfig::for_law(G711::Pcma)).expect("valid");
    let mut alaw = RtpSender::new(1, 0, 0, 8).expect("PT 8");
    let mut ulaw = RtpSender::new(1, 0, 0, 0).expect("PT 0");
    let mut buf = [0u8; 2000];
    let n = ulaw
        .write_packet(&[0xD5; 160], false, &mut buf)
        .expect("fits");
    jb.push(t0, &parse_rtp(&buf[..n]).expect("valid")); // PCMU into a PCMA buffer
    let n = alaw.write_packet(&[], false, &mut buf).expect("fits");
    jb.push(t0, &parse_rtp(&buf[..n]).expect("valid"));
    let n = alaw
        .write_packet(&[0xD5; 1500], false, &mut buf)
        .expect("fits");
    jb.push(t0, &parse_rtp(&buf[..n]).expect("valid"));
    assert_eq!(jb.stats().invalid, 3);
    assert_eq!(jb.pop_frame(t0), Frame::Silence);
    // Time going backwards is clamped to the latest time seen.
    let mut alaw = RtpSender::new(1, 0, 0, 8).expect("PT 8");
    let n = alaw
        .write_packet(&[0xD5; 160], false, &mut buf)
        .expect("fits");
    jb.push(t0 - ms(500), &parse_rtp(&buf[..n]).expect("valid"));
    assert_eq!(jb.pop_frame(t0 - ms(1000)), Frame::Silence, "buffering");
    let n = alaw
        .write_packet(&[0xD5; 160], false, &mut buf)
        .expect("fits");
    jb.push(t0 - ms(480), &parse_rtp(&buf[..n]).expect("valid"));
    assert_eq!(jb.stats().received, 2);
    match jb.pop_frame(t0) {
        Frame::Audio(s) => assert!(s.iter().all(|&x| x == 8), "A-law 0xD5 is +8"),
        other => panic!("expected audio, got {other:?}"),
    }
}

#[test]
fn burst_beyond_the_ring_overflows_then_returns_to_max_depth() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(t0, JitterConfig::default()).expect("valid");
    let mut tx = RtpSender::new(9, 0, 0, 0).expect("PT 0");
    // 1.2 s of audio arrives in one burst (a queue on the path flushed at once).
    for k in 0..60 {
        let d = datagram(&mut tx, 2 * k, 2, k == 0);
        push(&mut jb, t0, &d);
    }
    let st = *jb.stats();
    assert!(st.overflow_drops > 0, "{st:?}");
    assert_eq!(st.received, 60);
    // The sender goes on in real time; the buffer catches up by dropping the oldest audio.
    let mut last_ids = 0;
    for k in 0..100u32 {
        let at = t0 + ms(20 * u64::from(k));
        if k > 0 {
            let d = datagram(&mut tx, 2 * (59 + k), 2, false);
            push(&mut jb, at, &d);
        }
        if let Frame::Audio(s) = jb.pop_frame(at + ms(10)) {
            let (a, _) = frame_ids(s).expect("ids");
            assert!(a > last_ids || last_ids == 0, "in order");
            last_ids = a;
        }
    }
    let st = jb.stats();
    assert!(
        (20..=220).contains(&st.current_depth_ms),
        "back within max depth: {st:?}"
    );
    assert!(st.overflow_drops > 20, "{st:?}");
    assert_eq!(st.concealed, 0, "{st:?}");
    assert!(
        last_ids >= 2 * (59 + 99) - 2 * 11,
        "playing the recent audio: {last_ids}"
    );
}

#[test]
fn depth_adapts_up_under_jitter_and_back_down() {
    let mut sim = Sim::new(NetConfig::default(), 21, 20);
    sim.run_for(Duration::from_secs(10));
    let calm = sim.stats();
    assert_eq!(calm.target_depth_ms, 20);
    assert!(calm.current_depth_ms < 40, "{calm:?}");

    sim.net.cfg.jitter = ms(60);
    sim.run_for(Duration::from_secs(5));
    let rising = sim.stats();
    assert!(rising.target_depth_ms >= 80, "{rising:?}");
    assert!(rising.current_depth_ms >= 60, "{rising:?}");
    sim.run_for(Duration::from_secs(15));
    let jittery = sim.stats();
    // Once adapted, almost nothing arrives late.
    let late = jittery.late - rising.late;
    assert!(late <= 3, "{late} late of 750: {jittery:?}");
    assert!(jittery.target_depth_ms <= 200);

    sim.net.cfg.jitter = Duration::ZERO;
    sim.run_for(Duration::from_secs(30));
    let settled = sim.stats();
    assert!(settled.target_depth_ms <= 25, "{settled:?}");
    assert!(settled.current_depth_ms <= 60, "{settled:?}");
    assert!(
        settled.shrunk > jittery.shrunk,
        "depth came down by skipping frames"
    );
    assert_eq!(settled.frames_out(), sim.pops);
}

#[test]
fn jump_while_audio_is_buffered_waits_for_confirmation() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(t0, JitterConfig::default()).expect("valid");
    let mut tx = RtpSender::new(9, 500, 1000, 0).expect("PT 0");
    for k in 0..3 {
        let d = datagram(&mut tx, 2 * k, 2, k == 0);
        push(&mut jb, t0 + ms(20 * u64::from(k)), &d);
    }
    // The sender's timestamp jumps by an hour of samples, sequence numbers go on.
    tx.skip_samples(8000 * 3600);
    let j0 = datagram(&mut tx, 6, 2, false);
    let j1 = datagram(&mut tx, 8, 2, false);
    push(&mut jb, t0 + ms(60), &j0);
    assert_eq!(jb.stats().resyncs, 0, "held, audio still buffered");
    push(&mut jb, t0 + ms(80), &j1);
    let st = *jb.stats();
    assert_eq!((st.resyncs, st.stray, st.received), (1, 0, 5));
    let mut ids = Vec::new();
    for k in 0..4 {
        if let Frame::Audio(s) = jb.pop_frame(t0 + ms(90 + 20 * k)) {
            ids.push(frame_ids(s).expect("ids").0);
        }
    }
    assert_eq!(
        ids,
        [6, 8],
        "both jumped packets play after one buffering frame"
    );
}
