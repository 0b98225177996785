//! The detector's behaviour on generated key presses (through µ-law, with noise) and on speech.

use super::test_audio::{
    DIGITS, Tone, caller_speech, detect, detect_with, digits, espeak, noisy_ulaw, silence,
};
use super::*;

/// `parts` one after the other, with noise of `rms` and through µ-law.
fn audio(parts: &[Vec<i16>], rms: f64) -> Vec<i16> {
    noisy_ulaw(&parts.concat(), rms, 42)
}

fn key(digit: char, ms: u32) -> Vec<i16> {
    Tone::new(digit, ms).samples()
}

#[test]
fn every_key_is_heard_once_with_its_duration() {
    let parts: Vec<Vec<i16>> = DIGITS
        .iter()
        .flat_map(|&d| [key(d, 80), silence(80)])
        .collect();
    let events = detect(&audio(&parts, 50.0));
    assert_eq!(digits(&events), "123A456B789C*0#D");
    for event in &events {
        assert_eq!(event.source, DtmfSource::InBand);
        assert!((70..=100).contains(&event.duration_ms), "{event:?}");
    }
    // Each press starts 160 ms after the previous one.
    for pair in events.windows(2) {
        let step = pair[1].at.duration_since(pair[0].at);
        assert!(step.abs_diff(Duration::from_millis(160)) <= Duration::from_millis(10));
    }
}

#[test]
fn keys_at_the_edges_of_level_twist_and_frequency_are_heard() {
    // (row dBm0, column dBm0, frequency scale)
    let edges = [
        (-25.0, -25.0, 1.0),   // weakest Q.24 level
        (-3.0, -3.0, 1.0),     // loud
        (-6.0, -12.0, 1.0),    // 6 dB normal twist
        (-10.0, -7.0, 1.0),    // 3 dB reverse twist
        (-10.0, -10.0, 0.985), // 1.5 % low
        (-10.0, -10.0, 1.015), // 1.5 % high
        (-6.0, -12.0, 1.015),
        (-6.0, -12.0, 0.985),
        (-10.0, -7.0, 1.015),
        (-10.0, -7.0, 0.985),
    ];
    for (row_dbm0, column_dbm0, frequency_scale) in edges {
        let parts: Vec<Vec<i16>> = DIGITS
            .iter()
            .flat_map(|&digit| {
                let tone = Tone {
                    digit,
                    ms: 60,
                    row_dbm0,
                    column_dbm0,
                    frequency_scale,
                };
                [tone.samples(), silence(60)]
            })
            .collect();
        let heard = digits(&detect(&audio(&parts, 20.0)));
        assert_eq!(
            heard, "123A456B789C*0#D",
            "{row_dbm0} / {column_dbm0} dBm0, ×{frequency_scale}"
        );
    }
}

#[test]
fn forty_ms_is_heard_wherever_it_falls_and_twenty_five_ms_never() {
    for lead_ms in 0..20 {
        let lead = silence(lead_ms);
        let long = audio(&[lead.clone(), key('7', 40), silence(100)], 20.0);
        assert_eq!(digits(&detect(&long)), "7", "40 ms after {lead_ms} ms");
        let short = audio(&[lead.clone(), key('7', 25), silence(100)], 20.0);
        assert_eq!(digits(&detect(&short)), "", "25 ms after {lead_ms} ms");
        let blip = audio(&[lead, key('7', 20), silence(100)], 20.0);
        assert_eq!(digits(&detect(&blip)), "", "20 ms after {lead_ms} ms");
    }
}

#[test]
fn twist_out_of_range_is_ignored() {
    // 10 dB normal twist, 6 dB reverse twist (limits 8 and 4), and too quiet.
    for (row_dbm0, column_dbm0) in [(-5.0, -15.0), (-15.0, -9.0), (-40.0, -40.0)] {
        let tone = Tone {
            row_dbm0,
            column_dbm0,
            ..Tone::new('5', 200)
        };
        let heard = digits(&detect(&audio(&[tone.samples()], 20.0)));
        assert_eq!(heard, "", "{row_dbm0} / {column_dbm0} dBm0");
    }
}

#[test]
fn a_key_held_for_a_second_is_reported_once_while_held() {
    let pcm = audio(&[key('#', 1000), silence(500)], 50.0);
    let mut detector = InbandDtmfDetector::new();
    let start = Instant::now();
    let mut reports = Vec::new();
    for (k, chunk) in pcm.chunks_exact(FRAME_SAMPLES).enumerate() {
        let now = start + Duration::from_millis(20 * (k as u64 + 1));
        detector.push_frame(now, chunk.try_into().expect("a frame"));
        reports.extend(std::iter::from_fn(|| detector.poll_event()).map(|e| (now, e)));
    }
    let [(reported_at, event)] = reports[..] else {
        panic!("{reports:?}")
    };
    assert_eq!(event.digit, '#');
    let after = reported_at.duration_since(start);
    assert!(
        after < Duration::from_millis(600),
        "reported after {after:?}"
    );
    assert!(event.duration_ms >= 500, "{event:?}");
    assert_eq!(detector.stats().digits, 1);
}

#[test]
fn pauses_of_forty_ms_separate_presses_and_short_drop_outs_do_not() {
    let twice = audio(&[key('0', 100), silence(40), key('0', 100)], 50.0);
    assert_eq!(digits(&detect(&twice)), "00");
    let dropout = audio(&[key('0', 100), silence(10), key('0', 100)], 50.0);
    let events = detect(&dropout);
    assert_eq!(digits(&events), "0");
    assert!(events[0].duration_ms >= 200, "{events:?}");
    // A different key straight after another is a new press.
    let switched = audio(&[key('1', 100), key('2', 100)], 50.0);
    assert_eq!(digits(&detect(&switched)), "12");
}

#[test]
fn silence_is_skipped_before_any_filter_runs() {
    let mut detector = InbandDtmfDetector::new();
    let quiet = noisy_ulaw(&silence(1000), 30.0, 7); // about -55 dBm0
    assert!(detect_with(&mut detector, &quiet).is_empty());
    let stats = detector.stats();
    assert_eq!(stats.analysed_windows, 0, "{stats:?}");
    assert!(stats.silent_windows >= 100, "{stats:?}");
    detect_with(&mut detector, &key('9', 100));
    assert!(detector.stats().analysed_windows >= 10);
}

#[test]
fn speech_is_not_taken_for_digits() {
    let text = "Hello, I would like to book an appointment for tomorrow morning. \
                My number is one two three four five six seven eight nine zero, star, \
                pound. Please call me back soon.";
    let voices = [
        ("en-us", 140, 50),
        ("en-gb", 170, 30),
        ("en-us+f3", 150, 70),
        ("de", 150, 50),
        ("fr", 150, 60),
        ("es", 160, 40),
        ("en-us+m3", 120, 20),
        ("en-us+f2", 130, 90),
        ("it", 150, 50),
        ("en-us+klatt", 140, 50),
    ];
    let mut corpus = vec![("caller_speech.ulaw".to_owned(), caller_speech())];
    for (voice, wpm, pitch) in voices {
        let speech = noisy_ulaw(&espeak(voice, wpm, pitch, text), 0.0, 1);
        corpus.push((format!("{voice} {wpm} wpm pitch {pitch}"), speech));
    }
    let mut seconds = 0;
    for (name, speech) in &corpus {
        seconds += speech.len() / 8000;
        let events = detect(speech);
        assert!(events.is_empty(), "{name}: {events:?}");
    }
    assert!(seconds >= 100, "{seconds} s of speech");
}
