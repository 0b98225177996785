//! Real messages for the robustness test and the parse benchmark: SIPp's built-in `uac` INVITE
//! (byte for byte as SIPp 3.6 sends it), a BYE, a 200 OK with SDP, a compact-form INVITE and
//! a request with a method nobody knows.

#![allow(dead_code)]

/// The SDP SIPp's `uac` scenario offers.
pub(crate) const SIPP_SDP: &str = "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\n\
    c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

/// SIPp's `uac` INVITE.
pub(crate) fn sipp_invite() -> String {
    format!(
        "INVITE sip:service@127.0.0.1:5060 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-7512-1-0\r\n\
         From: sipp <sip:sipp@127.0.0.1:5061>;tag=7512SIPpTag001\r\n\
         To: service <sip:service@127.0.0.1:5060>\r\n\
         Call-ID: 1-7512@127.0.0.1\r\n\
         CSeq: 1 INVITE\r\n\
         Contact: sip:sipp@127.0.0.1:5061\r\n\
         Max-Forwards: 70\r\n\
         Subject: Performance Test\r\n\
         Content-Type: application/sdp\r\n\
         Content-Length:   {}\r\n\r\n{SIPP_SDP}",
        SIPP_SDP.len()
    )
}

/// SIPp's `uac` BYE.
pub(crate) fn sipp_bye() -> String {
    "BYE sip:service@127.0.0.1:5060 SIP/2.0\r\n\
     Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-7512-1-5\r\n\
     From: sipp <sip:sipp@127.0.0.1:5061>;tag=7512SIPpTag001\r\n\
     To: service <sip:service@127.0.0.1:5060>;tag=a6c85cf\r\n\
     Call-ID: 1-7512@127.0.0.1\r\n\
     CSeq: 2 BYE\r\n\
     Contact: sip:sipp@127.0.0.1:5061\r\n\
     Max-Forwards: 70\r\n\
     Subject: Performance Test\r\n\
     Content-Length: 0\r\n\r\n"
        .to_string()
}

/// A 200 OK to the INVITE with our SDP answer, as the switch writes it.
pub(crate) fn ok_with_sdp() -> String {
    let sdp = "v=0\r\no=- 42 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
        m=audio 30000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
        a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n";
    format!(
        "SIP/2.0 200 OK\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-7512-1-0;received=127.0.0.1\r\n\
         From: sipp <sip:sipp@127.0.0.1:5061>;tag=7512SIPpTag001\r\n\
         To: service <sip:service@127.0.0.1:5060>;tag=a6c85cf\r\n\
         Call-ID: 1-7512@127.0.0.1\r\n\
         CSeq: 1 INVITE\r\n\
         Server: switch\r\n\
         Contact: <sip:switch@127.0.0.1:5060;transport=udp>\r\n\
         Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE\r\n\
         Supported: \r\n\
         Content-Type: application/sdp\r\n\
         Content-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    )
}

/// An INVITE in compact forms, folded, mixed case.
pub(crate) fn compact_invite() -> String {
    "INVITE sip:1000@127.0.0.1 SIP/2.0\r\n\
     v: SIP/2.0/UDP 10.0.0.9:5070;branch=z9hG4bKc1;rport\r\n\
     f: <sip:c@10.0.0.9>;tag=c1\r\nt: <sip:1000@127.0.0.1>\r\ni: compact-1\r\n\
     cSeQ: 9\r\n  INVITE\r\nm: <sip:c@10.0.0.9:5070>\r\nX-Odd: kept verbatim\r\nl: 0\r\n\r\n"
        .to_string()
}

/// A request with an unknown method.
pub(crate) fn unknown_method() -> String {
    "FROBNICATE sip:1000@127.0.0.1 SIP/2.0\r\n\
     Via: SIP/2.0/UDP 10.0.0.9:5070;branch=z9hG4bKf1\r\n\
     From: <sip:c@10.0.0.9>;tag=f1\r\nTo: <sip:1000@127.0.0.1>\r\nCall-ID: frob-1\r\n\
     CSeq: 1 FROBNICATE\r\nContent-Length: 0\r\n\r\n"
        .to_string()
}

/// Every message above.
pub(crate) fn all() -> Vec<String> {
    vec![
        sipp_invite(),
        sipp_bye(),
        ok_with_sdp(),
        compact_invite(),
        unknown_method(),
    ]
}
