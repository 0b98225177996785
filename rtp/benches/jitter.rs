//! Cost of the jitter buffer per packet: one `push` and one `pop_frame`, as the driver does
//! every 20 ms, for an in-order stream and for one where every other pair of packets swaps.
//!
//! Run with `cargo bench -p rtp --bench jitter`.

// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use rtp::{FRAME_SAMPLES, JitterBuffer, JitterConfig, RtpView};

/// Benchmarks push + pop with packet `k` of the stream chosen by `order(i)` at step `i`.
fn run(c: &mut Criterion, name: &str, order: fn(u32) -> u32) {
    let payload = [0x55u8; FRAME_SAMPLES];
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(t0, JitterConfig::default()).expect("valid");
    let mut i = 0u32;
    c.bench_function(name, |b| {
        b.iter(|| {
            let k = order(i);
            let now = t0 + Duration::from_millis(20 * u64::from(i));
            let view = RtpView {
                ssrc: 1,
                seq: k as u16,
                timestamp: k.wrapping_mul(FRAME_SAMPLES as u32),
                payload_type: 0,
                marker: k == 0,
                payload: &payload,
            };
            jb.push(now, black_box(&view));
            let frame = jb.pop_frame(now + Duration::from_millis(5));
            black_box(frame.samples()[0]);
            i = i.wrapping_add(1);
        })
    });
    let st = jb.stats();
    assert_eq!(st.late + st.duplicate + st.stray + st.invalid, 0, "{st:?}");
}

fn jitter(c: &mut Criterion) {
    run(c, "jitter/push+pop in order", |i| i);
    // 0 1 3 2 4 5 7 6 ...: every other pair swapped.
    run(c, "jitter/push+pop reordered", |i| match i % 4 {
        2 => i + 1,
        3 => i - 1,
        _ => i,
    });
}

criterion_group!(benches, jitter);
criterion_main!(benches);
