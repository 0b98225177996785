//! Per-frame cost of the media hot path: G.711 encode/decode, RTP write/parse, stats update.
//!
//! Plain `std` timing (no bench framework dependency); run with
//! `cargo bench -p rtp --bench media_path`. Also compares the table-driven encoder with
//! `audio-codec-algorithms`' per-sample encoder, the measurement behind the choice in `g711.rs`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use rtp::{FRAME_SAMPLES, G711, MediaStats, RtpSender, parse_rtp};

const FRAMES: usize = 2000;
const ROUNDS: usize = 50;

/// Speech-like test signal: a tone plus pseudo-random noise, deterministic.
fn signal() -> Vec<i16> {
    let mut x: u32 = 1;
    (0..FRAME_SAMPLES * FRAMES)
        .map(|i| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let tone = ((i as f64 * 0.1).sin() * 8000.0) as i32;
            (tone + (x >> 20) as i32 - 2048) as i16
        })
        .collect()
}

/// Runs `f` once per frame, `ROUNDS` times over `FRAMES` frames; prints ns per frame.
fn bench(name: &str, mut f: impl FnMut(usize)) {
    for i in 0..FRAMES {
        f(i); // warm up tables and caches
    }
    let start = Instant::now();
    for _ in 0..ROUNDS {
        for i in 0..FRAMES {
            f(i);
        }
    }
    let per = start.elapsed().as_nanos() as f64 / (ROUNDS * FRAMES) as f64;
    println!("{name:<40} {per:>8.1} ns/frame");
}

fn main() {
    let pcm = signal();
    let frames: Vec<&[i16]> = pcm.chunks_exact(FRAME_SAMPLES).collect();
    let mut payload = [0u8; FRAME_SAMPLES];
    let mut decoded = [0i16; FRAME_SAMPLES];
    let mut datagram = [0u8; 1500];

    for law in [G711::Pcmu, G711::Pcma] {
        bench(&format!("encode {law} (lookup table)"), |i| {
            black_box(law.encode(black_box(frames[i]), &mut payload));
        });
    }
    bench("encode PCMU (audio-codec-algorithms)", |i| {
        for (o, &s) in payload.iter_mut().zip(black_box(frames[i])) {
            *o = audio_codec_algorithms::encode_ulaw(s);
        }
        black_box(&payload);
    });
    bench("encode PCMA (audio-codec-algorithms)", |i| {
        for (o, &s) in payload.iter_mut().zip(black_box(frames[i])) {
            *o = audio_codec_algorithms::encode_alaw(s);
        }
        black_box(&payload);
    });
    for law in [G711::Pcmu, G711::Pcma] {
        law.encode(frames[0], &mut payload);
        bench(&format!("decode {law}"), |_| {
            black_box(law.decode(black_box(&payload), &mut decoded));
        });
    }

    let mut tx = RtpSender::new(7, 0, 0, 0).expect("PT 0 is valid");
    bench("RtpSender::write_packet (160 B)", |_| {
        black_box(tx.write_packet(black_box(&payload), false, &mut datagram)).ok();
    });
    let len = tx
        .write_packet(&payload, false, &mut datagram)
        .expect("fits");
    bench("parse_rtp (172 B)", |_| {
        black_box(parse_rtp(black_box(&datagram[..len])).ok());
    });

    let mut stats = MediaStats::new();
    let t0 = Instant::now();
    bench("MediaStats::on_packet_in", |i| {
        let at = t0 + Duration::from_millis(20 * i as u64);
        stats.on_packet_in(i as u16, 160 * i as u32, black_box(at), 172);
    });
    black_box(stats.summary(Some(G711::Pcmu)));
}
