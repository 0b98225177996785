//! The SIP side of a probe call, as plain text: the INVITE (with a PCMU offer pointing at the
//! probe's own RTP socket), the ACK, the BYE, a 200 to a request from the switch, and a small
//! parser for what comes back. Just enough of RFC 3261 for one UAC call over UDP on loopback.

use std::net::SocketAddr;

/// A parsed SIP message: its start line and headers (names as sent, in order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SipMessage {
    start: String,
    headers: Vec<(String, String)>,
}

/// Compact header forms (RFC 3261 §7.3.3) and their full names.
const COMPACT: [(&str, &str); 7] = [
    ("v", "via"),
    ("f", "from"),
    ("t", "to"),
    ("i", "call-id"),
    ("m", "contact"),
    ("l", "content-length"),
    ("c", "content-type"),
];

fn canonical(name: &str) -> String {
    let lower = name.trim().to_ascii_lowercase();
    COMPACT
        .iter()
        .find(|(short, _)| *short == lower)
        .map_or(lower, |(_, full)| (*full).to_string())
}

impl SipMessage {
    /// Parses the start line and headers of a datagram; `None` if it is not SIP.
    pub(crate) fn parse(bytes: &[u8]) -> Option<SipMessage> {
        let text = std::str::from_utf8(bytes).ok()?;
        let head = text.split("\r\n\r\n").next()?;
        let mut lines = head.split("\r\n");
        let start = lines.next()?.trim().to_string();
        let is_response = start.starts_with("SIP/2.0 ");
        let is_request = start.ends_with(" SIP/2.0");
        if !(is_response || is_request) {
            return None;
        }
        let mut headers = Vec::new();
        for line in lines {
            let (name, value) = line.split_once(':')?;
            headers.push((canonical(name), value.trim().to_string()));
        }
        Some(SipMessage { start, headers })
    }

    /// The status code of a response.
    pub(crate) fn status(&self) -> Option<u16> {
        let rest = self.start.strip_prefix("SIP/2.0 ")?;
        rest.split_whitespace().next()?.parse().ok()
    }

    /// The method of a request.
    pub(crate) fn method(&self) -> Option<&str> {
        if self.status().is_some() {
            return None;
        }
        self.start.split_whitespace().next()
    }

    /// The first value of a header (any case, compact forms accepted).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        let name = canonical(name);
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header, in order.
    fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        let name = canonical(name);
        self.headers
            .iter()
            .filter(move |(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The method named in CSeq.
    pub(crate) fn cseq_method(&self) -> Option<&str> {
        self.header("cseq")?.split_whitespace().nth(1)
    }

    /// The URI inside the Contact header (`<...>` or bare).
    fn contact_uri(&self) -> Option<String> {
        let contact = self.header("contact")?;
        let uri = match (contact.find('<'), contact.find('>')) {
            (Some(open), Some(close)) if open < close => &contact[open + 1..close],
            _ => contact.split(';').next()?,
        };
        Some(uri.trim().to_string())
    }
}

/// One probe call's dialog state on the caller's side.
#[derive(Debug, Clone)]
pub(crate) struct ProbeDialog {
    local: SocketAddr,
    remote: SocketAddr,
    number: String,
    call_id: String,
    from_tag: String,
    invite_branch: String,
    rtp_port: u16,
    /// The To header of the 2xx (with the switch's tag).
    to: Option<String>,
    /// Where in-dialog requests go (the 2xx's Contact).
    target: Option<String>,
    /// Record-Route of the 2xx, reversed (the route set).
    routes: Vec<String>,
}

impl ProbeDialog {
    /// A new call from `local` to `number` at `remote`, offering media at `rtp_port`.
    /// `unique` makes the Call-ID, tag and branches unique across probes.
    pub(crate) fn new(
        local: SocketAddr,
        remote: SocketAddr,
        number: &str,
        rtp_port: u16,
        unique: &str,
    ) -> ProbeDialog {
        ProbeDialog {
            local,
            remote,
            number: number.to_string(),
            call_id: format!("probe-{unique}@{}", local.ip()),
            from_tag: format!("pt{unique}"),
            invite_branch: format!("z9hG4bKprobe{unique}i"),
            rtp_port,
            to: None,
            target: None,
            routes: Vec::new(),
        }
    }

    /// The Call-ID.
    pub(crate) fn call_id(&self) -> &str {
        &self.call_id
    }

    fn request_uri(&self) -> String {
        format!("sip:{}@{}", self.number, self.remote)
    }

    fn from(&self) -> String {
        format!("<sip:probe@{}>;tag={}", self.local, self.from_tag)
    }

    /// The INVITE (send it again unchanged to retransmit).
    pub(crate) fn invite(&self) -> String {
        let ip = self.local.ip();
        let sdp = format!(
            "v=0\r\no=probe 1 1 IN IP4 {ip}\r\ns=probe\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
             m=audio {} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
             a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n",
            self.rtp_port
        );
        format!(
            "INVITE {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch={branch};rport\r\n\
             Max-Forwards: 70\r\nFrom: {from}\r\nTo: <{uri}>\r\nCall-ID: {cid}\r\n\
             CSeq: 1 INVITE\r\nContact: <sip:probe@{local}>\r\nUser-Agent: loadrun-probe\r\n\
             Content-Type: application/sdp\r\nContent-Length: {len}\r\n\r\n{sdp}",
            uri = self.request_uri(),
            local = self.local,
            branch = self.invite_branch,
            from = self.from(),
            cid = self.call_id,
            len = sdp.len(),
        )
    }

    /// Takes the dialog's remote tag, target and route set from a 2xx to the INVITE.
    pub(crate) fn on_invite_2xx(&mut self, response: &SipMessage) -> Result<(), String> {
        let to = response.header("to").ok_or("2xx without To")?;
        if !to.contains("tag=") {
            return Err(format!("2xx To without a tag: {to}"));
        }
        self.to = Some(to.to_string());
        self.target = Some(response.contact_uri().ok_or("2xx without Contact")?);
        self.routes = response.all("record-route").map(str::to_string).collect();
        self.routes.reverse();
        Ok(())
    }

    /// An in-dialog request without body (ACK for the 2xx, or BYE).
    fn in_dialog(&self, method: &str, cseq: u32, branch: &str) -> Option<String> {
        let target = self.target.as_ref()?;
        let to = self.to.as_ref()?;
        let routes: String = self
            .routes
            .iter()
            .map(|r| format!("Route: {r}\r\n"))
            .collect();
        Some(format!(
            "{method} {target} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch={branch};rport\r\n\
             {routes}Max-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {cid}\r\n\
             CSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n",
            local = self.local,
            from = self.from(),
            cid = self.call_id,
        ))
    }

    /// The ACK for the 2xx (after [`on_invite_2xx`](Self::on_invite_2xx)).
    pub(crate) fn ack(&self) -> Option<String> {
        self.in_dialog("ACK", 1, &format!("{}a", self.invite_branch))
    }

    /// The BYE (send it again unchanged to retransmit).
    pub(crate) fn bye(&self) -> Option<String> {
        self.in_dialog("BYE", 2, &format!("{}b", self.invite_branch))
    }

    /// The ACK for a non-2xx final response (same transaction as the INVITE, §17.1.1.3).
    pub(crate) fn ack_failure(&self, response: &SipMessage) -> String {
        let to = response
            .header("to")
            .map_or_else(|| format!("<{}>", self.request_uri()), str::to_string);
        format!(
            "ACK {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch={branch};rport\r\n\
             Max-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {cid}\r\n\
             CSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
            uri = self.request_uri(),
            local = self.local,
            branch = self.invite_branch,
            from = self.from(),
            cid = self.call_id,
        )
    }
}

/// A 200 OK to a request the switch sent (its BYE, an OPTIONS): Via, From, To, Call-ID and
/// CSeq copied (§8.2.6.2).
pub(crate) fn ok_to(request: &SipMessage) -> String {
    let mut out = String::from("SIP/2.0 200 OK\r\n");
    for (name, value) in &request.headers {
        let label = match name.as_str() {
            "via" => "Via",
            "from" => "From",
            "to" => "To",
            "call-id" => "Call-ID",
            "cseq" => "CSeq",
            _ => continue,
        };
        out.push_str(&format!("{label}: {value}\r\n"));
    }
    out.push_str("Content-Length: 0\r\n\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dialog() -> ProbeDialog {
        ProbeDialog::new(
            "127.0.0.1:40000".parse().expect("addr"),
            "127.0.0.1:5060".parse().expect("addr"),
            "5000",
            40002,
            "7",
        )
    }

    const OK: &str = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bKprobe7i\r\n\
        From: <sip:probe@127.0.0.1:40000>;tag=pt7\r\nt: <sip:5000@127.0.0.1:5060>;tag=sw1\r\n\
        i: probe-7@127.0.0.1\r\nCSeq: 1 INVITE\r\nm: <sip:switch@127.0.0.1:5060;transport=udp>\r\n\
        Record-Route: <sip:p1;lr>\r\nRecord-Route: <sip:p2;lr>\r\nContent-Length: 0\r\n\r\n";

    #[test]
    fn invite_offers_pcmu_at_the_probe_port_with_a_correct_length() {
        let invite = dialog().invite();
        assert!(invite.starts_with("INVITE sip:5000@127.0.0.1:5060 SIP/2.0\r\n"));
        let (head, body) = invite.split_once("\r\n\r\n").expect("head and body");
        assert!(body.contains("m=audio 40002 RTP/AVP 0 101\r\n"));
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
        let parsed = SipMessage::parse(invite.as_bytes()).expect("parses");
        assert_eq!(parsed.method(), Some("INVITE"));
        assert_eq!(parsed.cseq_method(), Some("INVITE"));
    }

    #[test]
    fn ack_and_bye_follow_the_2xx_contact_tag_and_routes() {
        let mut d = dialog();
        assert!(d.ack().is_none(), "no ACK before the 2xx");
        let ok = SipMessage::parse(OK.as_bytes()).expect("parses compact forms");
        assert_eq!(ok.status(), Some(200));
        assert_eq!(ok.header("call-id"), Some("probe-7@127.0.0.1"));
        d.on_invite_2xx(&ok).expect("usable 2xx");
        let ack = d.ack().expect("ack");
        assert!(ack.starts_with("ACK sip:switch@127.0.0.1:5060;transport=udp SIP/2.0\r\n"));
        assert!(ack.contains("To: <sip:5000@127.0.0.1:5060>;tag=sw1\r\n"));
        assert!(ack.contains("CSeq: 1 ACK\r\n"));
        let route_p2 = ack.find("Route: <sip:p2;lr>").expect("route p2");
        let route_p1 = ack.find("Route: <sip:p1;lr>").expect("route p1");
        assert!(
            route_p2 < route_p1,
            "route set is the reversed Record-Route"
        );
        let bye = d.bye().expect("bye");
        assert!(bye.contains("CSeq: 2 BYE\r\n"));
        assert_ne!(
            ack.lines().nth(1),
            bye.lines().nth(1),
            "ACK and BYE have their own branch"
        );
    }

    #[test]
    fn a_2xx_without_a_tag_is_refused() {
        let untagged = OK.replace(";tag=sw1", "");
        let ok = SipMessage::parse(untagged.as_bytes()).expect("parses");
        assert!(dialog().on_invite_2xx(&ok).is_err());
    }

    #[test]
    fn failure_ack_reuses_the_invite_branch_and_ok_copies_headers() {
        let busy =
            SipMessage::parse(OK.replace("200 OK", "486 Busy Here").as_bytes()).expect("parses");
        assert_eq!(busy.status(), Some(486));
        let ack = dialog().ack_failure(&busy);
        assert!(ack.contains("branch=z9hG4bKprobe7i;"));
        assert!(ack.starts_with("ACK sip:5000@127.0.0.1:5060 SIP/2.0"));

        let bye = SipMessage::parse(
            b"BYE sip:probe@127.0.0.1:40000 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx\r\n\
              From: <sip:5000@x>;tag=sw1\r\nTo: <sip:probe@y>;tag=pt7\r\nCall-ID: c1\r\nCSeq: 9 BYE\r\n\r\n",
        )
        .expect("parses");
        assert_eq!(bye.method(), Some("BYE"));
        let ok = ok_to(&bye);
        assert!(ok.starts_with("SIP/2.0 200 OK\r\n"));
        assert!(ok.contains("CSeq: 9 BYE\r\n") && ok.contains("Call-ID: c1\r\n"));
    }

    #[test]
    fn non_sip_is_rejected() {
        assert!(SipMessage::parse(&[0x80, 0x00, 0xff]).is_none());
        assert!(SipMessage::parse(b"HTTP/1.1 200 OK\r\n\r\n").is_none());
        assert!(SipMessage::parse(b"SIP/2.0 200 OK\r\nno colon here\r\n\r\n").is_none());
    }
}
