//! Keyword grammars: an agent's keywords and phrases turned into a JSGF grammar the decoder
//! can search, checked against the pronunciation dictionary first.
//!
//! A scripted agent listens for a few words ("appointment", "hours", "goodbye"). Searching
//! only those words (any number of them, in any order, or none) is what makes offline
//! recognition of 8 kHz phone audio usable: the open-vocabulary language model turns "book an
//! appointment" into "look at all you", the grammar finds "book appointment". The price is that
//! every sound is heard as one of the keywords or as silence, so a caller who says something
//! else may produce a wrong keyword; the agent's fallback handles that.
//!
//! Words the dictionary does not know cannot be searched (there is no letter-to-sound model
//! in pocketsphinx 5prealpha), so phrases containing one are skipped with a warning.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::Path;

use super::SttError;

/// The words of the pronunciation dictionary (lower case, alternates like `read(2)` folded).
#[derive(Debug, Default)]
pub(crate) struct Vocabulary {
    words: HashSet<Box<str>>,
}

impl Vocabulary {
    /// Reads the word column of a CMU-format dictionary (`word  PH ON ES` per line).
    pub(crate) fn load(dict: &Path) -> Result<Self, SttError> {
        Ok(Self::from_dictionary_text(&super::read_dictionary(dict)?))
    }

    /// Parses dictionary text (the word before the first whitespace on each line).
    pub(crate) fn from_dictionary_text(text: &str) -> Self {
        let words = text
            .lines()
            .filter_map(|line| line.split_whitespace().next())
            .map(|word| word.split('(').next().unwrap_or(word))
            .filter(|word| !word.is_empty())
            .map(|word| word.to_lowercase().into_boxed_str())
            .collect();
        Self { words }
    }

    /// Whether the dictionary has a pronunciation for `word` (already lower case).
    pub(crate) fn contains(&self, word: &str) -> bool {
        self.words.contains(word)
    }

    /// Number of distinct words.
    pub(crate) fn len(&self) -> usize {
        self.words.len()
    }
}

/// A keyword grammar ready for the decoder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Grammar {
    /// The JSGF text; also the key decoders cache the compiled search under.
    pub(crate) jsgf: String,
    /// The phrases searched for, normalised (lower case, single spaces).
    pub(crate) phrases: Vec<String>,
    /// The phrases left out because a word is not in the dictionary.
    pub(crate) skipped: Vec<String>,
}

/// Lower-cases a keyword or phrase and keeps only letters, digits and apostrophes inside
/// words; other characters separate words. Returns the words.
pub(crate) fn normalise(phrase: &str) -> Vec<String> {
    phrase
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .map(|w| w.trim_matches('\'').to_lowercase())
        .filter(|w| !w.is_empty())
        .collect()
}

/// Builds the grammar "any sequence of these phrases, or nothing" from `keywords`.
///
/// Fails with [`SttError::InvalidConfig`] when no phrase survives (all empty or unknown).
pub(crate) fn build(keywords: &[String], vocabulary: &Vocabulary) -> Result<Grammar, SttError> {
    let mut phrases: Vec<String> = Vec::new();
    let mut skipped = Vec::new();
    let mut seen = HashSet::new();
    for keyword in keywords {
        let words = normalise(keyword);
        if words.is_empty() {
            continue;
        }
        let phrase = words.join(" ");
        if !seen.insert(phrase.clone()) {
            continue;
        }
        if words.iter().all(|w| vocabulary.contains(w)) {
            phrases.push(phrase);
        } else {
            skipped.push(phrase);
        }
    }
    if phrases.is_empty() {
        return Err(SttError::InvalidConfig(format!(
            "no keyword can be recognised (unknown to the dictionary: {skipped:?})"
        )));
    }
    let mut jsgf = String::from(
        "#JSGF V1.0;\ngrammar keywords;\npublic <utterance> = <keyword>* ;\n<keyword> = ",
    );
    for (i, phrase) in phrases.iter().enumerate() {
        if i > 0 {
            jsgf.push_str(" | ");
        }
        // Normalised words hold only letters, digits and apostrophes: nothing JSGF treats
        // as syntax, so they need no quoting.
        let _ = write!(jsgf, "( {phrase} )");
    }
    jsgf.push_str(" ;\n");
    Ok(Grammar {
        jsgf,
        phrases,
        skipped,
    })
}

/// Everyday words a caller says around the keywords. In a boosted search they compete with
/// the keywords for the caller's other words, so that not every sound becomes a keyword.
const FILLERS: &[&str] = &[
    "i", "a", "an", "the", "to", "of", "and", "or", "for", "in", "on", "at", "is", "are", "was",
    "be", "it", "this", "that", "what", "when", "where", "who", "how", "can", "could", "would",
    "will", "do", "does", "did", "you", "your", "my", "me", "we", "our", "us", "they", "he", "she",
    "have", "has", "had", "not", "no", "yes", "please", "thanks", "thank", "like", "want", "need",
    "get", "go", "come", "tell", "know", "about", "with", "from", "some", "any", "time", "day",
    "today", "tomorrow", "morning", "evening", "week", "there", "here", "just", "so", "but", "if",
    "up", "out", "now", "hello", "hi", "okay", "well", "right", "one", "two", "three", "four",
    "five", "next", "new", "call", "speak", "talk", "help", "see", "make", "much", "many", "more",
    "again", "sorry", "good", "great", "sure",
];

/// How much likelier the boosted grammar takes a keyword phrase than a filler word. Without
/// fillers every sound becomes a keyword ("for tomorrow" → "appointment book"); with them,
/// on espeak-ng phone audio, weights from 1 to 1000 gave the same results (see the boosted
/// test in `tests/stt_pocketsphinx.rs`), so this leans towards keywords without evidence of
/// a best value.
const KEYWORD_WEIGHT: u32 = 20;

/// The grammar of a boosted search: any sequence of the keyword phrases of `grammar` and
/// everyday filler words (those that are not keyword words, and are in the dictionary).
pub(crate) fn with_fillers(grammar: &Grammar, vocabulary: &Vocabulary) -> String {
    let keyword_words: HashSet<&str> = grammar.phrases.iter().flat_map(|p| p.split(' ')).collect();
    let fillers: Vec<&str> = FILLERS
        .iter()
        .copied()
        .filter(|w| !keyword_words.contains(w) && vocabulary.contains(w))
        .collect();
    let keywords = grammar
        .jsgf
        .lines()
        .find(|l| l.starts_with("<keyword> = "))
        .unwrap_or("<keyword> = <NULL> ;");
    let mut jsgf = String::from("#JSGF V1.0;\ngrammar boosted;\n");
    if fillers.is_empty() {
        jsgf.push_str("public <utterance> = <keyword>* ;\n");
    } else {
        let _ = writeln!(
            jsgf,
            "public <utterance> = ( /{KEYWORD_WEIGHT}/ <keyword> | /1/ <filler> )* ;"
        );
        let _ = writeln!(jsgf, "<filler> = {} ;", fillers.join(" | "));
    }
    jsgf.push_str(keywords);
    jsgf.push('\n');
    jsgf
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocabulary() -> Vocabulary {
        Vocabulary::from_dictionary_text(
            "book B UH K\nappointment AH P OY N T M AH N T\nhours AW ER Z\nhours(2) AW R Z\n\
             speak S P IY K\nto T UW\na AH\nperson P ER S AH N\ndon't D OW N T\n",
        )
    }

    #[test]
    fn dictionary_alternates_fold_into_one_word() {
        let vocab = vocabulary();
        assert_eq!(vocab.len(), 8);
        assert!(vocab.contains("hours"));
        assert!(!vocab.contains("hours(2)"));
    }

    #[test]
    fn keywords_are_normalised_deduplicated_and_checked() {
        let keywords = [
            "Book",
            "book",
            "  appointment! ",
            "Speak to a PERSON",
            "Jameson",
            "",
            "don't",
        ]
        .map(String::from);
        let grammar = build(&keywords, &vocabulary()).expect("some keywords are known");
        assert_eq!(
            grammar.phrases,
            ["book", "appointment", "speak to a person", "don't"]
        );
        assert_eq!(grammar.skipped, ["jameson"]);
        assert!(grammar.jsgf.starts_with("#JSGF V1.0;"));
        assert!(grammar.jsgf.contains(
            "<keyword> = ( book ) | ( appointment ) | ( speak to a person ) | ( don't ) ;"
        ));
        assert!(grammar.jsgf.contains("public <utterance> = <keyword>* ;"));
    }

    #[test]
    fn boosted_grammars_add_the_fillers_that_are_not_keywords() {
        let keywords = ["book", "speak to a person"].map(String::from);
        let grammar = build(&keywords, &vocabulary()).expect("known");
        let jsgf = with_fillers(&grammar, &vocabulary());
        // Of the fillers, the test dictionary knows "to" and "a", both keyword words.
        assert!(jsgf.contains("public <utterance> = <keyword>* ;"), "{jsgf}");
        assert!(!jsgf.contains("<filler>"), "{jsgf}");
        let vocabulary =
            Vocabulary::from_dictionary_text("book B UH K\nthe DH AH\nplease P L IY Z\n");
        let grammar = build(&["book".to_owned()], &vocabulary).expect("known");
        let jsgf = with_fillers(&grammar, &vocabulary);
        assert!(jsgf.contains("public <utterance> = ( /20/ <keyword> | /1/ <filler> )* ;"));
        assert!(jsgf.contains("<filler> = the | please ;"), "{jsgf}");
        assert!(jsgf.contains("<keyword> = ( book ) ;"), "{jsgf}");
    }

    #[test]
    fn punctuation_splits_words_and_quotes_are_trimmed() {
        assert_eq!(
            normalise("opening-hours, 'please'"),
            ["opening", "hours", "please"]
        );
        assert!(normalise(" ?! ").is_empty());
    }

    #[test]
    fn only_unknown_or_empty_keywords_is_a_config_error() {
        let keywords = ["Jameson", "  "].map(String::from);
        let err = build(&keywords, &vocabulary()).expect_err("nothing to search");
        assert!(matches!(err, SttError::InvalidConfig(m) if m.contains("jameson")));
        assert!(matches!(
            build(&[], &vocabulary()),
            Err(SttError::InvalidConfig(_))
        ));
    }
}
