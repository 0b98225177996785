//! The keys every layer needs from a message, extracted once: Call-ID, top Via branch and sent-by,
//! CSeq, and the From/To tags. A message without them cannot be matched to a transaction or dialog.

use rsipstack::sip::{Header, Headers, Method, Request, Response};

use super::parse::ParseError;

/// The CSeq header: sequence number and method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeqValue {
    /// The sequence number.
    pub number: u32,
    /// The method it names.
    pub method: Method,
}

/// Matching keys of one message (RFC 3261 §17.2.3 and §12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageKeys {
    /// Call-ID, verbatim.
    pub call_id: String,
    /// Branch parameter of the top Via (empty when an RFC 2543 peer sent none).
    pub branch: String,
    /// Host of the top Via's sent-by.
    pub via_host: String,
    /// Port of the top Via's sent-by, if written.
    pub via_port: Option<u16>,
    /// Whether the top Via asks for symmetric response routing (RFC 3581 `rport`).
    pub via_rport: bool,
    /// CSeq number and method.
    pub cseq: CSeqValue,
    /// From tag.
    pub from_tag: Option<String>,
    /// To tag (absent on out-of-dialog requests).
    pub to_tag: Option<String>,
}

impl MessageKeys {
    /// Extracts the keys of a request; an error names the missing or bad header.
    pub fn of_request(req: &Request) -> Result<Self, ParseError> {
        Self::of_headers(&req.headers)
    }

    /// Extracts the keys of a response.
    pub fn of_response(resp: &Response) -> Result<Self, ParseError> {
        Self::of_headers(&resp.headers)
    }

    /// The keys of a request whose CSeq method the codec does not know (answered 501 without
    /// a transaction): that method is read as `placeholder`. Crate-internal, for routing only.
    pub(crate) fn of_unknown_method(
        headers: &Headers,
        placeholder: Method,
    ) -> Result<Self, ParseError> {
        Self::of_headers_with(headers, Some(placeholder))
    }

    fn of_headers(headers: &Headers) -> Result<Self, ParseError> {
        Self::of_headers_with(headers, None)
    }

    fn of_headers_with(headers: &Headers, placeholder: Option<Method>) -> Result<Self, ParseError> {
        let mut call_id = None;
        let mut via = None;
        let mut cseq = None;
        let mut from = None;
        let mut to = None;
        for h in headers.iter() {
            match h {
                Header::CallId(v) if call_id.is_none() => call_id = Some(v.value()),
                Header::Via(v) if via.is_none() => via = Some(v.value()),
                Header::CSeq(v) if cseq.is_none() => cseq = Some(v.value()),
                Header::From(v) if from.is_none() => from = Some(v.value()),
                Header::To(v) if to.is_none() => to = Some(v.value()),
                _ => {}
            }
        }
        let missing = |name: &str| ParseError {
            reason: format!("missing {name} header"),
        };
        let call_id = call_id.ok_or_else(|| missing("Call-ID"))?.trim_ascii();
        if call_id.is_empty() {
            return Err(missing("Call-ID"));
        }
        let via = via.ok_or_else(|| missing("Via"))?;
        let (via_host, via_port, branch, via_rport) = parse_via(via)?;
        let cseq = cseq.ok_or_else(|| missing("CSeq"))?;
        let cseq = match (parse_cseq(cseq), placeholder) {
            (Ok(v), _) => v,
            (Err(_), Some(method)) => CSeqValue {
                number: cseq
                    .split_whitespace()
                    .next()
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| ParseError {
                        reason: format!("bad CSeq header {cseq:?}"),
                    })?,
                method,
            },
            (Err(e), None) => return Err(e),
        };
        let from = from.ok_or_else(|| missing("From"))?;
        let to = to.ok_or_else(|| missing("To"))?;
        Ok(MessageKeys {
            call_id: call_id.to_string(),
            branch,
            via_host,
            via_port,
            via_rport,
            cseq,
            from_tag: header_param(from, "tag").map(str::to_string),
            to_tag: header_param(to, "tag").map(str::to_string),
        })
    }
}

fn parse_cseq(value: &str) -> Result<CSeqValue, ParseError> {
    let bad = || ParseError {
        reason: format!("bad CSeq header {value:?}"),
    };
    let (number, method) = split_lws(value.trim_ascii()).ok_or_else(bad)?;
    let number = number.parse::<u32>().map_err(|_| bad())?;
    let method = method
        .split_ascii_whitespace()
        .next()
        .and_then(|m| m.parse::<Method>().ok())
        .ok_or_else(bad)?;
    Ok(CSeqValue { number, method })
}

/// `a b` split at the first run of spaces or tabs (`None` without one).
fn split_lws(value: &str) -> Option<(&str, &str)> {
    let at = value.bytes().position(|b| b == b' ' || b == b'\t')?;
    Some((&value[..at], value[at..].trim_ascii_start()))
}

/// Reads `SIP/2.0/UDP host[:port];params` (the first value if several are comma-joined).
fn parse_via(value: &str) -> Result<(String, Option<u16>, String, bool), ParseError> {
    let bad = || ParseError {
        reason: format!("bad Via header {value:?}"),
    };
    let first = match value.bytes().position(|b| b == b',') {
        Some(comma) => &value[..comma],
        None => value,
    };
    let (_protocol, rest) = split_lws(first.trim_ascii()).ok_or_else(bad)?;
    let (sent_by, params) = match rest.bytes().position(|b| b == b';') {
        Some(semi) => (&rest[..semi], &rest[semi + 1..]),
        None => (rest, ""),
    };
    let (host, port) = split_host_port(sent_by.trim_ascii()).ok_or_else(bad)?;
    let mut branch = String::new();
    let mut rport = false;
    for param in params.split(';') {
        let (name, val) = param.split_once('=').unwrap_or((param, ""));
        let name = name.trim_ascii();
        if name.eq_ignore_ascii_case("branch") {
            branch = val.trim_ascii().to_string();
        } else if name.eq_ignore_ascii_case("rport") {
            rport = true;
        }
    }
    Ok((host, port, branch, rport))
}

fn split_host_port(sent_by: &str) -> Option<(String, Option<u16>)> {
    if sent_by.is_empty() {
        return None;
    }
    if let Some(rest) = sent_by.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().ok()?),
            None => None,
        };
        return Some((host.to_string(), port));
    }
    match sent_by.rsplit_once(':') {
        Some((host, port)) => Some((host.to_string(), Some(port.parse().ok()?))),
        None => Some((sent_by.to_string(), None)),
    }
}

/// A header parameter of a name-addr header such as From/To/Contact (`...>;tag=x`): looks only
/// after the closing `>` when there is one, so a `;` inside the URI or display name is not taken.
pub fn header_param<'a>(value: &'a str, name: &str) -> Option<&'a str> {
    let bytes = value.as_bytes();
    let params = match bytes.iter().rposition(|&b| b == b'>') {
        Some(i) => &value[i + 1..],
        None => match bytes.iter().position(|&b| b == b';') {
            Some(i) => &value[i + 1..],
            None => "",
        },
    };
    params.split(';').find_map(|p| {
        let (n, v) = p.split_once('=').unwrap_or((p, ""));
        n.trim_ascii()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim_ascii())
    })
}

/// The URI of a name-addr or addr-spec header value (`"Bob" <sip:bob@host>;tag=1` → `sip:bob@host`).
pub fn uri_of(value: &str) -> &str {
    if let Some(start) = value.find('<') {
        let rest = &value[start + 1..];
        return rest.split('>').next().unwrap_or(rest).trim();
    }
    value.split(';').next().unwrap_or(value).trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_after_angle_bracket_only() {
        let v = "\"Smith; tag=no\" <sip:a@b;tag=nope>;tag=yes;x=1";
        assert_eq!(header_param(v, "tag"), Some("yes"));
        assert_eq!(header_param("sip:a@b;tag=t1", "tag"), Some("t1"));
        assert_eq!(header_param("<sip:a@b>", "tag"), None);
        assert_eq!(uri_of(v), "sip:a@b;tag=nope");
        assert_eq!(uri_of("sip:a@b;tag=1"), "sip:a@b");
    }

    #[test]
    fn via_forms() {
        let (h, p, b, r) = parse_via("SIP/2.0/UDP 10.0.0.1:5070;rport;branch=z9hG4bKx").unwrap();
        assert_eq!(
            (h.as_str(), p, b.as_str(), r),
            ("10.0.0.1", Some(5070), "z9hG4bKx", true)
        );
        let (h, p, _, r) = parse_via("SIP/2.0/TCP [::1]:5080;branch=z9hG4bKy").unwrap();
        assert_eq!((h.as_str(), p, r), ("::1", Some(5080), false));
        let (h, p, _, _) = parse_via("SIP/2.0/UDP host.example").unwrap();
        assert_eq!((h.as_str(), p), ("host.example", None));
        assert!(parse_via("garbage").is_err());
        assert!(parse_via("SIP/2.0/UDP 1.2.3.4:notaport").is_err());
    }

    #[test]
    fn cseq_forms() {
        assert_eq!(parse_cseq("  42   BYE ").unwrap().number, 42);
        assert!(parse_cseq("x INVITE").is_err());
        assert!(parse_cseq("1").is_err());
    }
}
