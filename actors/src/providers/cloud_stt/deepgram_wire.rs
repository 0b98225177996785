//! Deepgram's streaming wire format and the sans-IO bookkeeping of one session's utterances.
//!
//! Deepgram answers with `Results` messages: interim hypotheses (`is_final: false`) that the
//! next message replaces, and final segments (`is_final: true`) that add up to the utterance.
//! Our turn detector, not Deepgram's endpointing, ends an utterance: `finish_utterance` sends
//! `Finalize`, and the result flagged `from_finalize` closes it. [`Utterances`] turns that into
//! the session contract (partials, then exactly one `Final` or `Failed` per finished utterance,
//! in order), with a time limit in case the flagged result never comes.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::normalize;
use crate::providers::stt::{SttError, SttEvent};

/// Percent-encodes a query value (RFC 3986 unreserved characters pass).
pub(crate) fn query_value(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(Debug, Deserialize)]
struct Message {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    channel: Option<Channel>,
    #[serde(default)]
    is_final: bool,
    #[serde(default)]
    from_finalize: bool,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Channel {
    #[serde(default)]
    alternatives: Vec<Alternative>,
}

#[derive(Debug, Deserialize)]
struct Alternative {
    #[serde(default)]
    transcript: String,
    #[serde(default)]
    confidence: Option<f32>,
}

/// One recognition result.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Recognized {
    pub(crate) transcript: String,
    pub(crate) confidence: Option<f32>,
    pub(crate) is_final: bool,
    pub(crate) from_finalize: bool,
}

/// A message from Deepgram.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Incoming {
    Result(Recognized),
    /// Deepgram reported an error (it closes the socket next).
    Error(String),
    /// Metadata, SpeechStarted, UtteranceEnd: nothing to do.
    Other,
}

pub(crate) fn parse(text: &str) -> Result<Incoming, String> {
    let m: Message = serde_json::from_str(text).map_err(|e| format!("unreadable message: {e}"))?;
    match m.kind.as_str() {
        "Results" => {
            let best = m.channel.and_then(|c| c.alternatives.into_iter().next());
            Ok(Incoming::Result(Recognized {
                transcript: best
                    .as_ref()
                    .map(|a| a.transcript.clone())
                    .unwrap_or_default(),
                confidence: best.and_then(|a| a.confidence),
                is_final: m.is_final,
                from_finalize: m.from_finalize,
            }))
        }
        "Error" => Ok(Incoming::Error(
            m.description
                .or(m.message)
                .unwrap_or_else(|| text.chars().take(200).collect()),
        )),
        _ => Ok(Incoming::Other),
    }
}

/// A finished utterance waiting for its final text.
#[derive(Debug)]
struct Pending {
    audio_ms: u32,
    /// When to give up waiting; `None` for an utterance without audio (nothing to wait for).
    deadline: Option<Instant>,
}

/// The utterances of one session, from audio sent to final events.
#[derive(Debug)]
pub(crate) struct Utterances {
    finalize_timeout: Duration,
    finals: Vec<String>,
    confidences: Vec<f32>,
    interim: String,
    /// Audio sent since the last finished utterance.
    audio_ms: u32,
    pending: VecDeque<Pending>,
    /// Finalize answers still to come for utterances already closed by their time limit.
    stale: u32,
    events: VecDeque<SttEvent>,
}

impl Utterances {
    pub(crate) fn new(finalize_timeout: Duration) -> Self {
        Self {
            finalize_timeout,
            finals: Vec::new(),
            confidences: Vec::new(),
            interim: String::new(),
            audio_ms: 0,
            pending: VecDeque::new(),
            stale: 0,
            events: VecDeque::new(),
        }
    }

    /// `ms` of audio went to Deepgram.
    pub(crate) fn on_audio(&mut self, ms: u32) {
        self.audio_ms = self.audio_ms.saturating_add(ms);
    }

    /// The caller's turn ended at `now`; returns whether to send `Finalize` (there was audio).
    pub(crate) fn on_finish(&mut self, now: Instant) -> bool {
        let audio_ms = std::mem::take(&mut self.audio_ms);
        let deadline = (audio_ms > 0).then(|| now + self.finalize_timeout);
        self.pending.push_back(Pending { audio_ms, deadline });
        self.resolve_ready();
        deadline.is_some()
    }

    /// A result arrived.
    pub(crate) fn on_result(&mut self, r: Recognized) {
        if r.from_finalize && self.stale > 0 {
            self.stale -= 1;
            return;
        }
        if r.is_final {
            if !r.transcript.trim().is_empty() {
                self.finals.push(r.transcript);
                self.confidences.extend(r.confidence);
            }
            self.interim.clear();
        } else {
            self.interim = r.transcript;
        }
        let awaited = self.pending.front().is_some_and(|p| p.deadline.is_some());
        if r.from_finalize && awaited {
            self.complete_front();
        } else {
            let text = self.text();
            if !text.is_empty() {
                self.events.push_back(SttEvent::Partial { text });
            }
        }
    }

    /// Time passed: an utterance whose final text did not come in time gets what was heard.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        while self.poll_timeout().is_some_and(|d| d <= now) {
            self.stale += 1;
            self.complete_front();
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.pending.front().and_then(|p| p.deadline)
    }

    /// The connection was lost: utterances waiting for text fail, what was heard is dropped.
    pub(crate) fn on_lost(&mut self, reason: &str) {
        for p in std::mem::take(&mut self.pending) {
            self.events.push_back(match p.deadline {
                Some(_) => SttEvent::Failed {
                    error: SttError::Decode(reason.to_owned()),
                },
                None => SttEvent::Final {
                    text: String::new(),
                    confidence: None,
                    audio_ms: 0,
                },
            });
        }
        self.finals.clear();
        self.confidences.clear();
        self.interim.clear();
        self.audio_ms = 0;
        self.stale = 0;
    }

    /// The next event for the session's channel.
    pub(crate) fn poll_event(&mut self) -> Option<SttEvent> {
        self.events.pop_front()
    }

    fn text(&self) -> String {
        let mut parts: Vec<&str> = self.finals.iter().map(String::as_str).collect();
        parts.push(&self.interim);
        normalize(&parts.join(" "))
    }

    fn complete_front(&mut self) {
        let Some(p) = self.pending.pop_front() else {
            return;
        };
        let text = self.text();
        let confidence = (!self.confidences.is_empty())
            .then(|| self.confidences.iter().sum::<f32>() / self.confidences.len() as f32);
        self.finals.clear();
        self.confidences.clear();
        self.interim.clear();
        self.events.push_back(SttEvent::Final {
            text,
            confidence,
            audio_ms: p.audio_ms,
        });
        self.resolve_ready();
    }

    /// Utterances without audio at the front are final (and empty) at once.
    fn resolve_ready(&mut self) {
        while self.pending.front().is_some_and(|p| p.deadline.is_none()) {
            self.pending.pop_front();
            self.events.push_back(SttEvent::Final {
                text: String::new(),
                confidence: None,
                audio_ms: 0,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(text: &str, conf: f32, is_final: bool, from_finalize: bool) -> Recognized {
        Recognized {
            transcript: text.into(),
            confidence: Some(conf),
            is_final,
            from_finalize,
        }
    }

    fn drain(u: &mut Utterances) -> Vec<SttEvent> {
        std::iter::from_fn(|| u.poll_event()).collect()
    }

    #[test]
    fn messages_parse() {
        let m = r#"{"type":"Results","channel_index":[0,1],"duration":1.2,"start":0.0,"is_final":true,
            "speech_final":true,"from_finalize":false,"channel":{"alternatives":[{"transcript":"Hello.",
            "confidence":0.9,"words":[]}]},"metadata":{"request_id":"x"}}"#;
        assert_eq!(
            parse(m),
            Ok(Incoming::Result(result("Hello.", 0.9, true, false)))
        );
        assert_eq!(
            parse(r#"{"type":"Metadata","request_id":"x"}"#),
            Ok(Incoming::Other)
        );
        assert_eq!(
            parse(r#"{"type":"Error","description":"bad audio"}"#),
            Ok(Incoming::Error("bad audio".into()))
        );
        assert!(parse("nope").is_err());
        assert_eq!(query_value("en-US"), "en-US");
        assert_eq!(
            query_value("Jameson plumbing&co"),
            "Jameson%20plumbing%26co"
        );
    }

    #[test]
    fn finals_add_up_and_finalize_closes_the_utterance() {
        let t0 = Instant::now();
        let mut u = Utterances::new(Duration::from_secs(1));
        u.on_audio(400);
        u.on_result(result("book an", 0.5, false, false));
        u.on_result(result("Book an appointment,", 0.8, true, false));
        assert!(u.on_finish(t0));
        // An empty utterance finished behind it waits its turn.
        assert!(!u.on_finish(t0));
        u.on_result(result("for Tuesday.", 0.6, true, true));
        let events = drain(&mut u);
        assert_eq!(
            events[0],
            SttEvent::Partial {
                text: "book an".into()
            }
        );
        assert_eq!(
            events[1],
            SttEvent::Partial {
                text: "book an appointment".into()
            }
        );
        assert!(
            matches!(&events[2], SttEvent::Final { text, confidence: Some(c), audio_ms: 400 }
            if text == "book an appointment for tuesday" && (c - 0.7).abs() < 1e-6)
        );
        assert_eq!(
            events[3],
            SttEvent::Final {
                text: String::new(),
                confidence: None,
                audio_ms: 0
            }
        );
        assert_eq!(events.len(), 4);
        assert_eq!(u.poll_timeout(), None);
    }

    #[test]
    fn a_missing_finalize_answer_times_out_and_is_ignored_later() {
        let t0 = Instant::now();
        let mut u = Utterances::new(Duration::from_millis(500));
        u.on_audio(200);
        u.on_result(result("hello", 0.9, false, false));
        assert!(u.on_finish(t0));
        u.handle_timeout(t0 + Duration::from_millis(499));
        assert_eq!(drain(&mut u).len(), 1, "only the partial so far");
        u.handle_timeout(t0 + Duration::from_millis(500));
        assert!(matches!(&drain(&mut u)[..], [SttEvent::Final { text, .. }] if text == "hello"));
        // The late answer does not leak into the next utterance.
        u.on_result(result("hello", 0.9, true, true));
        u.on_audio(100);
        u.on_result(result("bye", 0.9, true, false));
        assert!(u.on_finish(t0));
        u.on_result(result("", 0.0, true, true));
        let events = drain(&mut u);
        assert!(
            matches!(events.last(), Some(SttEvent::Final { text, audio_ms: 100, .. }) if text == "bye")
        );
    }

    #[test]
    fn a_lost_connection_fails_what_was_waiting() {
        let t0 = Instant::now();
        let mut u = Utterances::new(Duration::from_secs(1));
        u.on_audio(100);
        u.on_finish(t0);
        u.on_finish(t0);
        u.on_lost("gone");
        let events = drain(&mut u);
        assert!(
            matches!(&events[0], SttEvent::Failed { error: SttError::Decode(m) } if m == "gone")
        );
        assert!(matches!(&events[1], SttEvent::Final { text, .. } if text.is_empty()));
        assert_eq!(u.poll_timeout(), None);
    }
}
