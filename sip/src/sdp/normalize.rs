//! A tolerance pass that turns what real SIP peers send into the strict RFC 4566 form the
//! `rtc-sdp` lexer accepts, and rejects what is not SDP with a message naming the line.
//!
//! `rtc-sdp` is a faithful state machine over RFC 4566 §5's grammar: lines must come in the
//! order `v o s i u e p c b t r z k a` at session level and `m i c b k a` per media section,
//! and `s=` and `t=` are mandatory. Carriers and old PBXes break those: no `t=`, no `s=`,
//! `c=` after `t=` (all three rejected by `rtc-sdp`), `a=rtpmap` before the media `c=`
//! (accepted by `rtc-sdp` today, sorted anyway so we do not depend on it). This pass:
//! - decodes the body as UTF-8, replacing invalid bytes (SDP text is UTF-8 by RFC 4566 §5, but a
//!   Latin-1 `s=` must not cost the call);
//! - accepts CRLF and bare LF line ends, drops blank lines, trims spaces around each line;
//! - rejects any line that is not `<lower-case letter>=<value>` and any type letter RFC 4566
//!   does not define (§5: a parser must ignore or reject such a description; we reject, 400);
//! - inserts `s=-` and `t=0 0` when they are missing;
//! - puts the lines of each section into grammar order with a stable sort, so the relative
//!   order of repeated lines (`a=`, `t=`/`r=` pairs) is kept.

use super::error::SdpError;

/// Grammar rank of a session-level line type; `None` when the letter is not allowed there.
fn session_rank(kind: u8) -> Option<u8> {
    Some(match kind {
        b'v' => 0,
        b'o' => 1,
        b's' => 2,
        b'i' => 3,
        b'u' => 4,
        b'e' => 5,
        b'p' => 6,
        b'c' => 7,
        b'b' => 8,
        // `r=` lines belong to the `t=` before them: same rank keeps each pair together.
        b't' | b'r' => 9,
        b'z' => 10,
        b'k' => 11,
        b'a' => 12,
        _ => return None,
    })
}

/// Grammar rank of a media-level line type (after its `m=`); `None` when not allowed there.
fn media_rank(kind: u8) -> Option<u8> {
    Some(match kind {
        b'i' => 0,
        b'c' => 1,
        b'b' => 2,
        b'k' => 3,
        b'a' => 4,
        _ => return None,
    })
}

/// Shortens a line for an error message, on a character boundary.
fn excerpt(line: &str) -> String {
    const MAX: usize = 60;
    if line.chars().count() <= MAX {
        line.to_owned()
    } else {
        let cut: String = line.chars().take(MAX).collect();
        format!("{cut}...")
    }
}

/// Rewrites `body` into strict RFC 4566 order with CRLF line ends (see the module doc).
pub(crate) fn normalize(body: &[u8]) -> Result<String, SdpError> {
    let text = String::from_utf8_lossy(body);
    let mut session: Vec<(u8, &str)> = Vec::new();
    let mut media: Vec<Vec<(u8, &str)>> = Vec::new();

    for (index, raw) in text.split('\n').enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let number = index + 1;
        let bytes = line.as_bytes();
        if bytes.len() < 2 || bytes[1] != b'=' || !bytes[0].is_ascii_lowercase() {
            return Err(SdpError::Malformed(format!(
                "line {number} is not of the form <type>=<value>: {:?}",
                excerpt(line)
            )));
        }
        let kind = bytes[0];
        if kind == b'm' {
            media.push(vec![(0, line)]);
            continue;
        }
        match media.last_mut() {
            None => {
                let rank = session_rank(kind).ok_or_else(|| unknown(kind, number, "session"))?;
                session.push((rank, line));
            }
            Some(section) => {
                // Rank 0 is the `m=` line itself; media attributes start at 1.
                let rank = media_rank(kind).ok_or_else(|| unknown(kind, number, "media"))?;
                section.push((rank + 1, line));
            }
        }
    }

    let count = |kind: u8| {
        session
            .iter()
            .filter(|(_, l)| l.as_bytes()[0] == kind)
            .count()
    };
    let (has_s, has_t) = (count(b's') > 0, count(b't') > 0);
    if count(b'v') != 1 {
        return Err(SdpError::Malformed(
            "expected exactly one v= line (is this SDP at all?)".into(),
        ));
    }
    if count(b'o') != 1 {
        return Err(SdpError::Malformed("expected exactly one o= line".into()));
    }
    if !has_s {
        session.push((session_rank(b's').expect("s is a session type"), "s=-"));
    }
    if !has_t {
        session.push((session_rank(b't').expect("t is a session type"), "t=0 0"));
    }

    session.sort_by_key(|(rank, _)| *rank);
    let mut out = String::with_capacity(body.len() + 16);
    for (_, line) in &session {
        out.push_str(line);
        out.push_str("\r\n");
    }
    for section in &mut media {
        section.sort_by_key(|(rank, _)| *rank);
        for (_, line) in section.iter() {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    Ok(out)
}

fn unknown(kind: u8, number: usize, level: &str) -> SdpError {
    SdpError::Malformed(format!(
        "line {number}: `{}=` is not an SDP line type at {level} level",
        char::from(kind)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        normalize(s.as_bytes()).expect("normalizes")
    }

    #[test]
    fn bare_lf_becomes_crlf_and_blank_lines_go() {
        let out = norm("v=0\no=- 1 1 IN IP4 1.2.3.4\n\ns=x\nt=0 0\n\n");
        assert_eq!(out, "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=x\r\nt=0 0\r\n");
    }

    #[test]
    fn missing_s_and_t_are_inserted_in_place() {
        let out =
            norm("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r\nm=audio 4 RTP/AVP 0\r\n");
        assert_eq!(
            out,
            "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 4 RTP/AVP 0\r\n"
        );
    }

    #[test]
    fn lines_are_sorted_stably_into_grammar_order() {
        let out = norm(
            "v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nt=1 2\nr=7d 1h 0\nt=3 4\nc=IN IP4 1.2.3.4\na=x\n\
             m=audio 4 RTP/AVP 0\na=rtpmap:0 PCMU/8000\nc=IN IP4 5.6.7.8\na=ptime:20\n",
        );
        assert_eq!(
            out,
            "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=1 2\r\nr=7d 1h 0\r\n\
             t=3 4\r\na=x\r\nm=audio 4 RTP/AVP 0\r\nc=IN IP4 5.6.7.8\r\na=rtpmap:0 PCMU/8000\r\n\
             a=ptime:20\r\n"
        );
    }

    #[test]
    fn rejects_non_sdp_with_the_line_number() {
        let err = normalize(b"v=0\r\nhello world\r\n").expect_err("not SDP");
        assert_eq!(
            err,
            SdpError::Malformed("line 2 is not of the form <type>=<value>: \"hello world\"".into())
        );
        assert!(matches!(normalize(b""), Err(SdpError::Malformed(_))));
        assert!(matches!(
            normalize(b"\xff\xfe\x00\x01"),
            Err(SdpError::Malformed(_))
        ));
    }

    #[test]
    fn rejects_unknown_and_misplaced_types() {
        let err = normalize(b"v=0\no=- 1 1 IN IP4 1.2.3.4\nx=1\n").expect_err("x unknown");
        assert!(err.to_string().contains("line 3: `x=`"), "{err}");
        let err = normalize(b"v=0\no=- 1 1 IN IP4 1.2.3.4\nm=audio 4 RTP/AVP 0\nt=0 0\n")
            .expect_err("t= not allowed in media");
        assert!(err.to_string().contains("media level"), "{err}");
    }

    #[test]
    fn requires_one_v_and_one_o() {
        assert!(normalize(b"o=- 1 1 IN IP4 1.2.3.4\ns=-\n").is_err());
        assert!(normalize(b"v=0\ns=-\n").is_err());
        assert!(normalize(b"v=0\nv=0\no=- 1 1 IN IP4 1.2.3.4\n").is_err());
    }

    #[test]
    fn invalid_utf8_in_a_value_is_replaced_not_fatal() {
        let out = normalize(b"v=0\no=- 1 1 IN IP4 1.2.3.4\ns=Z\xfcrich\nt=0 0\n").expect("ok");
        assert!(out.contains("s=Z\u{FFFD}rich\r\n"));
    }

    #[test]
    fn long_lines_are_shortened_in_errors() {
        let line = "y".repeat(500);
        let err = normalize(format!("v=0\n{line}\n").as_bytes()).expect_err("bad");
        assert!(err.to_string().len() < 150, "{err}");
    }
}
