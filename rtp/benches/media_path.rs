//! Per-frame cost of the media hot path with Criterion: G.711 encode/decode (one 20 ms frame
//! and one second), RTP write/parse, and the stats update. Also compares the table-driven
//! encoder with `audio-codec-algorithms`' per-sample encoder, the measurement behind the
//! choice in `g711.rs`.
//!
//! Run with `cargo bench -p rtp --bench media_path`.

// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rtp::{FRAME_SAMPLES, G711, MediaStats, RtpSender, SAMPLE_RATE_HZ, parse_rtp};

/// Speech-like test signal: a tone plus pseudo-random noise, deterministic.
fn signal(samples: usize) -> Vec<i16> {
    let mut x: u32 = 1;
    (0..samples)
        .map(|i| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let tone = ((i as f64 * 0.1).sin() * 8000.0) as i32;
            (tone + (x >> 20) as i32 - 2048) as i16
        })
        .collect()
}

fn g711(c: &mut Criterion) {
    let second = SAMPLE_RATE_HZ as usize;
    let pcm = signal(second);
    let mut codes = vec![0u8; second];
    let mut decoded = vec![0i16; second];
    for law in [G711::Pcmu, G711::Pcma] {
        let mut group = c.benchmark_group(format!("g711/{law}"));
        group.throughput(Throughput::Elements(FRAME_SAMPLES as u64));
        group.bench_function("encode 20 ms", |b| {
            b.iter(|| {
                law.encode(
                    black_box(&pcm[..FRAME_SAMPLES]),
                    &mut codes[..FRAME_SAMPLES],
                )
            })
        });
        law.encode(&pcm, &mut codes);
        group.bench_function("decode 20 ms", |b| {
            b.iter(|| {
                law.decode(
                    black_box(&codes[..FRAME_SAMPLES]),
                    &mut decoded[..FRAME_SAMPLES],
                )
            })
        });
        group.throughput(Throughput::Elements(second as u64));
        group.bench_function("encode 1 s", |b| {
            b.iter(|| law.encode(black_box(&pcm), &mut codes))
        });
        group.bench_function("decode 1 s", |b| {
            b.iter(|| law.decode(black_box(&codes), &mut decoded))
        });
        group.finish();
    }
    let mut group = c.benchmark_group("g711/per-sample crate encoder");
    group.throughput(Throughput::Elements(FRAME_SAMPLES as u64));
    group.bench_function("encode PCMU 20 ms", |b| {
        b.iter(|| {
            for (o, &s) in codes.iter_mut().zip(black_box(&pcm[..FRAME_SAMPLES])) {
                *o = audio_codec_algorithms::encode_ulaw(s);
            }
        })
    });
    group.bench_function("encode PCMA 20 ms", |b| {
        b.iter(|| {
            for (o, &s) in codes.iter_mut().zip(black_box(&pcm[..FRAME_SAMPLES])) {
                *o = audio_codec_algorithms::encode_alaw(s);
            }
        })
    });
    group.finish();
}

fn packets(c: &mut Criterion) {
    let payload = [0xD5u8; FRAME_SAMPLES];
    let mut datagram = [0u8; 1500];
    let mut tx = RtpSender::new(7, 0, 0, 0).expect("PT 0 is valid");
    c.bench_function("rtp/write_packet 160 B", |b| {
        b.iter(|| tx.write_packet(black_box(&payload), false, &mut datagram))
    });
    let len = tx
        .write_packet(&payload, false, &mut datagram)
        .expect("fits");
    c.bench_function("rtp/parse_rtp 172 B", |b| {
        b.iter(|| parse_rtp(black_box(&datagram[..len])).map(|v| v.seq))
    });
    let mut stats = MediaStats::new();
    let t0 = Instant::now();
    let mut i = 0u32;
    c.bench_function("rtp/MediaStats::on_packet_in", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            let at = t0 + Duration::from_millis(20 * u64::from(i));
            stats.on_packet_in(i as u16, 160 * i, black_box(at), 172);
        })
    });
}

criterion_group!(benches, g711, packets);
criterion_main!(benches);
