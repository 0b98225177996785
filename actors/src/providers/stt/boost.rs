//! Vocabulary boosting: the open-vocabulary transcript of an utterance, corrected by the
//! agent's keywords where a keyword search of the same audio heard them.
//!
//! pocketsphinx 5prealpha runs one search per pass and its binary language model cannot
//! re-weight words at run time, so a boosted utterance is decoded twice: live with the
//! language model (partials on the way, any words) and, when it ends, whole with the keyword
//! grammar (tens of milliseconds). Both passes see the same audio, so their word timings line
//! up: each keyword the grammar found replaces the language-model words it overlaps (by at
//! least half of the shorter of the two), and the words are put back in time order. The
//! result keeps the caller's other words ("i would like to … for tomorrow") and has the
//! keywords exactly where the language model alone garbles them ("look at all you" →
//! "book an appointment").

use super::decoder::Segment;

/// The words of `open` (language model) with the `keywords` (grammar pass) put in where they
/// overlap, as lower-case words separated by single spaces.
pub(crate) fn merge(open: &[Segment], keywords: &[Segment]) -> String {
    let overlaps = |a: &Segment, b: &Segment| {
        let shared = a.end.min(b.end) - a.start.max(b.start) + 1;
        let shorter = (a.end - a.start + 1).min(b.end - b.start + 1);
        shared > 0 && 2 * shared >= shorter
    };
    let mut words: Vec<&Segment> = open
        .iter()
        .filter(|w| !keywords.iter().any(|k| overlaps(w, k)))
        .chain(keywords)
        .collect();
    words.sort_by_key(|w| (w.start, w.end));
    words
        .iter()
        .map(|w| w.word.to_lowercase())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(word: &str, start: i32, end: i32) -> Segment {
        Segment {
            word: word.into(),
            start,
            end,
        }
    }

    #[test]
    fn keywords_replace_the_words_they_overlap_and_keep_time_order() {
        // "i would like to look at all you for tomorrow" / grammar: "book appointment".
        let open = [
            seg("i", 10, 20),
            seg("would", 21, 40),
            seg("like", 41, 60),
            seg("to", 61, 70),
            seg("look", 71, 95),
            seg("at", 96, 105),
            seg("all", 106, 125),
            seg("you", 126, 160),
            seg("for", 161, 175),
            seg("tomorrow", 176, 230),
        ];
        let keywords = [seg("book", 72, 94), seg("appointment", 100, 158)];
        assert_eq!(
            merge(&open, &keywords),
            "i would like to book appointment for tomorrow"
        );
    }

    #[test]
    fn a_slight_overlap_keeps_the_word_and_no_keywords_keeps_the_transcript() {
        let open = [seg("hello", 0, 50), seg("there", 51, 90)];
        // Touches "there" for 5 of its 40 frames: not the same word.
        assert_eq!(merge(&open, &[seg("bye", 86, 120)]), "hello there bye");
        assert_eq!(merge(&open, &[]), "hello there");
        assert_eq!(merge(&[], &[seg("goodbye", 3, 40)]), "goodbye");
    }
}
