//! `TurnDetector` on audio: synthetic signals (silence, tone and vowel bursts, noise) and
//! espeak-ng speech with pauses, in virtual time (every frame is stamped 20 ms after the last).

use std::time::{Duration, Instant};

use actors::providers::tts::{EspeakTts, TtsProvider};
use actors::vad::{SILENCE_DBFS, TurnConfig, TurnDetector, TurnEvent, VadMode};

const FRAME_MS: u64 = 20;

/// Deterministic white noise with RMS `rms`.
fn noise(len: usize, rms: f64, seed: u32) -> Vec<i16> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let uniform = f64::from(state) / f64::from(u32::MAX) * 2.0 - 1.0;
            (uniform * rms * 3f64.sqrt()).round() as i16
        })
        .collect()
}

/// A steady tone.
fn tone(len: usize, freq: f64, amplitude: f64) -> Vec<i16> {
    (0..len)
        .map(|n| {
            (amplitude * (2.0 * std::f64::consts::PI * freq * n as f64 / 8_000.0).sin()) as i16
        })
        .collect()
}

/// A vowel-like sound: 150 Hz harmonics shaped by formants at 700 and 1200 Hz, with a slow
/// syllable-rate amplitude swing like running speech.
fn vowel(len: usize) -> Vec<i16> {
    (0..len)
        .map(|n| {
            let t = n as f64 / 8_000.0;
            let sum: f64 = (1..=20)
                .map(|k| {
                    let f = 150.0 * f64::from(k);
                    let w = (-((f - 700.0) / 300.0).powi(2)).exp()
                        + 0.6 * (-((f - 1_200.0) / 300.0).powi(2)).exp();
                    w * (2.0 * std::f64::consts::PI * f * t).sin()
                })
                .sum();
            let syllables = 0.6 + 0.4 * (2.0 * std::f64::consts::PI * 4.0 * t).sin();
            (sum * 6_000.0 * syllables) as i16
        })
        .collect()
}

fn silence(ms: usize) -> Vec<i16> {
    vec![0; ms * 8]
}

/// Runs `audio` through a detector in virtual time; returns the events with the offset (ms)
/// of the frame that produced them, the number of voiced frames, and the start time.
fn run(config: TurnConfig, audio: &[i16]) -> (Vec<(u64, TurnEvent)>, usize, Instant) {
    let t0 = Instant::now();
    let mut detector = TurnDetector::new(config);
    let mut events = Vec::new();
    let mut voiced = 0;
    for (i, chunk) in audio.chunks(160).enumerate() {
        let mut frame = [0i16; 160];
        frame[..chunk.len()].copy_from_slice(chunk);
        let now = t0 + Duration::from_millis(FRAME_MS * i as u64);
        let report = detector.handle_frame(&frame, now);
        voiced += usize::from(report.voiced);
        if let Some(event) = report.event {
            events.push((FRAME_MS * i as u64, event));
        }
    }
    (events, voiced, t0)
}

/// Offsets (ms) of the events of `events`, turned into (kind, offset of `at`, speech_ms).
fn turns(events: &[(u64, TurnEvent)], t0: Instant) -> Vec<(&'static str, u64, u32)> {
    events
        .iter()
        .map(|(_, event)| match *event {
            TurnEvent::SpeechStarted { at } => ("start", millis(at - t0), 0),
            TurnEvent::SpeechEnded { at, speech_ms } => ("end", millis(at - t0), speech_ms),
        })
        .collect()
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).expect("test durations are short")
}

#[test]
fn silence_and_quiet_noise_are_never_speech() {
    for audio in [silence(2_000), noise(16_000, 32.0, 1)] {
        for mode in [
            VadMode::Quality,
            VadMode::Aggressive,
            VadMode::VeryAggressive,
        ] {
            let config = TurnConfig {
                mode,
                ..TurnConfig::default()
            };
            let (events, voiced, _) = run(config, &audio);
            assert_eq!((events.len(), voiced), (0, 0), "{mode:?}");
        }
    }
    let mut detector = TurnDetector::new(TurnConfig::default());
    let report = detector.handle_frame(&[0; 160], Instant::now());
    assert_eq!(
        (report.voiced, report.dbfs, report.event),
        (false, SILENCE_DBFS, None)
    );
}

#[test]
fn steady_noise_and_hum_are_learned_and_do_not_hold_a_turn_open() {
    // -40 dBFS white noise and a -20 dBFS 440 Hz hum: the classifier calls the first few
    // frames speech, then adapts. (Loud broadband noise, -25 dBFS and up, stays "speech" in
    // every mode: the WebRTC model cannot tell it from voice.)
    let cases = [
        (noise(40_000, 330.0, 2), VadMode::Quality),
        (noise(40_000, 330.0, 2), VadMode::Aggressive),
        (tone(40_000, 440.0, 3_000.0), VadMode::Aggressive),
    ];
    for (audio, mode) in cases {
        let config = TurnConfig {
            mode,
            ..TurnConfig::default()
        };
        let (events, voiced, t0) = run(config, &audio);
        assert!(voiced <= 10, "{mode:?}: {voiced} voiced frames of noise");
        let turns = turns(&events, t0);
        assert!(turns.len() <= 2, "{mode:?}: {turns:?}");
        if let Some(last) = turns.last() {
            assert_eq!(
                last.0, "end",
                "{mode:?}: a turn left open by noise: {turns:?}"
            );
        }
    }
    let very = TurnConfig {
        mode: VadMode::VeryAggressive,
        ..TurnConfig::default()
    };
    let noise = noise(40_000, 330.0, 2);
    assert_eq!(
        run(very, &noise).1,
        0,
        "very aggressive ignores the noise from the start"
    );
}

#[test]
fn vowel_bursts_make_turns_with_exact_boundaries() {
    // 500 ms silence, 1 s vowel, 1 s silence, 1 s vowel, 1 s silence.
    let mut audio = silence(500);
    audio.extend(vowel(8_000));
    audio.extend(silence(1_000));
    audio.extend(vowel(8_000));
    audio.extend(silence(1_000));
    let (events, voiced, t0) = run(TurnConfig::default(), &audio);
    assert_eq!(voiced, 100, "every vowel frame is speech");
    assert_eq!(
        turns(&events, t0),
        [
            ("start", 500, 0),
            ("end", 1_500, 1_000),
            ("start", 2_500, 0),
            ("end", 3_500, 1_000)
        ]
    );
    // Emitted 60 ms after the onset (four frames) and 600 ms after the end.
    let emitted: Vec<u64> = events.iter().map(|e| e.0).collect();
    assert_eq!(emitted, [560, 2_080, 2_560, 4_080]);
}

#[test]
fn a_short_pause_stays_in_the_turn_and_the_silence_setting_is_honoured() {
    let mut audio = vowel(4_000);
    audio.extend(silence(400));
    audio.extend(vowel(4_000));
    audio.extend(silence(1_000));
    let (events, _, t0) = run(TurnConfig::default(), &audio);
    assert_eq!(turns(&events, t0), [("start", 0, 0), ("end", 1_400, 1_400)]);
    let eager = TurnConfig {
        end_of_turn_silence_ms: 300,
        ..TurnConfig::default()
    };
    let (events, _, t0) = run(eager, &audio);
    assert_eq!(
        turns(&events, t0),
        [
            ("start", 0, 0),
            ("end", 500, 500),
            ("start", 900, 0),
            ("end", 1_400, 500)
        ]
    );
}

#[test]
fn the_energy_floor_vetoes_the_classifier() {
    // The vowel at about -26 dBFS: speech by default, nothing under a -20 dBFS floor.
    let softer: Vec<i16> = vowel(8_000).iter().map(|&s| s / 4).collect();
    let mut audio = softer;
    audio.extend(silence(1_000));
    let (events, voiced, _) = run(TurnConfig::default(), &audio);
    assert_eq!((events.len(), voiced), (2, 50));
    let strict = TurnConfig {
        energy_floor_dbfs: -20.0,
        ..TurnConfig::default()
    };
    let (events, voiced, _) = run(strict, &audio);
    assert_eq!((events.len(), voiced), (0, 0));
}

/// First and last sample louder than -40 dBFS, in ms from the start of `audio`.
fn speech_span(audio: &[i16]) -> (u64, u64) {
    let loud = |s: &&i16| s.unsigned_abs() > 330;
    let first = audio.iter().position(|s| loud(&s)).expect("some speech");
    let last = audio.iter().rposition(|s| loud(&s)).expect("some speech");
    (first as u64 / 8, last as u64 / 8)
}

#[tokio::test]
async fn espeak_sentences_with_pauses_make_one_turn_each() {
    let tts = EspeakTts::start("en-us", 150).expect("espeak-ng is installed");
    let say = |text: &'static str| {
        let tts = tts.clone();
        async move {
            tts.synthesize(text)
                .await
                .expect("synthesizes")
                .samples()
                .to_vec()
        }
    };
    // Turn 1: two sentences with a 300 ms breath between; turn 2 after 1.2 s of silence.
    let hello = say("Hello.").await;
    let request = say("I would like to book an appointment for tomorrow.").await;
    let goodbye = say("Goodbye.").await;
    let mut audio = silence(400);
    audio.extend(&hello);
    audio.extend(silence(300));
    audio.extend(&request);
    let turn_one = speech_span(&audio);
    audio.extend(silence(1_200));
    let offset = audio.len() as u64 / 8;
    audio.extend(&goodbye);
    let span = speech_span(&goodbye);
    let turn_two = (offset + span.0, offset + span.1);
    audio.extend(silence(1_000));

    let (events, _, t0) = run(TurnConfig::default(), &audio);
    let turns = turns(&events, t0);
    assert_eq!(turns.len(), 4, "two turns: {turns:?}");
    let near = |got: u64, want: u64, slack: u64| got.abs_diff(want) <= slack;
    for (i, want) in [turn_one, turn_two].into_iter().enumerate() {
        let (start, end) = (turns[2 * i], turns[2 * i + 1]);
        assert!(
            start.0 == "start" && near(start.1, want.0, 100),
            "turn {i} start {start:?}, speech from {want:?}"
        );
        assert!(
            end.0 == "end" && near(end.1, want.1, 200),
            "turn {i} end {end:?}, speech to {want:?}"
        );
        assert!(
            near(u64::from(end.2), want.1 - want.0, 300),
            "turn {i} length {end:?}"
        );
    }
}
