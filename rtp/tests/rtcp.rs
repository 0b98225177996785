//! RTCP sessions talking to each other in virtual time: report contents, RTT from LSR/DLSR,
//! BYE, the report timer, and malformed input.

use std::time::{Duration, Instant};

use rtc_rtcp::packet::unmarshal;
use rtc_rtcp::receiver_report::ReceiverReport;
use rtc_rtcp::sender_report::SenderReport;
use rtc_rtcp::source_description::{SdesType, SourceDescription};
use rtp::{MediaStats, ReportInput, RtcpConfig, RtcpEvent, RtcpSession, RtpError, ntp_from_unix};

const A: u32 = 0xAAAA_0001;
const B: u32 = 0xBBBB_0002;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn session(now: Instant, ssrc: u32, unix_secs: u64) -> RtcpSession {
    let cfg = RtcpConfig::new(ssrc, format!("{ssrc:x}@example.test"));
    RtcpSession::new(now, ntp_from_unix(Duration::from_secs(unix_secs)), cfg).expect("valid")
}

/// Counters of a side that sent `out` packets and received seqs `0..n` minus `lost`.
fn stats(t0: Instant, out: u64, n: u16, lost: &[u16]) -> MediaStats {
    let mut s = MediaStats::new();
    for _ in 0..out {
        s.on_packet_out(172);
    }
    for seq in (0..n).filter(|q| !lost.contains(q)) {
        s.on_packet_in(seq, 160 * u32::from(seq), t0 + ms(20 * u64::from(seq)), 172);
    }
    s
}

/// Runs `s` to its next report and returns the bytes.
fn report(s: &mut RtcpSession, stats: &MediaStats, remote: Option<u32>) -> (Instant, Vec<u8>) {
    let at = s.poll_timeout();
    let input = ReportInput {
        stats,
        remote_ssrc: remote,
        rtp_timestamp: 4242,
    };
    let bytes = s.handle_timeout(at, input).expect("builds").expect("due");
    (at, bytes)
}

#[test]
fn sender_report_round_trips() {
    let t0 = Instant::now();
    let mut a = session(t0, A, 1_700_000_000);
    let st = stats(t0, 250, 100, &[3, 4, 50, 99]);
    let early = ReportInput {
        stats: &st,
        remote_ssrc: Some(B),
        rtp_timestamp: 0,
    };
    assert_eq!(
        a.handle_timeout(t0, early).expect("ok"),
        None,
        "not due yet"
    );
    let (at, bytes) = report(&mut a, &st, Some(B));

    // What went out, read back with rtc-rtcp.
    let packets = unmarshal(&mut &bytes[..]).expect("valid compound");
    let sr = packets[0]
        .as_any()
        .downcast_ref::<SenderReport>()
        .expect("SR first");
    assert_eq!((sr.ssrc, sr.rtp_time, sr.packet_count), (A, 4242, 250));
    assert_eq!(
        sr.octet_count,
        250 * 160,
        "payload octets, headers excluded"
    );
    assert_eq!(
        sr.ntp_time >> 32,
        1_700_000_000 + 2_208_988_800 + (at - t0).as_secs()
    );
    let block = sr.reports[0].clone();
    assert_eq!(block.ssrc, B);
    // 99 lost is not known lost (it is past the highest); 3 of 99 expected were lost.
    assert_eq!((block.total_lost, block.last_sequence_number), (3, 98));
    assert_eq!(block.fraction_lost, (3u32 * 256 / 99) as u8);
    assert_eq!(
        (block.last_sender_report, block.delay),
        (0, 0),
        "no SR from B yet"
    );
    let sdes = packets[1]
        .as_any()
        .downcast_ref::<SourceDescription>()
        .expect("SDES");
    let item = &sdes.chunks[0].items[0];
    assert_eq!(item.sdes_type, SdesType::SdesCname);
    assert_eq!(&item.text[..], format!("{A:x}@example.test").as_bytes());

    // The peer reads it: B learns A's stream and A's view of B's stream.
    let mut b = session(t0, B, 1_600_000_000);
    b.handle_rtcp(at + ms(30), &bytes).expect("valid");
    assert_eq!(
        b.poll_event(),
        Some(RtcpEvent::SenderReport {
            ssrc: A,
            packet_count: 250,
            octet_count: 40_000
        })
    );
    match b.poll_event() {
        Some(RtcpEvent::Report(r)) => {
            assert_eq!((r.reporter, r.cumulative_lost, r.highest_seq), (A, 3, 98));
            assert_eq!(r.rtt, None, "A had no SR from B to echo");
        }
        other => panic!("expected a report, got {other:?}"),
    }
    assert_eq!(b.poll_event(), None);
    assert!(b.remote_report().is_some());
}

#[test]
fn receiver_report_when_not_sending_and_fraction_per_interval() {
    let t0 = Instant::now();
    let mut a = session(t0, A, 1_700_000_000);
    let st = stats(t0, 0, 100, &[10, 11, 12, 13]);
    let (_, bytes) = report(&mut a, &st, Some(B));
    let packets = unmarshal(&mut &bytes[..]).expect("valid");
    let rr = packets[0]
        .as_any()
        .downcast_ref::<ReceiverReport>()
        .expect("RR first");
    assert_eq!(rr.reports[0].fraction_lost, (4u32 * 256 / 100) as u8);
    // The next interval has no new loss: fraction 0, cumulative unchanged.
    let mut st2 = st.clone();
    for seq in 100..150u16 {
        st2.on_packet_in(seq, 160 * u32::from(seq), t0 + ms(20 * u64::from(seq)), 172);
    }
    let (_, bytes) = report(&mut a, &st2, Some(B));
    let packets = unmarshal(&mut &bytes[..]).expect("valid");
    let rr = packets[0]
        .as_any()
        .downcast_ref::<ReceiverReport>()
        .expect("RR");
    assert_eq!(
        (rr.reports[0].fraction_lost, rr.reports[0].total_lost),
        (0, 4)
    );
    // Without the peer's SSRC, and before any SR from it, no block is sent.
    let (_, bytes) = report(&mut a, &st2, None);
    let packets = unmarshal(&mut &bytes[..]).expect("valid");
    let rr = packets[0]
        .as_any()
        .downcast_ref::<ReceiverReport>()
        .expect("RR");
    assert!(rr.reports.is_empty());
}

#[test]
fn rtt_from_lsr_and_dlsr_between_two_sessions() {
    let t0 = Instant::now();
    let one_way = ms(40);
    let mut a = session(t0, A, 1_700_000_000);
    let mut b = session(t0, B, 1_234_567_890); // a different wall clock: RTT does not care
    let a_stats = stats(t0, 200, 200, &[]);
    let b_stats = stats(t0, 200, 200, &[]);
    let (sent_at, sr) = report(&mut a, &a_stats, Some(B));
    b.handle_rtcp(sent_at + one_way, &sr).expect("valid");
    // B answers at its own next report time, later than the SR's arrival.
    let (b_at, rr) = report(&mut b, &b_stats, Some(A));
    assert!(b_at > sent_at + one_way, "B reports after hearing A's SR");
    a.handle_rtcp(b_at + one_way, &rr).expect("valid");
    let rtt = a.rtt().expect("B echoed A's SR");
    let error = rtt.abs_diff(2 * one_way);
    assert!(error < ms(1), "rtt {rtt:?}");
    let events: Vec<RtcpEvent> = std::iter::from_fn(|| a.poll_event()).collect();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, RtcpEvent::Report(r) if r.rtt == Some(rtt)))
    );
}

#[test]
fn rtt_from_a_crafted_receiver_report() {
    let t0 = Instant::now();
    let ntp0 = ntp_from_unix(Duration::from_secs(1_700_000_000));
    let mut a = RtcpSession::new(t0, ntp0, RtcpConfig::new(A, "a")).expect("valid");
    // LSR: middle 32 bits of A's NTP time at t0 + 1 s; DLSR: 0.25 s.
    let lsr = ((ntp0 >> 16) as u32).wrapping_add(65_536);
    let dlsr: u32 = 16_384;
    let mut rr = vec![0x81, 201, 0, 7];
    rr.extend_from_slice(&B.to_be_bytes());
    rr.extend_from_slice(&A.to_be_bytes());
    rr.extend_from_slice(&[12, 0, 0, 5]); // fraction 12/256, 5 lost
    rr.extend_from_slice(&1234u32.to_be_bytes());
    rr.extend_from_slice(&80u32.to_be_bytes());
    rr.extend_from_slice(&lsr.to_be_bytes());
    rr.extend_from_slice(&dlsr.to_be_bytes());
    a.handle_rtcp(t0 + ms(1500), &rr).expect("valid RR");
    assert_eq!(a.rtt(), Some(ms(250)));
    let r = a.remote_report().expect("a report on A");
    assert_eq!((r.reporter, r.fraction_lost, r.cumulative_lost), (B, 12, 5));
    assert_eq!((r.highest_seq, r.jitter), (1234, 80));
    // A block about another SSRC is not about us.
    rr[8..12].copy_from_slice(&0x1234_5678u32.to_be_bytes());
    a.handle_rtcp(t0 + ms(1600), &rr).expect("valid RR");
    assert_eq!(a.rtt(), Some(ms(250)), "unchanged");
    // An echo from the future (negative RTT) is ignored.
    rr[8..12].copy_from_slice(&A.to_be_bytes());
    rr[24..28].copy_from_slice(&lsr.wrapping_add(10 * 65_536).to_be_bytes());
    a.handle_rtcp(t0 + ms(1700), &rr).expect("valid RR");
    assert_eq!(a.rtt(), Some(ms(250)));
}

#[test]
fn bye_reaches_the_peer() {
    let t0 = Instant::now();
    let mut a = session(t0, A, 1_700_000_000);
    let mut b = session(t0, B, 1_700_000_000);
    let st = stats(t0, 10, 10, &[]);
    let input = ReportInput {
        stats: &st,
        remote_ssrc: Some(B),
        rtp_timestamp: 0,
    };
    let bytes = a.bye(t0 + ms(900), input, "call ended").expect("builds");
    b.handle_rtcp(t0 + ms(950), &bytes).expect("valid");
    let events: Vec<RtcpEvent> = std::iter::from_fn(|| b.poll_event()).collect();
    assert!(events.contains(&RtcpEvent::Bye {
        ssrc: A,
        reason: "call ended".into()
    }));
}

#[test]
fn reports_keep_coming_at_randomised_intervals() {
    let t0 = Instant::now();
    let mut a = session(t0, A, 1_700_000_000);
    let st = stats(t0, 0, 0, &[]);
    let mut times = Vec::new();
    for _ in 0..20 {
        let (at, bytes) = report(&mut a, &st, None);
        assert!(!bytes.is_empty());
        times.push(at);
    }
    for w in times.windows(2) {
        let gap = w[1] - w[0];
        assert!(gap >= ms(2500) && gap < ms(7500), "{gap:?}");
    }
    let mean = (times[19] - times[0]) / 19;
    assert!(mean > ms(4000) && mean < ms(6000), "{mean:?}");
}

#[test]
fn malformed_rtcp_is_an_error_never_a_panic() {
    let t0 = Instant::now();
    let mut a = session(t0, A, 1_700_000_000);
    let st = stats(t0, 5, 5, &[]);
    let (_, good) = report(&mut a, &st, Some(B));
    let mut b = session(t0, B, 1_700_000_000);
    assert!(matches!(
        b.handle_rtcp(t0, &[]),
        Err(RtpError::RtcpMalformed(_))
    ));
    assert!(matches!(
        b.handle_rtcp(t0, &good[..3]),
        Err(RtpError::RtcpMalformed(_))
    ));
    // The SR's length field claims more than the datagram holds.
    assert!(b.handle_rtcp(t0, &good[..20]).is_err());
    let mut bad_version = good.clone();
    bad_version[0] &= 0x3F;
    assert!(b.handle_rtcp(t0, &bad_version).is_err());
    let mut huge_len = good.clone();
    huge_len[2] = 0xFF;
    assert!(b.handle_rtcp(t0, &huge_len).is_err());
    for len in 0..good.len() {
        let _ = b.handle_rtcp(t0, &good[..len]); // must return, whatever it says
    }
    // Seeded garbage, and valid headers with garbage after them.
    let mut x: u64 = 0x1234_5678_9ABC_DEF1;
    for i in 0..20_000 {
        let len = (i % 97) as usize;
        let mut buf: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        if i % 2 == 0 && len >= 4 {
            buf[0] = 0x80 | (buf[0] & 0x1F);
            buf[1] = 200 + (buf[1] % 8);
            buf[2] = 0;
            buf[3] = ((len / 4).saturating_sub(1)) as u8;
        }
        let _ = b.handle_rtcp(t0, &buf);
    }
    // Nothing learned from the garbage broke the session.
    assert!(b.handle_rtcp(t0, &good).is_ok());
}
