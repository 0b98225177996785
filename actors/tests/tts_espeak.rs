//! `EspeakTts` against the real libespeak-ng: plausible telephony audio, input errors, sharing
//! of the one worker thread, and synthesis speed.

use std::time::{Duration, Instant};

use actors::providers::tts::{EspeakTts, MAX_TEXT_BYTES, Pcm8k, TtsError, TtsProvider};

const GREETING: &str = "Hello, you have reached the demo clinic.";

fn en_us() -> EspeakTts {
    EspeakTts::start("en-us", 175).expect("espeak-ng and its en-us voice are installed")
}

fn rms(samples: &[i16]) -> f64 {
    let sum: f64 = samples.iter().map(|&s| f64::from(s).powi(2)).sum();
    (sum / samples.len().max(1) as f64).sqrt()
}

#[tokio::test]
async fn greeting_is_plausible_8k_speech() {
    let tts = en_us();
    assert_eq!(tts.name(), "espeak-ng");
    let pcm = tts
        .synthesize(GREETING)
        .await
        .expect("greeting synthesizes");

    let secs = pcm.duration().as_secs_f64();
    assert!((1.0..5.0).contains(&secs), "duration {secs:.2} s");
    assert_eq!(pcm.frames().len(), pcm.len().div_ceil(Pcm8k::FRAME_SAMPLES));

    let level = rms(pcm.samples());
    assert!(
        level > 1_000.0,
        "speech should carry energy, rms {level:.0}"
    );
    let clipped = pcm
        .samples()
        .iter()
        .filter(|&&s| s == i16::MAX || s == i16::MIN)
        .count();
    assert!(
        clipped * 1_000 < pcm.len(),
        "{clipped} of {} samples at full scale",
        pcm.len()
    );
}

#[tokio::test]
async fn empty_and_blank_text_are_rejected() {
    let tts = en_us();
    assert_eq!(tts.synthesize("").await, Err(TtsError::EmptyText));
    assert_eq!(tts.synthesize("  \n\t ").await, Err(TtsError::EmptyText));
}

#[tokio::test]
async fn bad_text_is_an_error_not_a_panic() {
    let tts = en_us();
    assert!(matches!(
        tts.synthesize("one\0two").await,
        Err(TtsError::Synthesis(_))
    ));
    let long = "a ".repeat(MAX_TEXT_BYTES);
    assert!(matches!(
        tts.synthesize(&long).await,
        Err(TtsError::Synthesis(_))
    ));
    // Markup is spoken as text, not interpreted: it still yields audio.
    let pcm = tts.synthesize("<speak>one</speak> & two").await;
    assert!(pcm.is_ok_and(|p| !p.is_empty()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_concurrent_requests_all_succeed() {
    let tts = en_us();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let tts = tts.clone();
            tokio::spawn(async move { tts.synthesize(&format!("Caller number {i}.")).await })
        })
        .collect();
    for task in tasks {
        let pcm = task
            .await
            .expect("task did not panic")
            .expect("synthesis works");
        assert!(pcm.duration() > Duration::from_millis(500));
        assert!(rms(pcm.samples()) > 500.0);
    }
}

#[tokio::test]
async fn handles_share_the_worker_but_keep_their_own_rate() {
    let slow = EspeakTts::start("en-us", 100).expect("rate 100 is valid");
    let fast = EspeakTts::start("en-us", 350).expect("rate 350 is valid");
    assert_eq!((slow.voice(), slow.rate_wpm()), ("en-us", 100));

    let slow_a = slow.synthesize(GREETING).await.expect("slow speech");
    let fast_a = fast.synthesize(GREETING).await.expect("fast speech");
    let slow_b = slow.synthesize(GREETING).await.expect("slow speech again");
    assert!(
        slow_a.duration() > fast_a.duration() * 2,
        "100 wpm {:?} vs 350 wpm {:?}",
        slow_a.duration(),
        fast_a.duration()
    );
    // espeak-ng carries a little state between utterances, so allow a few samples of drift.
    let drift = slow_a.len().abs_diff(slow_b.len());
    assert!(
        drift * 100 < slow_a.len(),
        "switching back restores the rate: {} vs {} samples",
        slow_a.len(),
        slow_b.len()
    );
}

#[tokio::test]
async fn dropping_every_handle_does_not_hang_and_the_worker_stays_usable() {
    let first = en_us();
    let second = first.clone();
    drop(first);
    drop(second);
    let again = en_us();
    assert!(again.synthesize("Still here.").await.is_ok());
}

#[test]
fn setup_errors_say_what_is_wrong() {
    match EspeakTts::start("no-such-voice-xx", 175) {
        Err(TtsError::Unavailable(msg)) => assert!(msg.contains("apt-get install"), "{msg}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
    for rate in [0, 79, 451] {
        assert!(matches!(
            EspeakTts::start("en-us", rate),
            Err(TtsError::InvalidConfig(_))
        ));
    }
    for voice in ["", "  ", "en\0us"] {
        assert!(matches!(
            EspeakTts::start(voice, 175),
            Err(TtsError::InvalidConfig(_))
        ));
    }
}

#[tokio::test]
async fn greeting_synthesizes_faster_than_real_time() {
    let tts = en_us();
    tts.synthesize(GREETING).await.expect("warm-up");
    let mut times = Vec::new();
    let mut audio = Duration::ZERO;
    for _ in 0..7 {
        let start = Instant::now();
        let pcm = tts
            .synthesize(GREETING)
            .await
            .expect("greeting synthesizes");
        times.push(start.elapsed());
        audio = pcm.duration();
    }
    times.sort();
    let median = times[times.len() / 2];
    println!("espeak-ng + resample: {audio:?} of speech in {median:?} (median of 7)");
    assert!(
        median < audio / 2,
        "median {median:?} for {audio:?} of audio"
    );
}
