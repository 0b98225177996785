//! Building responses to requests (RFC 3261 §8.2.6) and small header utilities.

use rsipstack::sip::headers::make_header;
use rsipstack::sip::{Header, Headers, Request, Response, StatusCode, Version};

/// Builds a response to a request: copies Via, From, To (adding our tag), Call-ID and CSeq, then the
/// headers and body the caller adds. Content-Length is always written.
#[derive(Debug)]
pub struct ResponseBuilder {
    status: u16,
    headers: Headers,
    body: Vec<u8>,
    content_type: Option<String>,
}

impl ResponseBuilder {
    /// Starts a response with `status` to `req`. `to_tag` is added to To unless the request already
    /// carries one (in-dialog requests).
    pub fn new(req: &Request, status: u16, to_tag: Option<&str>) -> Self {
        let mut headers = Headers::default();
        for h in req.headers.iter() {
            match h {
                Header::Via(_) | Header::From(_) | Header::CallId(_) | Header::CSeq(_) => {
                    headers.push(h.clone())
                }
                Header::To(to) => {
                    let value = to.value();
                    let has_tag = super::header_param(value, "tag").is_some();
                    match to_tag {
                        Some(tag) if !has_tag && status != 100 => {
                            headers.push(make_header("To", format!("{value};tag={tag}")))
                        }
                        _ => headers.push(h.clone()),
                    }
                }
                _ => {}
            }
        }
        ResponseBuilder {
            status,
            headers,
            body: Vec::new(),
            content_type: None,
        }
    }

    /// Adds a header (name as it should appear on the wire).
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push(make_header(name, value.into()));
        self
    }

    /// Copies every Record-Route of the request, in order (dialog-creating responses, §12.1.1).
    pub fn record_routes_of(mut self, req: &Request) -> Self {
        for h in req.headers.iter() {
            if let Header::RecordRoute(_) = h {
                self.headers.push(h.clone());
            }
        }
        self
    }

    /// Sets the body and its Content-Type.
    pub fn body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.content_type = Some(content_type.to_string());
        self.body = body.into();
        self
    }

    /// Finishes the response.
    pub fn build(mut self) -> Response {
        if let Some(ct) = self.content_type.take() {
            self.headers.push(make_header("Content-Type", ct));
        }
        self.headers
            .push(make_header("Content-Length", self.body.len().to_string()));
        Response {
            status_code: StatusCode::from(self.status),
            wire_reason: None,
            version: Version::V2,
            headers: self.headers,
            body: self.body,
        }
    }
}

/// Replaces every header called `name` (case-insensitive, compact forms included by the codec) by one
/// with `value`, or appends it.
pub fn set_header(headers: &mut Headers, name: &str, value: String) {
    let new = make_header(name, value);
    let wanted = new.name().to_string();
    headers.retain(|h| !h.name().eq_ignore_ascii_case(&wanted));
    headers.push(new);
}

/// The values of every header called `name`, in order.
pub fn header_values<'a>(headers: &'a Headers, name: &str) -> Vec<&'a str> {
    headers
        .iter()
        .filter(|h| h.name().eq_ignore_ascii_case(name))
        .map(|h| h.value())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{MessageKeys, SipMessage, parse_message};

    fn invite() -> Request {
        let raw = "INVITE sip:1000@127.0.0.1 SIP/2.0\r\n\
            Via: SIP/2.0/UDP 10.0.0.9:5070;branch=z9hG4bKa\r\n\
            Via: SIP/2.0/UDP 10.0.0.8:5060;branch=z9hG4bKb\r\n\
            Record-Route: <sip:p1;lr>\r\n\
            From: <sip:a@x>;tag=ft\r\nTo: <sip:1000@y>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n\
            Contact: <sip:a@10.0.0.9:5070>\r\nContent-Length: 0\r\n\r\n";
        match parse_message(raw.as_bytes()).unwrap() {
            SipMessage::Request(r) => r,
            _ => unreachable!(),
        }
    }

    #[test]
    fn response_copies_the_matching_headers_and_tags_to() {
        let req = invite();
        let resp = ResponseBuilder::new(&req, 200, Some("tt"))
            .record_routes_of(&req)
            .body("application/sdp", b"v=0\r\n".to_vec())
            .build();
        let bytes = resp.to_bytes();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with("SIP/2.0 200 OK\r\n"));
        assert_eq!(header_values(&resp.headers, "Via").len(), 2);
        assert!(text.contains("Record-Route: <sip:p1;lr>"));
        assert!(text.contains("Content-Length: 5"));
        let SipMessage::Response(back) = parse_message(&bytes).unwrap() else {
            panic!()
        };
        let keys = MessageKeys::of_response(&back).unwrap();
        assert_eq!(keys.to_tag.as_deref(), Some("tt"));
        assert_eq!(keys.branch, "z9hG4bKa");
    }

    #[test]
    fn trying_has_no_to_tag() {
        let resp = ResponseBuilder::new(&invite(), 100, Some("tt")).build();
        assert_eq!(MessageKeys::of_response(&resp).unwrap().to_tag, None);
    }
}
