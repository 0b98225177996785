//! A caller on the phone, for the speech tests: espeak-ng audio through a 300–3400 Hz band and
//! G.711 µ-law, pushed to a recognizer as 20 ms frames, and the recognizer's finals read back.
#![allow(dead_code)]

use std::sync::OnceLock;
use std::time::Duration;

use actors::providers::stt::{
    FRAME_SAMPLES, PocketSphinxConfig, PocketSphinxStt, SttEvent, SttSession,
};
use actors::providers::tts::{EspeakTts, TtsProvider};
use tokio::sync::mpsc::UnboundedReceiver;

/// One pocketsphinx pool per test binary: loading decoders costs about half a second each.
pub(crate) fn pocketsphinx() -> &'static PocketSphinxStt {
    static STT: OnceLock<PocketSphinxStt> = OnceLock::new();
    STT.get_or_init(|| {
        PocketSphinxStt::start(PocketSphinxConfig::default())
            .expect("pocketsphinx and pocketsphinx-en-us are installed (scripts/deps)")
    })
}

/// A second-order RBJ filter section over `x`.
fn biquad(x: &[f64], b: [f64; 3], a: [f64; 3]) -> Vec<f64> {
    let (mut x1, mut x2, mut y1, mut y2) = (0.0, 0.0, 0.0, 0.0);
    x.iter()
        .map(|&x0| {
            let y0 = (b[0] * x0 + b[1] * x1 + b[2] * x2 - a[1] * y1 - a[2] * y2) / a[0];
            (x2, x1, y2, y1) = (x1, x0, y1, y0);
            y0
        })
        .collect()
}

/// What a caller's voice looks like after the phone network: 300–3400 Hz, through µ-law.
pub(crate) fn telephone(pcm: &[i16]) -> Vec<i16> {
    use std::f64::consts::{FRAC_1_SQRT_2, PI};
    let coefficients = |f: f64| {
        let w = 2.0 * PI * f / 8_000.0;
        (w.cos(), w.sin() / (2.0 * FRAC_1_SQRT_2))
    };
    let x: Vec<f64> = pcm.iter().map(|&s| f64::from(s)).collect();
    let (c, al) = coefficients(300.0);
    let x = biquad(
        &x,
        [(1.0 + c) / 2.0, -(1.0 + c), (1.0 + c) / 2.0],
        [1.0 + al, -2.0 * c, 1.0 - al],
    );
    let (c, al) = coefficients(3_400.0);
    let x = biquad(
        &x,
        [(1.0 - c) / 2.0, 1.0 - c, (1.0 - c) / 2.0],
        [1.0 + al, -2.0 * c, 1.0 - al],
    );
    let pcm: Vec<i16> = x
        .iter()
        .map(|&v| v.round().clamp(-32_768.0, 32_767.0) as i16)
        .collect();
    let mut law = vec![0u8; pcm.len()];
    rtp::G711::Pcmu.encode(&pcm, &mut law);
    let mut out = vec![0i16; pcm.len()];
    rtp::G711::Pcmu.decode(&law, &mut out);
    out
}

/// Pushes `audio` as 20 ms frames, as fast as possible or at real time.
pub(crate) async fn push_all(session: &mut dyn SttSession, audio: &[i16], real_time: bool) {
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    for chunk in audio.chunks(FRAME_SAMPLES) {
        if real_time {
            tick.tick().await;
        }
        let mut frame = [0i16; FRAME_SAMPLES];
        frame[..chunk.len()].copy_from_slice(chunk);
        session.push(&frame).expect("the pool is running");
    }
}

/// Waits for the next final, counting the partials before it.
pub(crate) async fn next_final(events: &mut UnboundedReceiver<SttEvent>) -> (String, u32, usize) {
    let mut partials = 0;
    loop {
        let event = tokio::time::timeout(Duration::from_secs(30), events.recv())
            .await
            .expect("a final within 30 s")
            .expect("the session is alive");
        match event {
            SttEvent::Partial { text } => {
                assert!(!text.is_empty(), "partials are never empty");
                partials += 1;
            }
            SttEvent::Final { text, audio_ms, .. } => return (text, audio_ms, partials),
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// `text` spoken by `tts` over the phone, with 300 ms of silence before and 400 ms after (what
/// the end-of-turn detector lets through).
pub(crate) async fn on_the_phone(tts: &EspeakTts, text: &str) -> Vec<i16> {
    let speech = tts.synthesize(text).await.expect("synthesizes");
    let mut audio = vec![0i16; 2_400];
    audio.extend(telephone(speech.samples()));
    audio.extend(std::iter::repeat_n(0, 3_200));
    audio
}
