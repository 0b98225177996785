//! Content-Length framing of SIP over a byte stream (TCP, RFC 3261 §18.3), sans-IO.
//!
//! A stream carries messages back to back, so each one's end must be found from its headers: the
//! blank line ends the head and `Content-Length` (mandatory over a stream) gives the body's size.
//! Between messages a peer may send keep-alives (RFC 5626 §3.5.1): a double CRLF "ping", which
//! its driver must answer with a single CRLF "pong", or a lone CRLF, which is skipped.
//!
//! The shape follows mini-redis (`frame.rs` inside `connection.rs`): [`StreamFramer`] holds the
//! bytes read so far and [`StreamFramer::next_message`] returns `Ok(None)` while a message is
//! incomplete, which is not an error. Errors mean the stream cannot be framed any more (no or a
//! bad `Content-Length`, an oversized head or body, a start line that is not SIP): the driver
//! closes the connection. Complete messages are split off the buffer without copying.

use bytes::{Buf, Bytes, BytesMut};

/// Default cap on the size of a message's start line and headers.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// Default cap on the size of a message's body.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Spare capacity [`StreamFramer::read_buf`] guarantees for the next read.
const READ_RESERVE: usize = 8 * 1024;
/// How much of an offending start line or value an error quotes.
const QUOTE_MAX: usize = 64;

/// One unit read from the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Framed {
    /// One complete SIP message (head and body), ready for the endpoint.
    Message(Bytes),
    /// A double-CRLF keep-alive ping: answer it with a single CRLF (RFC 5626 §3.5.1).
    Ping,
}

/// Why a stream cannot be framed; the connection must be closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    /// The first line is neither a SIP request line nor a status line.
    #[error("not a SIP/2.0 start line: {0:?}")]
    BadStartLine(String),
    /// No `Content-Length`: mandatory over a stream (RFC 3261 §18.3).
    #[error("no Content-Length (mandatory over a stream, RFC 3261 §18.3)")]
    MissingContentLength,
    /// `Content-Length` is not a decimal number, or appears twice with different values.
    #[error("invalid Content-Length: {0:?}")]
    InvalidContentLength(String),
    /// The start line and headers exceed the limit without ending.
    #[error("message head exceeds {limit} bytes")]
    HeadersTooLarge {
        /// The limit in force.
        limit: usize,
    },
    /// `Content-Length` announces a body above the limit.
    #[error("body of {length} bytes exceeds {limit} bytes")]
    BodyTooLarge {
        /// The announced length.
        length: u64,
        /// The limit in force.
        limit: usize,
    },
}

/// Size limits of a [`StreamFramer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FramingLimits {
    /// Largest start line plus headers, blank line included.
    pub max_header_bytes: usize,
    /// Largest body.
    pub max_body_bytes: usize,
}

impl Default for FramingLimits {
    fn default() -> Self {
        FramingLimits {
            max_header_bytes: MAX_HEADER_BYTES,
            max_body_bytes: MAX_BODY_BYTES,
        }
    }
}

/// Splits a byte stream into SIP messages and keep-alive pings.
///
/// Feed it with [`push`](Self::push) (or read straight into [`read_buf`](Self::read_buf)), then
/// call [`next_message`](Self::next_message) until it returns `Ok(None)`. After an error the
/// stream is unusable.
#[derive(Debug, Default)]
pub struct StreamFramer {
    buf: BytesMut,
    limits: FramingLimits,
    /// Bytes of the current head already searched without finding its end; searches resume here
    /// so a peer trickling bytes costs linear, not quadratic, work.
    scanned: usize,
    /// The current message's start line was seen and is SIP.
    start_line_ok: bool,
    /// Head plus body length of the current message, once its head is complete.
    frame_len: Option<usize>,
}

impl StreamFramer {
    /// A framer with the default limits (64 KiB of headers, 1 MiB of body).
    pub fn new() -> Self {
        StreamFramer::default()
    }

    /// A framer with the given limits.
    pub fn with_limits(limits: FramingLimits) -> Self {
        StreamFramer {
            limits,
            ..StreamFramer::default()
        }
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The buffer to read into directly (e.g. with tokio's `read_buf`), with spare capacity
    /// reserved; this saves the copy [`push`](Self::push) makes.
    pub fn read_buf(&mut self) -> &mut BytesMut {
        self.buf.reserve(READ_RESERVE);
        &mut self.buf
    }

    /// Bytes held that are not yet part of a returned message.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next complete message or ping; `Ok(None)` when more bytes are needed.
    pub fn next_message(&mut self) -> Result<Option<Framed>, FramingError> {
        let len = match self.frame_len {
            Some(len) => len,
            None => {
                if !self.start_line_ok {
                    loop {
                        match keep_alive(&self.buf) {
                            KeepAlive::Ping => {
                                self.buf.advance(4);
                                return Ok(Some(Framed::Ping));
                            }
                            KeepAlive::Pong => self.buf.advance(2),
                            KeepAlive::Wait => return Ok(None),
                            KeepAlive::Message => break,
                        }
                    }
                }
                match self.parse_head()? {
                    Some(len) => {
                        self.frame_len = Some(len);
                        len
                    }
                    None => return Ok(None),
                }
            }
        };
        if self.buf.len() < len {
            return Ok(None);
        }
        self.frame_len = None;
        self.scanned = 0;
        self.start_line_ok = false;
        Ok(Some(Framed::Message(self.buf.split_to(len).freeze())))
    }

    /// Finds the end of the head; returns the whole message's length once known.
    fn parse_head(&mut self) -> Result<Option<usize>, FramingError> {
        if !self.start_line_ok {
            let from = self.scanned.saturating_sub(1);
            let Some(end) = find(&self.buf[from..], b"\r\n").map(|i| from + i) else {
                return self.incomplete_head();
            };
            check_start_line(&self.buf[..end])?;
            self.start_line_ok = true;
        }
        let from = self.scanned.saturating_sub(3);
        let Some(head_len) = find(&self.buf[from..], b"\r\n\r\n").map(|i| from + i + 4) else {
            return self.incomplete_head();
        };
        let limit = self.limits.max_header_bytes;
        if head_len > limit {
            return Err(FramingError::HeadersTooLarge { limit });
        }
        let length = content_length(&self.buf[..head_len])?;
        let limit = self.limits.max_body_bytes;
        match usize::try_from(length) {
            Ok(body) if body <= limit => Ok(Some(head_len + body)),
            _ => Err(FramingError::BodyTooLarge { length, limit }),
        }
    }

    fn incomplete_head(&mut self) -> Result<Option<usize>, FramingError> {
        self.scanned = self.buf.len();
        let limit = self.limits.max_header_bytes;
        if self.buf.len() >= limit {
            return Err(FramingError::HeadersTooLarge { limit });
        }
        Ok(None)
    }
}

/// What the bytes at a message boundary are.
enum KeepAlive {
    /// `CRLF CRLF`.
    Ping,
    /// A lone `CRLF` (a pong, or an empty line RFC 3261 §7.5 says to ignore).
    Pong,
    /// Could still become either: wait for more.
    Wait,
    /// The start of a message.
    Message,
}

fn keep_alive(buf: &[u8]) -> KeepAlive {
    match buf {
        [] | [b'\r'] | [b'\r', b'\n'] | [b'\r', b'\n', b'\r'] => KeepAlive::Wait,
        [b'\r', b'\n', b'\r', b'\n', ..] => KeepAlive::Ping,
        [b'\r', b'\n', ..] => KeepAlive::Pong,
        _ => KeepAlive::Message,
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn quote(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(QUOTE_MAX)]).into_owned()
}

/// A request line ends with `SIP/2.0`, a status line starts with it (case-insensitive, §7.1).
fn check_start_line(line: &[u8]) -> Result<(), FramingError> {
    const VERSION: &[u8] = b"SIP/2.0";
    let line = line.trim_ascii();
    let n = VERSION.len();
    let status =
        line.len() > n && line[..n].eq_ignore_ascii_case(VERSION) && line[n].is_ascii_whitespace();
    let request = line.len() > n
        && line[line.len() - n..].eq_ignore_ascii_case(VERSION)
        && line[line.len() - n - 1].is_ascii_whitespace();
    if status || request {
        Ok(())
    } else {
        Err(FramingError::BadStartLine(quote(line)))
    }
}

/// The `Content-Length` (or compact `l`) of a complete head, folded lines joined.
fn content_length(head: &[u8]) -> Result<u64, FramingError> {
    let mut found: Option<u64> = None;
    // The value of a Content-Length header being read; folded continuation lines append to it.
    let mut current: Option<Vec<u8>> = None;
    for line in head.split(|&b| b == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if matches!(line.first(), Some(b' ' | b'\t')) {
            if let Some(value) = current.as_mut() {
                value.push(b' ');
                value.extend_from_slice(line);
            }
            continue;
        }
        if let Some(value) = current.take() {
            record_length(&mut found, &value)?;
        }
        if line.is_empty() {
            break;
        }
        // A line without a colon is the parser's business, not the framer's.
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = line[..colon].trim_ascii();
        if name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l") {
            current = Some(line[colon + 1..].to_vec());
        }
    }
    if let Some(value) = current.take() {
        record_length(&mut found, &value)?;
    }
    found.ok_or(FramingError::MissingContentLength)
}

fn record_length(found: &mut Option<u64>, value: &[u8]) -> Result<(), FramingError> {
    let digits = value.trim_ascii();
    let invalid = || FramingError::InvalidContentLength(quote(digits));
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(invalid());
    }
    let length: u64 = std::str::from_utf8(digits)
        .map_err(|_| invalid())?
        .parse()
        .map_err(|_| invalid())?;
    match *found {
        Some(earlier) if earlier != length => Err(FramingError::InvalidContentLength(format!(
            "{earlier} and {length}"
        ))),
        _ => {
            *found = Some(length);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &str = "INVITE sip:1000@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP a;branch=z9hG4bK1\r\n\
                          Call-ID: x\r\nContent-Type: application/sdp\r\nContent-Length: 11\r\n\r\n\
                          v=0\r\no=ab\r\n";
    const COMPACT_FOLDED: &str = "SIP/2.0 200 OK\r\ni: y\r\nl:\r\n   4\r\n\r\nbody";
    const BYE: &str = "bye sip:a@b sip/2.0\r\ncontent-LENGTH : 0\r\n\r\n";

    /// Drains every message and ping the framer can produce now.
    fn drain(f: &mut StreamFramer) -> Vec<Framed> {
        let mut out = Vec::new();
        while let Some(framed) = f.next_message().expect("frames") {
            out.push(framed);
        }
        out
    }

    fn msg(s: &str) -> Framed {
        Framed::Message(Bytes::copy_from_slice(s.as_bytes()))
    }

    fn error_of(input: &[u8], limits: FramingLimits) -> FramingError {
        let mut f = StreamFramer::with_limits(limits);
        f.push(input);
        loop {
            match f.next_message() {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("no error for {:?}", quote(input)),
                Err(err) => return err,
            }
        }
    }

    fn error(input: &str) -> FramingError {
        error_of(input.as_bytes(), FramingLimits::default())
    }

    #[test]
    fn two_messages_in_one_read() {
        let mut f = StreamFramer::new();
        f.push(format!("{INVITE}{BYE}").as_bytes());
        assert_eq!(drain(&mut f), vec![msg(INVITE), msg(BYE)]);
        assert_eq!(f.buffered(), 0);
    }

    #[test]
    fn split_at_every_byte_boundary() {
        let stream = format!("\r\n{INVITE}\r\n\r\n{COMPACT_FOLDED}\r\n{BYE}");
        let expected = vec![msg(INVITE), Framed::Ping, msg(COMPACT_FOLDED), msg(BYE)];
        let bytes = stream.as_bytes();
        for cut in 0..=bytes.len() {
            let mut f = StreamFramer::new();
            f.push(&bytes[..cut]);
            let mut got = drain(&mut f);
            f.push(&bytes[cut..]);
            got.extend(drain(&mut f));
            assert_eq!(got, expected, "cut at {cut}");
            assert_eq!(f.buffered(), 0);
        }
        let mut f = StreamFramer::new();
        let mut got = Vec::new();
        for b in bytes {
            f.read_buf().extend_from_slice(std::slice::from_ref(b));
            got.extend(drain(&mut f));
        }
        assert_eq!(got, expected, "one byte at a time");
    }

    #[test]
    fn body_is_awaited_not_an_error() {
        let mut f = StreamFramer::new();
        let cut = INVITE.len() - 3;
        f.push(&INVITE.as_bytes()[..cut]);
        assert_eq!(f.next_message(), Ok(None));
        assert_eq!(f.next_message(), Ok(None));
        f.push(&INVITE.as_bytes()[cut..]);
        assert_eq!(f.next_message(), Ok(Some(msg(INVITE))));
        assert_eq!(f.next_message(), Ok(None));
    }

    #[test]
    fn pings_and_lone_crlfs() {
        let mut f = StreamFramer::new();
        f.push(b"\r\n\r\n\r\n\r\n");
        assert_eq!(drain(&mut f), vec![Framed::Ping, Framed::Ping]);
        // A lone CRLF waits (it may be half a ping), then is skipped before a message.
        f.push(b"\r\n");
        assert_eq!(f.next_message(), Ok(None));
        f.push(BYE.as_bytes());
        assert_eq!(drain(&mut f), vec![msg(BYE)]);
        f.push(b"\r\n");
        assert_eq!(f.next_message(), Ok(None));
        f.push(b"\r\n");
        assert_eq!(drain(&mut f), vec![Framed::Ping]);
    }

    #[test]
    fn returned_messages_share_the_read_buffer() {
        let mut f = StreamFramer::new();
        f.push(format!("{BYE}{BYE}").as_bytes());
        let base = f.buf.as_ptr() as usize;
        let Some(Framed::Message(first)) = f.next_message().unwrap() else {
            panic!("a message")
        };
        let Some(Framed::Message(second)) = f.next_message().unwrap() else {
            panic!("a message")
        };
        assert_eq!(first.as_ptr() as usize, base);
        assert_eq!(second.as_ptr() as usize, base + BYE.len());
    }

    #[test]
    fn missing_content_length_is_an_error() {
        assert_eq!(
            error("OPTIONS sip:a SIP/2.0\r\nCall-ID: x\r\n\r\n"),
            FramingError::MissingContentLength
        );
        // `Content-Lengthy` and a folded line of another header are not Content-Length.
        assert_eq!(
            error("OPTIONS sip:a SIP/2.0\r\nContent-Lengthy: 3\r\nX: a\r\n l: 2\r\n\r\n"),
            FramingError::MissingContentLength
        );
    }

    #[test]
    fn bad_content_length_values_are_errors() {
        for value in [
            "-1",
            "abc",
            "12abc",
            "1 2",
            "",
            "+5",
            "99999999999999999999999",
        ] {
            let input = format!("OPTIONS sip:a SIP/2.0\r\nContent-Length: {value}\r\n\r\n");
            assert!(
                matches!(error(&input), FramingError::InvalidContentLength(_)),
                "{value:?}"
            );
        }
        assert_eq!(
            error("OPTIONS sip:a SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\nab"),
            FramingError::InvalidContentLength("1 and 2".into())
        );
        let mut f = StreamFramer::new();
        f.push(b"OPTIONS sip:a SIP/2.0\r\nl: 2\r\nContent-Length: 2\r\n\r\nab");
        assert!(matches!(f.next_message(), Ok(Some(Framed::Message(_)))));
    }

    #[test]
    fn oversized_heads_and_bodies_are_errors() {
        let limits = FramingLimits::default();
        let mut endless = b"INVITE sip:a SIP/2.0\r\n".to_vec();
        endless.extend(std::iter::repeat_n(b'a', MAX_HEADER_BYTES));
        assert_eq!(
            error_of(&endless, limits),
            FramingError::HeadersTooLarge {
                limit: MAX_HEADER_BYTES
            }
        );
        // A head that ends, but beyond the limit.
        endless.extend_from_slice(b"\r\nl: 0\r\n\r\n");
        assert_eq!(
            error_of(&endless, limits),
            FramingError::HeadersTooLarge {
                limit: MAX_HEADER_BYTES
            }
        );
        // No line end at all (garbage) trips the limit too.
        let garbage = vec![b'x'; MAX_HEADER_BYTES];
        assert!(matches!(
            error_of(&garbage, limits),
            FramingError::HeadersTooLarge { .. }
        ));
        assert_eq!(
            error("INVITE sip:a SIP/2.0\r\nl: 1048577\r\n\r\n"),
            FramingError::BodyTooLarge {
                length: 1_048_577,
                limit: MAX_BODY_BYTES
            }
        );
        let small = FramingLimits {
            max_header_bytes: 40,
            max_body_bytes: 2,
        };
        assert!(matches!(
            error_of(b"INVITE sip:a SIP/2.0\r\nl: 3\r\n\r\n", small),
            FramingError::BodyTooLarge { length: 3, .. }
        ));
    }

    #[test]
    fn non_sip_start_lines_are_errors() {
        for line in [
            "GET / HTTP/1.1",
            "hello",
            "SIP/2.0",
            "INVITE sip:a SIP/3.0",
            "\rx",
        ] {
            let input = format!("{line}\r\nl: 0\r\n\r\n");
            assert!(
                matches!(error(&input), FramingError::BadStartLine(_)),
                "{line:?}"
            );
        }
        // Detected as soon as the first line ends, before the head does.
        let mut f = StreamFramer::new();
        f.push(b"\x16\x03\x01 binary\r\nmore");
        assert!(matches!(
            f.next_message(),
            Err(FramingError::BadStartLine(_))
        ));
    }
}
