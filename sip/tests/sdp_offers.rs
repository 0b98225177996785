//! Real-world offers through `parse_offer` and `negotiate`: SIPp, Linphone, carrier oddities,
//! hold, IPv6, and bodies that must be refused with the right error.

use std::net::{IpAddr, SocketAddr};

use sip::sdp::{AudioCodec, Direction, RtpProfile, SdpError, negotiate, parse_answer, parse_offer};

const BOTH: &[AudioCodec] = &[AudioCodec::Pcmu, AudioCodec::Pcma];

/// SIPp's built-in uac scenario offer, byte for byte.
const SIPP: &str = "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\n\
    c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

/// A Linphone-style offer: opus and speex first, PCMA before PCMU, three telephone-event rates.
const LINPHONE: &str = "v=0\r\no=bob 2779 1 IN IP4 192.168.1.10\r\ns=Talk\r\n\
    c=IN IP4 192.168.1.10\r\nb=AS:380\r\nt=0 0\r\n\
    a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics\r\n\
    m=audio 7078 RTP/AVP 96 97 98 8 0 18 101 99 100\r\n\
    a=rtpmap:96 opus/48000/2\r\na=fmtp:96 useinbandfec=1\r\na=rtpmap:97 speex/16000\r\n\
    a=fmtp:97 vbr=on\r\na=rtpmap:98 speex/8000\r\na=fmtp:98 vbr=on\r\na=fmtp:18 annexb=yes\r\n\
    a=rtpmap:101 telephone-event/48000\r\na=rtpmap:99 telephone-event/16000\r\n\
    a=rtpmap:100 telephone-event/8000\r\na=rtcp:7079\r\na=rtcp-fb:* trr-int 1000\r\n\
    a=rtcp-fb:* ccm tmmbr\r\n";

/// Builds a CRLF body from LF-separated lines.
fn crlf(lines: &str) -> String {
    lines.replace('\n', "\r\n")
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

#[test]
fn sipp_default_offer() {
    let offer = parse_offer(SIPP.as_bytes()).expect("SIPp offer");
    assert_eq!(offer.connection, ip("127.0.0.1"));
    assert_eq!(offer.audio_port, 6000);
    assert_eq!(offer.media_lines.len(), 1);
    let n = negotiate(&offer, BOTH).expect("PCMU in common");
    assert_eq!((n.codec, n.payload_type), (AudioCodec::Pcmu, 0));
    assert_eq!(n.telephone_event, None);
    assert_eq!(n.ptime_ms, 20);
    assert_eq!(n.direction, Direction::SendRecv);
    assert_eq!(n.remote, SocketAddr::new(ip("127.0.0.1"), 6000));
    assert_eq!(n.remote_rtcp, Some(SocketAddr::new(ip("127.0.0.1"), 6001)));
}

#[test]
fn linphone_offer_prefers_pcma_because_the_offerer_lists_it_first() {
    let offer = parse_offer(LINPHONE.as_bytes()).expect("Linphone offer");
    let names: Vec<&str> = offer.codecs.iter().map(|f| f.encoding.as_str()).collect();
    assert_eq!(
        names,
        [
            "opus",
            "speex",
            "speex",
            "PCMA",
            "PCMU",
            "G729",
            "telephone-event",
            "telephone-event",
            "telephone-event"
        ]
    );
    assert_eq!(
        offer.telephone_event,
        Some(100),
        "only the 8000 Hz one counts"
    );
    assert_eq!(offer.rtcp_port, Some(7079));
    let n = negotiate(&offer, BOTH).expect("G.711 in common");
    assert_eq!((n.codec, n.payload_type), (AudioCodec::Pcma, 8));
    assert_eq!(n.telephone_event, Some(100));
    assert_eq!(
        n.remote_rtcp,
        Some(SocketAddr::new(ip("192.168.1.10"), 7079))
    );
    let n = negotiate(&offer, &[AudioCodec::Pcmu]).expect("PCMU allowed");
    assert_eq!((n.codec, n.payload_type), (AudioCodec::Pcmu, 0));
}

#[test]
fn static_payload_types_without_rtpmap_and_telephone_event_101() {
    let body = crlf(
        "v=0\no=Sonus_UAC 1 1 IN IP4 198.51.100.4\ns=SIP Media Capabilities\n\
         c=IN IP4 198.51.100.4\nt=0 0\nm=audio 4000 RTP/AVP 8 0 101\n\
         a=rtpmap:101 telephone-event/8000\na=fmtp:101 0-15\na=ptime:30\na=sendrecv\n",
    );
    let offer = parse_offer(body.as_bytes()).expect("carrier offer");
    assert_eq!(offer.telephone_event, Some(101));
    assert_eq!(offer.ptime_ms, Some(30));
    let n = negotiate(&offer, BOTH).expect("common");
    assert_eq!(
        (n.codec, n.payload_type, n.ptime_ms),
        (AudioCodec::Pcma, 8, 30)
    );
    assert_eq!(n.telephone_event, Some(101));
}

#[test]
fn telephone_event_on_dynamic_96_and_pcmu_on_dynamic_97() {
    let body = crlf(
        "v=0\no=- 5 5 IN IP4 203.0.113.9\ns=-\nc=IN IP4 203.0.113.9\nt=0 0\n\
         m=audio 5004 RTP/AVP 97 96\na=rtpmap:97 PCMU/8000\na=rtpmap:96 telephone-event/8000\n\
         a=fmtp:96 0-16\n",
    );
    let offer = parse_offer(body.as_bytes()).expect("offer");
    assert_eq!(offer.telephone_event, Some(96));
    let n = negotiate(&offer, BOTH).expect("PCMU via rtpmap");
    assert_eq!((n.codec, n.payload_type), (AudioCodec::Pcmu, 97));
    assert_eq!(n.telephone_event, Some(96));
}

#[test]
fn session_level_connection_only_and_media_level_wins() {
    let session_only = parse_offer(SIPP.as_bytes()).expect("offer");
    assert_eq!(session_only.connection, ip("127.0.0.1"));
    let body = crlf(
        "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\n\
         m=audio 4000 RTP/AVP 0\nc=IN IP4 10.0.0.2\n",
    );
    let both = parse_offer(body.as_bytes()).expect("offer");
    assert_eq!(both.connection, ip("10.0.0.2"));
    let body = crlf(
        "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nt=0 0\nm=audio 4000 RTP/AVP 0\nc=IN IP4 10.0.0.3\n",
    );
    let media_only = parse_offer(body.as_bytes()).expect("offer");
    assert_eq!(media_only.connection, ip("10.0.0.3"));
}

#[test]
fn hold_offers() {
    let hold = |attr: &str| {
        let body = SIPP.replace(
            "a=rtpmap:0 PCMU/8000\r\n",
            &format!("a=rtpmap:0 PCMU/8000\r\n{attr}\r\n"),
        );
        let offer = parse_offer(body.as_bytes()).expect("hold offer");
        (
            offer.direction,
            negotiate(&offer, BOTH).expect("common").direction,
        )
    };
    assert_eq!(
        hold("a=sendonly"),
        (Direction::SendOnly, Direction::RecvOnly)
    );
    assert_eq!(
        hold("a=inactive"),
        (Direction::Inactive, Direction::Inactive)
    );
    assert_eq!(
        hold("a=recvonly"),
        (Direction::RecvOnly, Direction::SendOnly)
    );
    assert_eq!(
        hold("a=sendrecv"),
        (Direction::SendRecv, Direction::SendRecv)
    );

    // Session-level direction applies when the media section has none.
    let body = SIPP.replace("t=0 0\r\n", "t=0 0\r\na=sendonly\r\n");
    let offer = parse_offer(body.as_bytes()).expect("offer");
    assert_eq!(offer.direction, Direction::SendOnly);
    // ... and the media level beats it.
    let body = body.replace(
        "a=rtpmap:0 PCMU/8000\r\n",
        "a=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n",
    );
    let offer = parse_offer(body.as_bytes()).expect("offer");
    assert_eq!(offer.direction, Direction::SendRecv);

    // RFC 2543 hold: c=0.0.0.0 means the offerer cannot receive.
    let body = SIPP.replace("c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0");
    let offer = parse_offer(body.as_bytes()).expect("offer");
    assert_eq!(offer.direction, Direction::SendOnly);
    assert_eq!(
        negotiate(&offer, BOTH).map(|n| n.direction),
        Ok(Direction::RecvOnly)
    );
}

#[test]
fn ipv6_connection() {
    let body = crlf(
        "v=0\no=- 1 1 IN IP6 2001:db8::1\ns=-\nc=IN IP6 2001:db8::10\nt=0 0\n\
         m=audio 40000 RTP/AVP 0 8\n",
    );
    let offer = parse_offer(body.as_bytes()).expect("IPv6 offer");
    let n = negotiate(&offer, BOTH).expect("common");
    assert_eq!(
        n.remote,
        "[2001:db8::10]:40000".parse::<SocketAddr>().expect("addr")
    );
    assert_eq!(n.codec, AudioCodec::Pcmu);
}

#[test]
fn no_common_codec_is_488() {
    let body = crlf(
        "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\n\
         m=audio 4000 RTP/AVP 18 9 96\na=rtpmap:96 opus/48000/2\na=rtpmap:9 G722/8000\n",
    );
    let offer = parse_offer(body.as_bytes()).expect("parses");
    let err = negotiate(&offer, BOTH).expect_err("no G.711");
    assert_eq!(err, SdpError::NoCommonCodec);
    assert_eq!(err.sip_status(), 488);
    // PCMA offered, only PCMU allowed.
    let pcma_only = SIPP
        .replace("RTP/AVP 0", "RTP/AVP 8")
        .replace("0 PCMU", "8 PCMA");
    let offer = parse_offer(pcma_only.as_bytes()).expect("parses");
    assert_eq!(
        negotiate(&offer, &[AudioCodec::Pcmu]),
        Err(SdpError::NoCommonCodec)
    );
    // Stereo PCMU is not the G.711 we speak.
    let stereo = SIPP.replace("PCMU/8000", "PCMU/8000/2");
    let offer = parse_offer(stereo.as_bytes()).expect("parses");
    assert_eq!(negotiate(&offer, BOTH), Err(SdpError::NoCommonCodec));
}

#[test]
fn garbage_is_malformed_400() {
    let cases: [&[u8]; 6] = [
        b"",
        b"\x00\x01\x02\xff\xfe garbage",
        b"hello world",
        b"INVITE sip:bob@example.com SIP/2.0\r\n",
        b"{\"sdp\": true}",
        b"v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio x RTP/AVP 0\r\n",
    ];
    for body in cases {
        let err = parse_offer(body).expect_err("not usable SDP");
        assert!(
            matches!(err, SdpError::Malformed(_)),
            "{body:?} gave {err:?}"
        );
        assert_eq!(err.sip_status(), 400);
        assert!(!err.to_string().is_empty());
    }
}

#[test]
fn no_usable_audio_stream() {
    let no_m = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n";
    assert_eq!(parse_offer(no_m.as_bytes()), Err(SdpError::NoAudio));
    let port_zero = SIPP.replace("m=audio 6000", "m=audio 0");
    assert_eq!(parse_offer(port_zero.as_bytes()), Err(SdpError::NoAudio));
    let video = SIPP.replace("m=audio 6000 RTP/AVP 0", "m=video 6000 RTP/AVP 96");
    assert_eq!(parse_offer(video.as_bytes()), Err(SdpError::NoAudio));
    let srtp = SIPP.replace("RTP/AVP", "RTP/SAVP");
    assert_eq!(
        parse_offer(srtp.as_bytes()),
        Err(SdpError::UnsupportedTransport("RTP/SAVP".into()))
    );
    let no_c = SIPP.replace("c=IN IP4 127.0.0.1\r\n", "");
    let err = parse_offer(no_c.as_bytes()).expect_err("no c=");
    assert_eq!(err, SdpError::NoConnection);
    assert!(err.to_string().contains("c="));
}

#[test]
fn crlf_and_bare_lf_parse_the_same() {
    let lf = LINPHONE.replace("\r\n", "\n");
    let a = parse_offer(LINPHONE.as_bytes()).expect("CRLF");
    let b = parse_offer(lf.as_bytes()).expect("LF");
    assert_eq!(a, b);
    let mixed = SIPP.replacen("\r\n", "\n", 3);
    assert_eq!(parse_offer(mixed.as_bytes()), parse_offer(SIPP.as_bytes()));
}

#[test]
fn carrier_oddities_are_tolerated() {
    let expect_sipp = |body: &str| {
        let offer = parse_offer(body.as_bytes()).unwrap_or_else(|e| panic!("{e}: {body:?}"));
        assert_eq!(offer.connection, ip("127.0.0.1"), "{body:?}");
        assert_eq!(offer.audio_port, 6000, "{body:?}");
        assert_eq!(
            negotiate(&offer, BOTH).map(|n| n.codec),
            Ok(AudioCodec::Pcmu)
        );
    };
    expect_sipp(&SIPP.replace("t=0 0\r\n", ""));
    expect_sipp(&SIPP.replace("s=-\r\n", ""));
    expect_sipp(&SIPP.replace("s=-\r\n", "").replace("t=0 0\r\n", ""));
    expect_sipp(&SIPP.replace(
        "c=IN IP4 127.0.0.1\r\nt=0 0\r\n",
        "t=0 0\r\nc=IN IP4 127.0.0.1\r\n",
    ));
    expect_sipp(SIPP.trim_end());
    expect_sipp(&SIPP.replace("\r\n", " \r\n"));
    expect_sipp(&format!("{SIPP}\r\n\r\n"));
    expect_sipp(&SIPP.replace("s=-\r\n", "s=-\r\np=+1 555 0100\r\n"));
    expect_sipp(&SIPP.replace("s=-", "s=Z\u{fc}rich"));
    // Media c= written after the attributes, as some PBXes do.
    let late_c = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n\
        a=rtpmap:0 PCMU/8000\r\na=ptime:20.0\r\nc=IN IP4 127.0.0.1\r\n";
    expect_sipp(late_c);
    assert_eq!(
        parse_offer(late_c.as_bytes()).map(|o| o.ptime_ms),
        Ok(Some(20))
    );
    // Latin-1 bytes in s= are not fatal.
    let mut latin1 = SIPP.replace("s=-", "s=Z?rich").into_bytes();
    let pos = latin1.iter().position(|b| *b == b'?').expect("marker");
    latin1[pos] = 0xfc;
    assert!(parse_offer(&latin1).is_ok());
}

#[test]
fn audio_among_other_streams() {
    let body = crlf(
        "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\n\
         m=audio 4000 RTP/SAVP 0\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAAA\n\
         m=video 4002 RTP/AVP 96\na=rtpmap:96 H264/90000\n\
         m=audio 4004 RTP/AVP 8\n",
    );
    let offer = parse_offer(body.as_bytes()).expect("offer");
    assert_eq!(offer.audio_index, 2);
    assert_eq!(offer.audio_port, 4004);
    assert_eq!(offer.media_lines.len(), 3);
    assert_eq!(offer.media_lines[0].proto, "RTP/SAVP");
    assert_eq!(
        negotiate(&offer, BOTH).map(|n| n.codec),
        Ok(AudioCodec::Pcma)
    );
}

#[test]
fn rtcp_mux_and_avpf() {
    let body = SIPP.replace("RTP/AVP", "RTP/AVPF").replace(
        "a=rtpmap:0 PCMU/8000\r\n",
        "a=rtpmap:0 PCMU/8000\r\na=rtcp-mux\r\na=rtcp:6000 IN IP4 127.0.0.1\r\n",
    );
    let offer = parse_offer(body.as_bytes()).expect("offer");
    assert!(offer.rtcp_mux);
    assert_eq!(offer.rtcp_port, Some(6000));
    assert_eq!(offer.profile, RtpProfile::Avpf);
}

#[test]
fn sipp_uas_answer_parses_as_an_answer() {
    let answer = parse_answer(SIPP.as_bytes()).expect("answer");
    assert_eq!(answer.audio_port, 6000);
    let rejected = SIPP.replace("m=audio 6000", "m=audio 0");
    assert_eq!(parse_answer(rejected.as_bytes()), Err(SdpError::NoAudio));
}

/// Every truncation and many one-byte corruptions of real offers: errors are fine, panics not.
#[test]
fn mangled_offers_never_panic() {
    let replacements = [b'\0', b'=', b' ', b'\n', b'/', b':', b'9', b'x', 0xff];
    for base in [SIPP, LINPHONE] {
        let bytes = base.as_bytes();
        for cut in 0..bytes.len() {
            let _ = parse_offer(&bytes[..cut]).map(|o| negotiate(&o, BOTH));
        }
        for pos in 0..bytes.len() {
            for &r in &replacements {
                let mut mangled = bytes.to_vec();
                mangled[pos] = r;
                let _ = parse_offer(&mangled).map(|o| negotiate(&o, BOTH));
            }
        }
    }
}
