//! The in-band DTMF detector's per-frame path allocates nothing: a counting global allocator
//! watches two seconds of key presses, pauses and noise go through it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rtp::{FRAME_SAMPLES, InbandDtmfDetector};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, only counting calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn pushing_frames_and_polling_events_does_not_allocate() {
    // 2 s: key '8' (852 + 1336 Hz) for 100 ms, then 100 ms of low noise, repeated.
    let mut noise = 12345u32;
    let frames: Vec<[i16; FRAME_SAMPLES]> = (0..100)
        .map(|k| {
            std::array::from_fn(|i| {
                let t = (k * FRAME_SAMPLES + i) as f64 / 8000.0;
                noise = noise.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let hiss = f64::from(noise >> 24) - 128.0;
                let key = if (k / 5) % 2 == 0 {
                    let w = std::f64::consts::TAU * t;
                    7000.0 * ((852.0 * w).sin() + (1336.0 * w).sin())
                } else {
                    0.0
                };
                (key + hiss) as i16
            })
        })
        .collect();
    let mut detector = InbandDtmfDetector::new();
    let start = Instant::now();
    let mut digits = 0;
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    for (k, frame) in frames.iter().enumerate() {
        detector.push_frame(start + Duration::from_millis(20 * k as u64), frame);
        while let Some(event) = detector.poll_event() {
            digits += usize::from(event.digit == '8');
        }
    }
    let allocations = ALLOCATIONS.load(Ordering::SeqCst) - before;
    assert_eq!(allocations, 0);
    assert_eq!(digits, 10);
}
