//! Per-frame cost of voice-activity and end-of-turn detection (`actors::vad`).
//!
//! One 20 ms frame of 8 kHz audio arrives every 20 ms per call; these numbers say what share
//! of that budget a call's detector takes. Inputs: digital silence, white noise at -30 dBFS
//! and a voiced, vowel-like signal (150 Hz harmonics with a formant-shaped spectrum).

// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use actors::vad::{TurnConfig, TurnDetector, VadMode, VoiceClassifier, frame_dbfs};
use criterion::{Criterion, criterion_group, criterion_main};

/// Deterministic white noise at roughly `rms`.
fn noise(len: usize, rms: f64) -> Vec<i16> {
    let mut state = 0x2545_f491u32;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let uniform = f64::from(state) / f64::from(u32::MAX) * 2.0 - 1.0;
            (uniform * rms * 3f64.sqrt()) as i16
        })
        .collect()
}

/// A vowel-like sound: harmonics of 150 Hz weighted around formants at 700 and 1200 Hz.
fn vowel(len: usize) -> Vec<i16> {
    (0..len)
        .map(|n| {
            let t = n as f64 / 8_000.0;
            let sum: f64 = (1..=20)
                .map(|k| {
                    let f = 150.0 * f64::from(k);
                    let weight = (-((f - 700.0) / 300.0).powi(2)).exp()
                        + 0.6 * (-((f - 1_200.0) / 300.0).powi(2)).exp();
                    weight * (2.0 * std::f64::consts::PI * f * t).sin()
                })
                .sum();
            (sum * 6_000.0) as i16
        })
        .collect()
}

fn frames(samples: &[i16]) -> Vec<[i16; 160]> {
    samples
        .chunks_exact(160)
        .map(|c| c.try_into().expect("exact chunks of 160"))
        .collect()
}

fn bench(c: &mut Criterion) {
    let inputs = [
        ("silence", frames(&[0; 16_000])),
        ("noise", frames(&noise(16_000, 1_000.0))),
        ("vowel", frames(&vowel(16_000))),
    ];
    let mut group = c.benchmark_group("vad_per_frame");
    for (name, frames) in &inputs {
        group.bench_function(format!("turn_detector/{name}"), |b| {
            let mut detector = TurnDetector::new(TurnConfig::default());
            let start = Instant::now();
            let mut i = 0usize;
            b.iter(|| {
                let frame = &frames[i % frames.len()];
                let now = start + Duration::from_millis(20 * i as u64);
                i += 1;
                black_box(detector.handle_frame(black_box(frame), now))
            });
        });
        group.bench_function(format!("classifier/{name}"), |b| {
            let mut vad = VoiceClassifier::new(VadMode::Aggressive);
            let mut i = 0usize;
            b.iter(|| {
                i += 1;
                black_box(vad.is_voice(black_box(&frames[i % frames.len()])))
            });
        });
    }
    group.bench_function("frame_dbfs", |b| {
        let frame = &inputs[2].1[0];
        b.iter(|| black_box(frame_dbfs(black_box(frame))));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
