//! SIP extensions: an INVITE that requires an option tag the switch does not support gets
//! 420 Bad Extension naming it (RFC 3261 §8.2.2.3), and no call.

mod common;

use std::net::UdpSocket;
use std::time::Duration;

use common::SwitchProcess;

#[tokio::test(flavor = "multi_thread")]
async fn a_required_unknown_extension_is_refused_420() {
    let switch = SwitchProcess::start(&[]);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let me = socket.local_addr().unwrap();
    let sdp = "v=0\r\no=t 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
               m=audio 6000 RTP/AVP 0\r\n";
    let invite = format!(
        "INVITE sip:1000@{sip} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bK-ext-1;rport\r\n\
         From: <sip:t@{me}>;tag=x1\r\nTo: <sip:1000@{sip}>\r\nCall-ID: ext-1\r\nCSeq: 1 INVITE\r\n\
         Contact: <sip:t@{me}>\r\nRequire: 100rel, foo\r\nContent-Type: application/sdp\r\n\
         Content-Length: {}\r\n\r\n{sdp}",
        sdp.len(),
        sip = switch.sip,
    );
    socket.send_to(invite.as_bytes(), switch.sip).unwrap();
    let mut answers = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok((n, _)) = socket.recv_from(&mut buf) {
        let text = String::from_utf8_lossy(&buf[..n]).to_string();
        let done = !text.starts_with("SIP/2.0 100");
        answers.push(text);
        if done {
            break;
        }
    }
    let last = answers.last().expect("an answer");
    assert!(last.starts_with("SIP/2.0 420"), "{answers:#?}");
    assert!(
        last.contains("Unsupported: 100rel, foo") || last.contains("Unsupported: 100rel,foo"),
        "{last}"
    );
    assert!(
        switch
            .store()
            .await
            .list_calls(None, 5)
            .await
            .unwrap()
            .is_empty(),
        "no call record"
    );
}
