//! Per-frame cost of the in-band DTMF detector with Criterion: one 20 ms frame of silence (the
//! cheap path), of a voiced vowel (every filter runs, no digit) and of a key press.
//!
//! Run with `cargo bench -p rtp --bench inband_dtmf`.

// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use rtp::{FRAME_SAMPLES, InbandDtmfDetector};

/// Second of audio whose sample `n` is `f(n / 8000 s)`.
fn second(f: impl Fn(f64) -> f64) -> Vec<[i16; FRAME_SAMPLES]> {
    let samples: Vec<i16> = (0..8000)
        .map(|n| f(f64::from(n) / 8000.0).round() as i16)
        .collect();
    samples
        .chunks_exact(FRAME_SAMPLES)
        .map(|c| c.try_into().expect("whole frames"))
        .collect()
}

fn sine(hz: f64, amplitude: f64, t: f64) -> f64 {
    amplitude * (std::f64::consts::TAU * hz * t).sin()
}

fn detector(c: &mut Criterion) {
    let inputs = [
        ("silence", second(|_| 0.0)),
        // A 140 Hz voice with 20 harmonics falling off at 6 dB per octave.
        (
            "vowel",
            second(|t| {
                (1..=20)
                    .map(|h| sine(140.0 * f64::from(h), 6000.0 / f64::from(h), t))
                    .sum()
            }),
        ),
        (
            "key 5",
            second(|t| sine(770.0, 7000.0, t) + sine(1336.0, 7000.0, t)),
        ),
    ];
    let mut group = c.benchmark_group("inband_dtmf");
    for (name, frames) in &inputs {
        group.bench_function(format!("{name}, 20 ms frame"), |b| {
            let mut detector = InbandDtmfDetector::new();
            let (start, mut k) = (Instant::now(), 0usize);
            b.iter(|| {
                k += 1;
                let now = start + Duration::from_millis(20 * k as u64);
                detector.push_frame(now, black_box(&frames[k % frames.len()]));
                while let Some(event) = detector.poll_event() {
                    black_box(event);
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, detector);
criterion_main!(benches);
