//! One call's media path end to end, without sockets: a port is leased, a tone is encoded,
//! paced and packetised, crosses a deterministic lossy and reordering "network" with some RTCP
//! mixed in, and is parsed, counted and decoded on the far side.

use std::time::{Duration, Instant};

use rtp::{
    FRAME_DURATION, FRAME_SAMPLES, G711, MediaStats, Pacer, PortPool, RtpError, RtpSender,
    parse_rtp,
};

const FRAMES: usize = 250; // 5 s of audio

/// A 1 kHz tone at about -10 dBFS, one frame at a time.
fn tone(frame: usize, out: &mut [i16; FRAME_SAMPLES]) {
    for (i, s) in out.iter_mut().enumerate() {
        let n = (frame * FRAME_SAMPLES + i) as f64;
        *s = (10_000.0 * (2.0 * std::f64::consts::PI * 1000.0 * n / 8000.0).sin()) as i16;
    }
}

/// Signal-to-noise ratio of `decoded` against `original`, in dB.
fn snr_db(original: &[i16], decoded: &[i16]) -> f64 {
    let (mut sig, mut noise) = (0.0, 0.0);
    for (&x, &y) in original.iter().zip(decoded) {
        sig += f64::from(x).powi(2);
        noise += (f64::from(x) - f64::from(y)).powi(2);
    }
    10.0 * (sig / noise).log10()
}

fn run(law: G711) {
    let pool = PortPool::new(20000, 20099).expect("valid range");
    let lease = pool.lease().expect("a free port");
    assert_eq!(lease.port() % 2, 0);
    assert_eq!(pool.in_use(), 1);

    let t0 = Instant::now();
    let mut pacer = Pacer::new(t0);
    let mut tx = RtpSender::new(0xCAFE_F00D, 65_500, 4_294_950_000, law.payload_type())
        .expect("static payload type");
    let mut tx_stats = MediaStats::new();
    let mut rx_stats = MediaStats::new();

    let mut pcm = [0i16; FRAME_SAMPLES];
    let mut payload = [0u8; FRAME_SAMPLES];
    let mut datagram = [0u8; 1500];
    let mut decoded = [0i16; FRAME_SAMPLES];
    let mut in_flight: Vec<(Instant, Vec<u8>)> = Vec::new();
    let mut snr_sum = 0.0;
    let mut frames_decoded = 0;

    for frame in 0..FRAMES {
        // Sender side: wait for the pacer, encode, packetise.
        let now = pacer.poll_timeout();
        tone(frame, &mut pcm);
        let n = law.encode(&pcm, &mut payload);
        let len = tx
            .write_packet(&payload[..n], frame == 0, &mut datagram)
            .expect("buffer fits");
        pacer.on_frame_sent(now);
        tx_stats.on_packet_out(len);

        // Network: drop every 25th packet, hold every 10th back by 45 ms (reordering),
        // otherwise 30 ms one-way. An RTCP report shares the port every 50 frames.
        if frame % 25 == 24 {
            continue;
        }
        let delay = if frame % 10 == 3 { 45 } else { 30 };
        in_flight.push((now + Duration::from_millis(delay), datagram[..len].to_vec()));
        if frame % 50 == 0 {
            in_flight.push((now, vec![0x80, 201, 0, 1, 0, 0, 0, 9]));
        }
    }
    in_flight.sort_by_key(|(at, _)| *at);

    let mut rtcp = 0;
    for (at, bytes) in &in_flight {
        match parse_rtp(bytes) {
            Ok(view) => {
                assert_eq!(view.ssrc, 0xCAFE_F00D);
                assert_eq!(G711::from_payload_type(view.payload_type), Some(law));
                rx_stats.on_packet_in(view.seq, view.timestamp, *at, bytes.len());
                assert_eq!(law.decode(view.payload, &mut decoded), FRAME_SAMPLES);
                // Recover which frame this was from the sequence number to compare audio.
                let frame = usize::from(view.seq.wrapping_sub(65_500));
                tone(frame, &mut pcm);
                snr_sum += snr_db(&pcm, &decoded);
                frames_decoded += 1;
            }
            Err(RtpError::Rtcp { packet_type }) => {
                assert_eq!(packet_type, 201);
                rtcp += 1;
            }
            Err(e) => panic!("unexpected parse error: {e}"),
        }
    }

    // 250 frames, 10 dropped; 5 RTCP packets routed away.
    assert_eq!(rtcp, 5);
    assert_eq!(frames_decoded, 240);
    // G.711 keeps this tone at 37 dB (µ-law) / 49 dB (A-law) SNR; decoding with the wrong law
    // or from corrupted bytes would fall far below 30 dB.
    let snr = snr_sum / f64::from(frames_decoded);
    assert!(snr > 30.0, "{law}: SNR {snr:.1} dB");

    assert_eq!(pacer.stats().frames_sent, FRAMES as u64);
    assert_eq!(pacer.poll_timeout(), t0 + FRAME_DURATION * FRAMES as u32);
    // Both the sequence number (65 500 + 250) and the timestamp (+40 000) wrapped.
    assert_eq!(tx.next_seq(), 214);
    assert_eq!(tx.next_timestamp(), 22_704);

    // The last packet sent was frame 249, dropped by the network: the receiver cannot know
    // about it, so it expects 249 and counts 9 lost.
    assert_eq!(rx_stats.expected(), 249);
    assert_eq!(rx_stats.lost(), 9);
    let summary = rx_stats.summary(Some(law));
    assert_eq!(summary.packets_in, 240);
    assert_eq!(summary.bytes_in, 240 * 172);
    assert_eq!(summary.lost, 9);
    // The 15 ms hold-backs make jitter measurable but small.
    assert!(
        summary.jitter_ms > 0.5 && summary.jitter_ms < 15.0,
        "{}",
        summary.jitter_ms
    );
    assert!(summary.mos > 3.8 && summary.mos < 4.4, "{}", summary.mos);
    let out = tx_stats.summary(Some(law));
    assert_eq!((out.packets_out, out.bytes_out), (250, 250 * 172));

    drop(lease);
    assert_eq!(pool.in_use(), 0);
}

#[test]
fn pcmu_call_media_path() {
    run(G711::Pcmu);
}

#[test]
fn pcma_call_media_path() {
    run(G711::Pcma);
}
