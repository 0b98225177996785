//! Cuts text into sentences: a language model's as it streams in, so the first sentence can be
//! spoken while the model is still writing the rest, and a whole answer (a greeting, a scripted
//! reply), so each sentence is its own phrase: synthesized and cached on its own, the first one
//! playing while the next is synthesized, and a barge-in's transcript keeps the sentences the
//! caller heard.
//!
//! A sentence ends at `.`, `!`, `?` or `…` (runs such as `?!` or `...` count as one), plus any
//! closing quotes or brackets, when whitespace follows. An ending at the very end of the text
//! so far waits for the next piece (`3.` may become `3.5`), and common abbreviations (`Dr.`,
//! `e.g.`) do not end a sentence. Whatever is left when the stream ends is the last sentence.

/// Words after which a full stop does not end the sentence.
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "etc", "e.g", "i.e", "no", "approx",
];

/// Sentence splitter state: text not yet cut into a sentence.
#[derive(Debug, Default)]
pub(crate) struct SentenceSplitter {
    pending: String,
}

fn is_terminator(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '…')
}

fn is_closer(c: char) -> bool {
    matches!(c, '"' | '\'' | ')' | ']' | '”' | '’' | '»')
}

impl SentenceSplitter {
    /// Adds a piece of text; returns the sentences it completes, trimmed, in order.
    pub(crate) fn push(&mut self, text: &str) -> Vec<String> {
        self.pending.push_str(text);
        let mut sentences = Vec::new();
        while let Some(end) = self.sentence_end() {
            let sentence = self.pending[..end].trim().to_owned();
            self.pending.drain(..end);
            if !sentence.is_empty() {
                sentences.push(sentence);
            }
        }
        sentences
    }

    /// The stream is over: the remaining text, if any.
    pub(crate) fn finish(&mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.pending);
        let rest = rest.trim();
        (!rest.is_empty()).then(|| rest.to_owned())
    }

    /// The sentences of a whole text.
    pub(crate) fn split(text: &str) -> Vec<String> {
        let mut splitter = SentenceSplitter::default();
        let mut sentences = splitter.push(text);
        sentences.extend(splitter.finish());
        sentences
    }

    /// Byte offset just past the first complete sentence of `pending`.
    fn sentence_end(&self) -> Option<usize> {
        let text = &self.pending;
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if !is_terminator(c) {
                continue;
            }
            let mut end = i + c.len_utf8();
            while let Some(&(j, next)) = chars.peek() {
                if is_terminator(next) || is_closer(next) {
                    end = j + next.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            match chars.peek() {
                Some(&(_, next)) if next.is_whitespace() => {
                    if c == '.' && ends_with_abbreviation(&text[..i]) {
                        continue;
                    }
                    return Some(end);
                }
                _ => continue,
            }
        }
        None
    }
}

fn ends_with_abbreviation(before_dot: &str) -> bool {
    let word = before_dot
        .rsplit(|c: char| c.is_whitespace() || c == '(' || c == '"')
        .next()
        .unwrap_or("");
    let word = word.to_lowercase();
    ABBREVIATIONS.contains(&word.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(pieces: &[&str]) -> Vec<String> {
        let mut s = SentenceSplitter::default();
        let mut out: Vec<String> = pieces.iter().flat_map(|p| s.push(p)).collect();
        out.extend(s.finish());
        out
    }

    #[test]
    fn sentences_come_out_as_soon_as_they_end() {
        let mut s = SentenceSplitter::default();
        assert!(s.push("Sure, I can").is_empty());
        assert_eq!(s.push(" help. The"), ["Sure, I can help."]);
        assert_eq!(s.finish().as_deref(), Some("The"));
        let mut s2 = SentenceSplitter::default();
        assert!(
            s2.push("Sure, I can help.").is_empty(),
            "wait: `.` may be `.5`"
        );
        assert_eq!(s2.push(" What"), ["Sure, I can help."]);
        assert_eq!(s2.push(" day?\nOr"), ["What day?"]);
        assert_eq!(s2.finish().as_deref(), Some("Or"));
    }

    #[test]
    fn numbers_abbreviations_quotes_and_runs() {
        assert_eq!(
            split(&[
                "It costs 3",
                ".5 dollars. Dr",
                ". Smith is in! ",
                "Really?! \"Yes.\" Ok"
            ]),
            [
                "It costs 3.5 dollars.",
                "Dr. Smith is in!",
                "Really?!",
                "\"Yes.\"",
                "Ok"
            ]
        );
        assert_eq!(split(&["Wait… what", "... ok"]), ["Wait…", "what...", "ok"]);
        assert!(split(&["  ", "\n"]).is_empty());
    }
}
