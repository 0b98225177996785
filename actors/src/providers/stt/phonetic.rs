//! Vocabulary spotting by sound: an agent's keywords found in an open-vocabulary transcript
//! even where the recognizer wrote words that sound nearly the same ("operate her" for
//! "operator", "a pointment" for "appointment").
//!
//! Both sides become phones through the CMU pronouncing dictionary (the one
//! `pocketsphinx-en-us` installs), and a run of one to three transcript words whose phones are
//! within a small edit distance of a keyword's is replaced by the keyword: one phone for
//! keywords of four to six phones, two beyond. Keywords of up to three phones are only found as
//! written (homophones like "by" for "bye" are everyday words). Words the dictionary does not
//! know are left as they are. Pure text in, text out: no engine involved.

use std::collections::HashMap;
use std::path::Path;

use super::SttError;
use super::grammar::normalise;

/// Longest run of transcript words compared with one keyword.
const MAX_WINDOW: usize = 3;
/// Pronunciations kept per word (the dictionary lists up to a handful).
const MAX_PRONUNCIATIONS: usize = 3;

/// A pronunciation: phone ids.
type Phones = Vec<u8>;

/// Words and their pronunciations, phones interned as small ids.
#[derive(Debug, Default)]
pub(crate) struct Pronunciations {
    words: HashMap<Box<str>, Vec<Phones>>,
    phones: HashMap<Box<str>, u8>,
}

impl Pronunciations {
    /// Reads a CMU-format dictionary (`word  PH ON ES` per line, `word(2)` for alternates).
    pub(crate) fn load(dict: &Path) -> Result<Self, SttError> {
        Ok(Self::from_dictionary_text(&super::read_dictionary(dict)?))
    }

    /// Parses dictionary text.
    pub(crate) fn from_dictionary_text(text: &str) -> Self {
        let mut out = Pronunciations::default();
        for line in text.lines() {
            let mut fields = line.split_whitespace();
            let Some(word) = fields.next() else { continue };
            let word = word.split('(').next().unwrap_or(word).to_lowercase();
            let phones: Phones = fields.map(|p| out.phone_id(p)).collect();
            if word.is_empty() || phones.is_empty() {
                continue;
            }
            let entry = out.words.entry(word.into_boxed_str()).or_default();
            if entry.len() < MAX_PRONUNCIATIONS {
                entry.push(phones);
            }
        }
        out
    }

    fn phone_id(&mut self, phone: &str) -> u8 {
        let next = u8::try_from(self.phones.len()).unwrap_or(u8::MAX);
        *self.phones.entry(phone.into()).or_insert(next)
    }

    /// Every pronunciation of `words` spoken one after the other (none when one is unknown).
    fn of(&self, words: &[String]) -> Vec<Phones> {
        let mut out = vec![Phones::new()];
        for word in words {
            let Some(alternatives) = self.words.get(word.as_str()) else {
                return Vec::new();
            };
            out = out
                .iter()
                .flat_map(|prefix| {
                    alternatives.iter().map(move |p| {
                        let mut joined = prefix.clone();
                        joined.extend_from_slice(p);
                        joined
                    })
                })
                .collect();
        }
        out
    }
}

/// One keyword (a word or short phrase) and how it sounds.
#[derive(Debug, Clone)]
struct Keyword {
    words: Vec<String>,
    sounds: Vec<Phones>,
}

/// An agent's keywords, ready to be spotted in transcripts.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeywordSpotter {
    keywords: Vec<Keyword>,
}

/// Edit distance a keyword of `phones` phones tolerates; `None` for short keywords, which are
/// only found as written: too many everyday words sound exactly like them ("by" and "buy" for
/// "bye": "can I come by" must not hang up).
fn tolerance(phones: usize) -> Option<usize> {
    match phones {
        0..=3 => None,
        4..=6 => Some(1),
        _ => Some(2),
    }
}

/// Levenshtein distance between two phone strings, giving up (returning `limit + 1`) once it
/// cannot be `limit` or less.
fn distance(a: &[u8], b: &[u8], limit: usize) -> usize {
    if a.len().abs_diff(b.len()) > limit {
        return limit + 1;
    }
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, pa) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        let mut best = row[0];
        for (j, pb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(pa != pb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
            best = best.min(row[j + 1]);
        }
        if best > limit {
            return limit + 1;
        }
    }
    row[b.len()]
}

impl KeywordSpotter {
    /// The spotter of `keywords`; those the dictionary cannot sound out are still found when
    /// written exactly.
    pub(crate) fn new(keywords: &[String], dictionary: &Pronunciations) -> Self {
        let keywords: Vec<Keyword> = keywords
            .iter()
            .map(|k| normalise(k))
            .filter(|words| !words.is_empty())
            .map(|words| Keyword {
                sounds: dictionary.of(&words),
                words,
            })
            .collect();
        KeywordSpotter { keywords }
    }

    /// Whether `text` (lower-case words) holds one of the keywords.
    pub(crate) fn finds_any(&self, text: &str) -> bool {
        let words: Vec<&str> = text.split(' ').collect();
        self.keywords
            .iter()
            .any(|k| words.windows(k.words.len()).any(|w| w == k.words))
    }

    /// The one keyword `text` (a keyword search's words) holds, perhaps repeated; none when it
    /// holds none, or several different ones.
    pub(crate) fn only_keyword(&self, text: &str) -> Option<String> {
        let mut found = self.keywords_in(text);
        (found.len() == 1).then(|| found.remove(0))
    }

    /// The different keywords `text` (a keyword search's words) holds, each once.
    pub(crate) fn keywords_in(&self, text: &str) -> Vec<String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        self.keywords
            .iter()
            .filter(|k| words.windows(k.words.len()).any(|w| w == k.words))
            .map(|k| k.words.join(" "))
            .collect()
    }

    /// Whether there is nothing to spot.
    pub(crate) fn is_empty(&self) -> bool {
        self.keywords.is_empty()
    }

    /// `transcript` as lower-case words separated by single spaces, with every run of words that
    /// sounds like a keyword replaced by it: the closest first (written out or sounding exactly
    /// alike, then one phone off…), the earlier and then the longer on a tie ("good bye" is
    /// "goodbye", not "good" and "bye"), never overlapping.
    pub(crate) fn spot(&self, transcript: &str, dictionary: &Pronunciations) -> String {
        let words = normalise(transcript);
        let mut candidates = self.candidates(&words, dictionary);
        candidates.sort_by_key(|c| (c.rank, c.start, std::cmp::Reverse(c.take)));
        let mut taken = vec![false; words.len()];
        let mut chosen: Vec<&Candidate> = Vec::new();
        for candidate in &candidates {
            let span = candidate.start..candidate.start + candidate.take;
            if taken[span.clone()].iter().any(|t| *t) {
                continue;
            }
            taken[span].iter_mut().for_each(|t| *t = true);
            chosen.push(candidate);
        }
        chosen.sort_by_key(|c| c.start);
        let mut out: Vec<&str> = Vec::with_capacity(words.len());
        let mut at = 0;
        for candidate in chosen {
            out.extend(words[at..candidate.start].iter().map(String::as_str));
            out.extend(
                self.keywords[candidate.keyword]
                    .words
                    .iter()
                    .map(String::as_str),
            );
            at = candidate.start + candidate.take;
        }
        out.extend(words[at..].iter().map(String::as_str));
        out.join(" ")
    }

    /// Every run of `words` that is a keyword, written or by sound.
    fn candidates(&self, words: &[String], dictionary: &Pronunciations) -> Vec<Candidate> {
        let mut out = Vec::new();
        for start in 0..words.len() {
            let rest = &words[start..];
            for (keyword, k) in self.keywords.iter().enumerate() {
                if rest.starts_with(&k.words) {
                    out.push(Candidate {
                        rank: 0,
                        start,
                        take: k.words.len(),
                        keyword,
                    });
                }
            }
            for take in 1..=MAX_WINDOW.min(rest.len()) {
                let heard = dictionary.of(&rest[..take]);
                for (keyword, k) in self.keywords.iter().enumerate() {
                    let closest = k
                        .sounds
                        .iter()
                        .filter_map(|sound| {
                            let limit = tolerance(sound.len())?;
                            heard
                                .iter()
                                .map(|h| distance(sound, h, limit))
                                .filter(|d| *d <= limit)
                                .min()
                        })
                        .min();
                    if let Some(d) = closest {
                        out.push(Candidate {
                            rank: d,
                            start,
                            take,
                            keyword,
                        });
                    }
                }
            }
        }
        out
    }
}

/// A run of transcript words that is a keyword.
#[derive(Debug)]
struct Candidate {
    /// The phone distance; 0 when written out.
    rank: usize,
    start: usize,
    take: usize,
    keyword: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dictionary() -> Pronunciations {
        Pronunciations::from_dictionary_text(
            "goodbye G UH D B AY\ngood G UH D\nthanks TH AE NG K S\nbye B AY\nbuy B AY\nby B AY\ndon't D OW N T\n\
             operator AA P ER EY T ER\noperate AA P ER EY T\nher HH ER\nher(2) ER\n\
             work W ER K\nbook B UH K\nlook L UH K\nappointment AH P OY N T M AH N T\n\
             a AH\npoint P OY N T\nat AE T\nhours AW ER Z\nhours(2) AW R Z\nours AW ER Z\n\
             person P ER S AH N\nplease P L IY Z\nper P ER\nson S AH N\nthey DH EY\nare AA R\n",
        )
    }

    fn spot(keywords: &[&str], transcript: &str) -> String {
        let dictionary = dictionary();
        let keywords: Vec<String> = keywords.iter().map(|k| k.to_string()).collect();
        KeywordSpotter::new(&keywords, &dictionary).spot(transcript, &dictionary)
    }

    #[test]
    fn words_that_sound_like_a_keyword_become_it() {
        let rules = ["bye", "goodbye", "operator", "hours", "book", "person"];
        assert_eq!(
            spot(&rules, "Put me through to operate her, please."),
            "put me through to operator please"
        );
        assert_eq!(
            spot(&rules, "Put me through to operate."),
            "put me through to operator"
        );
        assert_eq!(spot(&rules, "Thanks. Goodbye!"), "thanks goodbye");
        assert_eq!(spot(&rules, "Thanks, good bye."), "thanks goodbye");
        assert_eq!(spot(&rules, "a per son please"), "a person please");
    }

    #[test]
    fn short_keywords_are_only_found_as_written() {
        // "buy" sounds exactly like "bye", "ours" like "hours", "look" nearly like "book".
        let rules = ["bye", "hours", "book"];
        assert_eq!(spot(&rules, "Don't buy."), "don't buy");
        assert_eq!(spot(&rules, "Are they ours?"), "are they ours");
        assert_eq!(spot(&rules, "I need to look at it"), "i need to look at it");
        assert_eq!(spot(&rules, "Okay, bye!"), "okay bye");
    }

    #[test]
    fn long_keywords_allow_a_little_difference_but_not_half_the_word() {
        // "a point" is half of "appointment": left alone.
        assert_eq!(
            spot(&["appointment"], "I would like to work at a point."),
            "i would like to work at a point"
        );
        assert_eq!(spot(&["person"], "a person please"), "a person please");
    }

    #[test]
    fn phrases_and_unknown_words() {
        assert_eq!(
            spot(&["speak to a person"], "Can I speak to a person?"),
            "can i speak to a person"
        );
        // Not in the dictionary: found only as written.
        assert_eq!(spot(&["zyxw"], "the zyxw please"), "the zyxw please");
        assert!(KeywordSpotter::new(&[], &dictionary()).is_empty());
    }

    #[test]
    fn a_keyword_search_counts_when_it_heard_one_keyword_only() {
        let dictionary = dictionary();
        let keywords = ["book", "goodbye", "speak to a person"].map(String::from);
        let spotter = KeywordSpotter::new(&keywords, &dictionary);
        assert_eq!(spotter.only_keyword("goodbye"), Some("goodbye".into()));
        assert_eq!(spotter.only_keyword("book book"), Some("book".into()));
        assert_eq!(
            spotter.only_keyword("book goodbye"),
            None,
            "two different: forced"
        );
        assert_eq!(spotter.only_keyword(""), None);
        assert_eq!(
            spotter.keywords_in("book goodbye book"),
            ["book", "goodbye"]
        );
        assert!(spotter.finds_any("can i speak to a person"));
        assert!(!spotter.finds_any("a person"));
    }

    #[test]
    fn distance_gives_up_past_its_limit() {
        assert_eq!(distance(&[1, 2, 3], &[1, 2, 3], 0), 0);
        assert_eq!(distance(&[1, 2, 3], &[1, 9, 3], 1), 1);
        assert_eq!(distance(&[1, 2, 3, 4, 5], &[9, 9, 9, 9, 9], 1), 2);
        assert_eq!(distance(&[1], &[1, 2, 3, 4], 1), 2);
    }
}
