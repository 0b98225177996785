//! How a pool worker serves one session: keyword sessions get their finished utterances
//! decoded whole (and a partial when the pool is idle), open-vocabulary sessions keep the
//! worker's decoder for one utterance, fed as the audio arrives; boosted sessions too, and
//! then the keyword grammar decodes the utterance whole to correct the transcript. See
//! `pool.rs` for the scheduling around it.

use super::SttError;
use super::boost;
use super::decoder::Decoder;
use super::pool::{Cmd, Mode, Shared, lock};
use super::upsample::Upsampler2x;

/// Every utterance is dithered with the same sequence, so the same audio is always
/// recognised the same way (whichever session, decoder or order).
const DITHER_SEED: u32 = 0x5EED_0001;

/// Serves `session` once: one live utterance, or the keyword work queued so far.
pub(crate) fn serve(decoder: &mut Decoder, session: &Shared, others_waiting: bool) {
    match &session.mode {
        Mode::Live => serve_live(decoder, session, None),
        Mode::Boosted { jsgf, keywords } => serve_live(decoder, session, Some((jsgf, keywords))),
        Mode::Whole { jsgf } => serve_whole(decoder, session, jsgf, others_waiting),
    }
}

/// Keyword mode: collect queued audio, decode finished utterances, maybe a partial.
fn serve_whole(decoder: &mut Decoder, session: &Shared, jsgf: &str, others_waiting: bool) {
    let cmds: Vec<Cmd> = {
        let mut inbox = session.lock_inbox();
        if inbox.closed {
            return;
        }
        inbox.backlog = 0;
        inbox.cmds.drain(..).collect()
    };
    let mut work = lock(&session.work);
    for cmd in cmds {
        match cmd {
            Cmd::Audio(samples) => work.utterance.extend_from_slice(&samples),
            Cmd::End => {
                let result = decode_whole(decoder, jsgf, &work.utterance);
                session.emit_final(result, work.utterance.len());
                work.utterance.clear();
                work.partial_mark = 0;
                work.last_partial.clear();
            }
        }
    }
    let fresh = work.utterance.len() - work.partial_mark;
    if fresh >= session.partial_samples && !others_waiting {
        work.partial_mark = work.utterance.len();
        // A failed partial is not worth an event: the final will report the failure.
        if let Ok(text) = decode_whole(decoder, jsgf, &work.utterance) {
            session.emit_partial(&mut work, text);
        }
    }
}

/// Ends a boosted utterance: the language model's words, with the `keywords` the boosted
/// grammar (`jsgf`) hears in the same audio put in where they were said.
fn finish_boosted(
    decoder: &mut Decoder,
    jsgf: &str,
    keywords: &[String],
    audio: &[i16],
) -> Result<String, SttError> {
    decoder.finish_live()?;
    let open = decoder.segments();
    decode_whole(decoder, jsgf, audio)?;
    let mut heard = decoder.segments();
    heard.retain(|s| keywords.contains(&s.word));
    Ok(boost::merge(&open, &heard))
}

fn decode_whole(decoder: &mut Decoder, jsgf: &str, audio: &[i16]) -> Result<String, SttError> {
    let mut wide = Vec::new();
    Upsampler2x::new(DITHER_SEED).process(audio, &mut wide);
    decoder.use_grammar(jsgf)?;
    decoder.decode_whole(&wide)
}

/// Open-vocabulary mode: hold the decoder for one utterance, feeding audio as it comes; with
/// `boost` (a keyword grammar), keep the utterance to correct the final with it.
fn serve_live(decoder: &mut Decoder, session: &Shared, boost: Option<(&str, &[String])>) {
    let mut upsampler = Upsampler2x::new(DITHER_SEED);
    let mut wide = Vec::new();
    let mut utterance = Vec::new();
    let mut samples = 0usize;
    let mut partial_mark = 0usize;
    let mut started = false;
    let mut failure: Option<SttError> = None;
    while let Some(cmd) = session.next_cmd() {
        match cmd {
            Cmd::Audio(audio) => {
                samples += audio.len();
                if failure.is_some() {
                    continue;
                }
                if !started {
                    match decoder
                        .use_language_model()
                        .and_then(|()| decoder.start_live())
                    {
                        Ok(()) => started = true,
                        Err(e) => {
                            failure = Some(e);
                            continue;
                        }
                    }
                }
                if boost.is_some() {
                    utterance.extend_from_slice(&audio);
                }
                wide.clear();
                upsampler.process(&audio, &mut wide);
                if let Err(e) = decoder.feed(&wide) {
                    failure = Some(e);
                    continue;
                }
                if samples - partial_mark >= session.partial_samples {
                    partial_mark = samples;
                    let mut work = lock(&session.work);
                    session.emit_partial(&mut work, decoder.hypothesis());
                }
            }
            Cmd::End => {
                let result = match (failure, started) {
                    (Some(e), _) => {
                        if started {
                            let _ = decoder.finish_live();
                        }
                        Err(e)
                    }
                    (None, true) => match boost {
                        Some((jsgf, keywords)) => {
                            finish_boosted(decoder, jsgf, keywords, &utterance)
                        }
                        None => decoder.finish_live(),
                    },
                    (None, false) => Ok(String::new()),
                };
                session.emit_final(result, samples);
                lock(&session.work).last_partial.clear();
                return;
            }
        }
    }
    // Closed mid-utterance: end it so the decoder is ready for the next session.
    if started {
        let _ = decoder.finish_live();
    }
}
