//! Our answers and offers re-parsed with the same parser: they must state what was negotiated,
//! and a peer negotiating on them must land on the same codec.

use std::net::{IpAddr, SocketAddr};

use sip::sdp::{
    AudioCodec, Direction, LocalMedia, SdpError, build_answer, build_offer, negotiate,
    parse_answer, parse_offer,
};

const BOTH: &[AudioCodec] = &[AudioCodec::Pcmu, AudioCodec::Pcma];

const SIPP: &str = "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\n\
    c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

fn local(ip: &str, port: u16) -> LocalMedia {
    LocalMedia {
        ip: ip.parse().expect("test address"),
        port,
        session_id: 1_700_000_000,
        session_version: 1,
    }
}

/// Offer → negotiate → answer → parse the answer back.
fn answer_for(
    offer: &str,
    allowed: &[AudioCodec],
    us: &LocalMedia,
) -> (String, sip::sdp::SdpOffer) {
    let parsed = parse_offer(offer.as_bytes()).expect("offer parses");
    let n = negotiate(&parsed, allowed).expect("negotiates");
    let text = build_answer(&n, us);
    let back = parse_answer(text.as_bytes()).expect("our answer re-parses");
    (text, back)
}

#[test]
fn answer_to_sipp_states_pcmu_and_our_address() {
    let us = local("127.0.0.1", 20000);
    let (text, back) = answer_for(SIPP, BOTH, &us);
    assert!(text.starts_with("v=0\r\no=- 1700000000 1 IN IP4 127.0.0.1\r\ns=-\r\n"));
    assert!(text.ends_with("\r\n") && !text.replace("\r\n", "").contains('\n'));
    assert_eq!(back.connection, us.ip);
    assert_eq!(back.audio_port, 20000);
    assert_eq!(back.codecs.len(), 1);
    assert_eq!(back.telephone_event, None);
    assert_eq!(back.ptime_ms, Some(20));
    assert_eq!(back.direction, Direction::SendRecv);
    let n = negotiate(&back, BOTH).expect("caller side negotiates");
    assert_eq!((n.codec, n.payload_type), (AudioCodec::Pcmu, 0));
}

#[test]
fn answer_keeps_pcma_dtmf_and_ptime_of_the_offer() {
    let offer = "v=0\r\no=- 9 9 IN IP4 198.51.100.4\r\ns=-\r\nc=IN IP4 198.51.100.4\r\nt=0 0\r\n\
        m=audio 4000 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\n\
        a=fmtp:101 0-15\r\na=ptime:30\r\n";
    let (text, back) = answer_for(offer, BOTH, &local("203.0.113.5", 30000));
    assert!(text.contains("m=audio 30000 RTP/AVP 8 101\r\n"), "{text}");
    assert!(text.contains("a=fmtp:101 0-16\r\n"), "{text}");
    assert_eq!(back.codecs[0].encoding, "PCMA");
    assert_eq!(back.telephone_event, Some(101));
    assert_eq!(back.ptime_ms, Some(30));
    let n = negotiate(&back, BOTH).expect("negotiates");
    assert_eq!((n.codec, n.telephone_event), (AudioCodec::Pcma, Some(101)));
}

#[test]
fn answer_echoes_a_dynamic_g711_payload_type() {
    let offer = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n\
        m=audio 4000 RTP/AVP 97 96\r\na=rtpmap:97 PCMU/8000\r\na=rtpmap:96 telephone-event/8000\r\n";
    let (text, back) = answer_for(offer, BOTH, &local("10.0.0.2", 30002));
    assert!(
        text.contains("m=audio 30002 RTP/AVP 97 96\r\na=rtpmap:97 PCMU/8000\r\n"),
        "{text}"
    );
    assert_eq!(back.telephone_event, Some(96));
    assert_eq!(negotiate(&back, BOTH).map(|n| n.payload_type), Ok(97));
}

#[test]
fn hold_answers_state_the_mirrored_direction() {
    for (attr, ours) in [
        ("a=sendonly", Direction::RecvOnly),
        ("a=recvonly", Direction::SendOnly),
        ("a=inactive", Direction::Inactive),
    ] {
        let offer = format!("{SIPP}{attr}\r\n");
        let (text, back) = answer_for(&offer, BOTH, &local("127.0.0.1", 20000));
        assert!(
            text.ends_with(&format!("a={}\r\n", ours.as_str())),
            "{text}"
        );
        assert_eq!(back.direction, ours);
    }
}

#[test]
fn ipv6_answer_re_parses() {
    let offer = "v=0\r\no=- 1 1 IN IP6 2001:db8::1\r\ns=-\r\nc=IN IP6 2001:db8::1\r\nt=0 0\r\n\
        m=audio 5000 RTP/AVP 8\r\n";
    let us = local("2001:db8::2", 31000);
    let (text, back) = answer_for(offer, BOTH, &us);
    assert!(text.contains("c=IN IP6 2001:db8::2\r\n"), "{text}");
    assert_eq!(back.connection, us.ip);
    assert_eq!(
        negotiate(&back, BOTH).map(|n| n.codec),
        Ok(AudioCodec::Pcma)
    );
}

#[test]
fn answer_rejects_the_streams_it_does_not_take() {
    let offer = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n\
        m=video 4002 RTP/AVP 96 97\r\na=rtpmap:96 H264/90000\r\n\
        m=audio 4000 RTP/AVP 0\r\nm=image 4004 udptl t38\r\n";
    let (text, back) = answer_for(offer, BOTH, &local("10.0.0.2", 30004));
    let m_lines: Vec<&str> = text.lines().filter(|l| l.starts_with("m=")).collect();
    assert_eq!(
        m_lines,
        [
            "m=video 0 RTP/AVP 96 97",
            "m=audio 30004 RTP/AVP 0",
            "m=image 0 udptl t38"
        ]
    );
    assert_eq!(back.audio_index, 1);
    assert_eq!(back.media_lines.len(), 3);
    assert_eq!(back.media_lines[0].port, 0);
    assert_eq!(back.media_lines[2].port, 0);
}

#[test]
fn outbound_offer_and_the_peers_answer() {
    let us = local("192.0.2.10", 32000);
    let offer = build_offer(&[AudioCodec::Pcma, AudioCodec::Pcmu], Some(101), &us);
    // The peer parses our offer and, allowing only PCMU, skips our preferred PCMA.
    let theirs = parse_offer(offer.as_bytes()).expect("our offer parses");
    assert_eq!(theirs.connection, us.ip);
    assert_eq!(theirs.telephone_event, Some(101));
    assert_eq!(theirs.direction, Direction::SendRecv);
    let peer = negotiate(&theirs, &[AudioCodec::Pcmu]).expect("peer negotiates");
    assert_eq!(peer.codec, AudioCodec::Pcmu);
    let answer = build_answer(&peer, &local("192.0.2.20", 40000));
    // Back on our side: the answer names the codec and the peer's media address.
    let parsed = parse_answer(answer.as_bytes()).expect("answer parses");
    let n = negotiate(&parsed, BOTH).expect("we negotiate the answer");
    assert_eq!(n.codec, AudioCodec::Pcmu);
    assert_eq!(n.telephone_event, Some(101));
    assert_eq!(
        n.remote,
        SocketAddr::new(IpAddr::from([192, 0, 2, 20]), 40000)
    );
    assert_eq!(n.direction, Direction::SendRecv);
}

#[test]
fn answer_that_rejects_our_audio() {
    let answer = "v=0\r\no=- 1 2 IN IP4 192.0.2.20\r\ns=-\r\nc=IN IP4 192.0.2.20\r\nt=0 0\r\n\
        m=audio 0 RTP/AVP 0\r\n";
    assert_eq!(parse_answer(answer.as_bytes()), Err(SdpError::NoAudio));
}
