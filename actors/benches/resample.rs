//! Cost of resampling synthesized speech to the 8 kHz the calls carry
//! (`actors::providers::tts::Resampler8k`, rubato), per second of audio: espeak-ng speaks at
//! 22,050 Hz, cloud TTS at 16 or 24 kHz. A phrase is resampled once, then cached.

// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]

use std::hint::black_box;

use actors::providers::tts::Resampler8k;
use criterion::{Criterion, criterion_group, criterion_main};

/// One second of a 440 Hz tone at `rate`.
fn tone(rate: u32) -> Vec<i16> {
    (0..rate)
        .map(|i| {
            let t = f64::from(i) / f64::from(rate);
            ((t * 440.0 * std::f64::consts::TAU).sin() * 8000.0) as i16
        })
        .collect()
}

fn resample(c: &mut Criterion) {
    for rate in [22_050u32, 16_000, 24_000] {
        let input = tone(rate);
        c.bench_function(&format!("resample/1s_{rate}_to_8000"), |b| {
            b.iter(|| {
                let mut resampler = Resampler8k::new(rate).expect("supported rate");
                black_box(resampler.process(black_box(&input)).expect("resampled"))
            })
        });
    }
}

criterion_group!(benches, resample);
criterion_main!(benches);
