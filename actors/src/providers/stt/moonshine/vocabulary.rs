//! Moonshine's vocabulary, read from the model's `tokenizer.bin`: the bytes of each token id, in
//! order. Each entry is a length (one byte below 128; otherwise two bytes, the low seven bits
//! first) and that many bytes; an empty entry is a single zero byte. Sentence-piece marks
//! (`▁`) stand for spaces.

use std::path::Path;

use crate::providers::stt::SttError;

/// The sentence-piece word mark.
const WORD_MARK: &str = "\u{2581}";

/// Token id → bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Vocabulary {
    tokens: Vec<Box<[u8]>>,
}

impl Vocabulary {
    /// Reads `path`; `Unavailable` when it cannot be read, is empty or is cut short.
    pub(crate) fn load(path: &Path) -> Result<Self, SttError> {
        let data = std::fs::read(path).map_err(|e| {
            SttError::Unavailable(format!("moonshine: cannot read {}: {e}", path.display()))
        })?;
        match Self::parse(&data) {
            Some(vocabulary) if vocabulary.len() > 0 => Ok(vocabulary),
            _ => Err(SttError::Unavailable(format!(
                "moonshine: {} is not a tokenizer file (empty or cut short)",
                path.display()
            ))),
        }
    }

    /// The entries of `data`, or `None` when an entry runs past its end.
    fn parse(data: &[u8]) -> Option<Self> {
        let mut tokens = Vec::new();
        let mut rest = data;
        while let Some((&first, tail)) = rest.split_first() {
            let (len, tail) = if first < 128 {
                (usize::from(first), tail)
            } else {
                let (&second, tail) = tail.split_first()?;
                (usize::from(second) * 128 + usize::from(first - 128), tail)
            };
            if tail.len() < len {
                return None;
            }
            let (token, tail) = tail.split_at(len);
            tokens.push(token.into());
            rest = tail;
        }
        Some(Vocabulary { tokens })
    }

    /// Token ids in the vocabulary.
    pub(crate) fn len(&self) -> usize {
        self.tokens.len()
    }

    /// The text of `ids` (ids outside the vocabulary are left out), spaces trimmed.
    pub(crate) fn decode(&self, ids: &[u32]) -> String {
        let bytes: Vec<u8> = ids
            .iter()
            .filter_map(|&id| self.tokens.get(id as usize))
            .flat_map(|token| token.iter().copied())
            .collect();
        String::from_utf8_lossy(&bytes)
            .replace(WORD_MARK, " ")
            .trim()
            .to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(token: &[u8]) -> Vec<u8> {
        let len = token.len();
        let mut out = if len < 128 {
            vec![len as u8]
        } else {
            vec![(len % 128) as u8 + 128, (len / 128) as u8]
        };
        out.extend_from_slice(token);
        out
    }

    #[test]
    fn entries_short_long_and_empty_are_read_in_order() {
        let long = vec![b'x'; 300];
        let mut data = entry(b"<s>");
        data.push(0);
        data.extend(entry("\u{2581}book".as_bytes()));
        data.extend(entry(&long));
        let vocabulary = Vocabulary::parse(&data).unwrap();
        assert_eq!(vocabulary.len(), 4);
        assert_eq!(&*vocabulary.tokens[0], b"<s>");
        assert!(vocabulary.tokens[1].is_empty());
        assert_eq!(vocabulary.tokens[3].len(), 300);
    }

    #[test]
    fn word_marks_become_spaces_and_unknown_ids_are_skipped() {
        let mut data = Vec::new();
        for token in ["\u{2581}I", "\u{2581}would", "\u{2581}like", "."] {
            data.extend(entry(token.as_bytes()));
        }
        let vocabulary = Vocabulary::parse(&data).unwrap();
        assert_eq!(vocabulary.decode(&[0, 1, 99, 2, 3]), "I would like.");
    }

    #[test]
    fn a_file_cut_inside_an_entry_is_refused() {
        let mut data = entry(b"hello");
        data.truncate(3);
        assert_eq!(Vocabulary::parse(&data), None);
        assert_eq!(Vocabulary::parse(&[200]), None);
    }
}
