//! A sans-IO decoder for server-sent events (the `text/event-stream` framing of streamed chat
//! completions): bytes in, in whatever pieces the network delivers them; the `data` of each
//! complete event out.
//!
//! Follows the WHATWG rules that matter here: lines end with `\n` or `\r\n`; `data:` lines
//! (one optional space after the colon) of one event are joined with `\n`; a blank line ends
//! the event; `:` comments and the `event`, `id` and `retry` fields are ignored. Lines are cut
//! on bytes, so a UTF-8 character split between two network reads is put back together.

/// Longest line kept (1 MiB); a longer one is an error, not unbounded memory.
const MAX_LINE: usize = 1 << 20;

/// The decoder's state between network reads.
#[derive(Debug, Default)]
pub(crate) struct SseDecoder {
    /// Bytes of an unfinished line.
    line: Vec<u8>,
    /// `data` of the event being read.
    data: String,
    /// Whether the event being read has had a `data` field (even an empty one).
    has_data: bool,
}

impl SseDecoder {
    /// Feeds bytes; returns the `data` of every event they complete, in order.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Result<Vec<String>, String> {
        let mut events = Vec::new();
        let mut rest = bytes;
        while let Some(pos) = rest.iter().position(|&b| b == b'\n') {
            self.line.extend_from_slice(&rest[..pos]);
            rest = &rest[pos + 1..];
            let mut line = std::mem::take(&mut self.line);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if let Some(event) = self.line_done(&line)? {
                events.push(event);
            }
        }
        self.line.extend_from_slice(rest);
        if self.line.len() > MAX_LINE {
            return Err(format!("event-stream line longer than {MAX_LINE} bytes"));
        }
        Ok(events)
    }

    /// The stream has ended: the last event, if the server did not end it with a blank line.
    pub(crate) fn finish(&mut self) -> Result<Option<String>, String> {
        let mut line = std::mem::take(&mut self.line);
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if !line.is_empty()
            && let Some(event) = self.line_done(&line)?
        {
            return Ok(Some(event));
        }
        self.line_done(b"")
    }

    fn line_done(&mut self, line: &[u8]) -> Result<Option<String>, String> {
        if line.is_empty() {
            if !self.has_data {
                return Ok(None);
            }
            self.has_data = false;
            return Ok(Some(std::mem::take(&mut self.data)));
        }
        let line = std::str::from_utf8(line)
            .map_err(|_| "event-stream line is not valid UTF-8".to_owned())?;
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        if field == "data" {
            if self.has_data {
                self.data.push('\n');
            }
            self.data.push_str(value);
            self.has_data = true;
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_in_pieces(input: &[u8], piece: usize) -> Vec<String> {
        let mut d = SseDecoder::default();
        let mut out = Vec::new();
        for chunk in input.chunks(piece) {
            out.extend(d.push(chunk).unwrap());
        }
        out.extend(d.finish().unwrap());
        out
    }

    #[test]
    fn events_survive_any_split() {
        let input = "data: {\"a\":\"héllo\"}\r\n\r\n: keep-alive comment\n\nevent: x\ndata:one\ndata: two\n\ndata: [DONE]\n\n";
        for piece in 1..input.len() {
            assert_eq!(
                decode_in_pieces(input.as_bytes(), piece),
                ["{\"a\":\"héllo\"}", "one\ntwo", "[DONE]"],
                "split every {piece} bytes"
            );
        }
    }

    #[test]
    fn a_last_event_without_blank_line_is_kept() {
        assert_eq!(
            decode_in_pieces(b"data: x\n\ndata: [DONE]", 4),
            ["x", "[DONE]"]
        );
        assert_eq!(decode_in_pieces(b"data: [DONE]\n", 5), ["[DONE]"]);
        assert!(decode_in_pieces(b": only a comment\n\n", 3).is_empty());
    }

    #[test]
    fn bad_input_is_an_error() {
        let mut d = SseDecoder::default();
        assert!(d.push(b"data: \xff\xfe\n").is_err());
        let mut d = SseDecoder::default();
        assert!(d.push(&vec![b'a'; MAX_LINE + 1]).is_err());
    }
}
