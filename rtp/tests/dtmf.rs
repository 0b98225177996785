//! RFC 4733 telephone-events: what SIPp's `dtmf_2833_1.pcap` sends, with losses and repeats,
//! and the sender's packets read back by the receiver.

use std::time::{Duration, Instant};

use rtp::{
    DtmfEvent, DtmfReceiver, DtmfSender, DtmfSource, RtpSender, parse_dtmf_relay, parse_rtp,
};

/// The ten datagrams of SIPp's `pcap/dtmf_2833_1.pcap` (digit 1), as (ms offset, bytes):
/// start with marker, six updates 20 ms apart, then the final packet three times with the
/// same sequence number. SSRC 0x0E05384E, timestamp 13280, payload type 101, volume 10.
fn sipp_digit_1() -> Vec<(u64, Vec<u8>)> {
    let mut out = Vec::new();
    let mut push = |ms: u64, seq: u16, marker: bool, end: bool, dur: u16| {
        let mut d = vec![0x80, 101 | if marker { 0x80 } else { 0 }];
        d.extend_from_slice(&seq.to_be_bytes());
        d.extend_from_slice(&13_280u32.to_be_bytes());
        d.extend_from_slice(&0x0E05_384Eu32.to_be_bytes());
        d.extend_from_slice(&[1, if end { 0x8A } else { 0x0A }]);
        d.extend_from_slice(&dur.to_be_bytes());
        out.push((ms, d));
    };
    push(0, 7984, true, false, 0);
    for k in 1..=6u16 {
        push(20 * u64::from(k), 7984 + k, false, false, 320 * k);
    }
    for _ in 0..3 {
        push(140, 7991, false, true, 2240);
    }
    out
}

/// Feeds `(ms, datagram)` pairs from `t0`, skipping the indices in `lose`.
fn feed(rx: &mut DtmfReceiver, t0: Instant, packets: &[(u64, Vec<u8>)], lose: &[usize]) {
    for (i, (ms, d)) in packets.iter().enumerate() {
        if lose.contains(&i) {
            continue;
        }
        let view = parse_rtp(d).expect("valid RTP");
        assert_eq!(view.payload_type, 101);
        rx.handle_packet(t0 + Duration::from_millis(*ms), &view)
            .expect("4-byte event block");
    }
}

fn drain(rx: &mut DtmfReceiver) -> Vec<DtmfEvent> {
    std::iter::from_fn(|| rx.poll_event()).collect()
}

#[test]
fn sipp_capture_gives_one_digit() {
    let t0 = Instant::now();
    let mut rx = DtmfReceiver::new();
    feed(&mut rx, t0, &sipp_digit_1(), &[]);
    let events = drain(&mut rx);
    assert_eq!(events.len(), 1, "{events:?}");
    let ev = events[0];
    assert_eq!((ev.digit, ev.duration_ms, ev.at), ('1', 280, t0));
    assert_eq!(ev.source, DtmfSource::Rfc4733);
    assert_eq!(rx.redundant_packets(), 2, "the two repeated final packets");
    // Nothing left to time out, and a late timeout call changes nothing.
    assert_eq!(rx.poll_timeout(), None);
    rx.handle_timeout(t0 + Duration::from_secs(5));
    assert_eq!(rx.poll_event(), None);
}

#[test]
fn lost_start_packet_still_gives_the_digit() {
    let t0 = Instant::now();
    let mut rx = DtmfReceiver::new();
    feed(&mut rx, t0, &sipp_digit_1(), &[0]);
    let events = drain(&mut rx);
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].digit, events[0].duration_ms), ('1', 280));
    assert_eq!(events[0].at, t0 + Duration::from_millis(20));
}

#[test]
fn lost_end_packets_end_by_timeout() {
    let t0 = Instant::now();
    let mut rx = DtmfReceiver::new();
    feed(&mut rx, t0, &sipp_digit_1(), &[7, 8, 9]);
    assert!(drain(&mut rx).is_empty(), "not ended yet");
    let deadline = rx.poll_timeout().expect("an event is in progress");
    assert_eq!(deadline, t0 + Duration::from_millis(120 + 250));
    rx.handle_timeout(deadline - Duration::from_millis(1));
    assert!(drain(&mut rx).is_empty(), "an early timeout does nothing");
    rx.handle_timeout(deadline);
    let events = drain(&mut rx);
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].digit, events[0].duration_ms), ('1', 240));
    // A final packet arriving after the timeout is not a second key press.
    let late = &sipp_digit_1()[9].1;
    rx.handle_packet(deadline, &parse_rtp(late).expect("valid"))
        .expect("valid");
    assert!(drain(&mut rx).is_empty());
}

#[test]
fn one_lost_final_packet_changes_nothing() {
    for lost in [7, 8, 9] {
        let t0 = Instant::now();
        let mut rx = DtmfReceiver::new();
        feed(&mut rx, t0, &sipp_digit_1(), &[lost]);
        let events = drain(&mut rx);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].duration_ms, 280);
    }
}

/// The same capture re-stamped as digit `event` starting at `ts` with sequence numbers
/// from `seq`.
fn restamp(
    packets: &[(u64, Vec<u8>)],
    event: u8,
    ts: u32,
    seq: u16,
    ms: u64,
) -> Vec<(u64, Vec<u8>)> {
    packets
        .iter()
        .map(|(at, d)| {
            let mut d = d.clone();
            let s = u16::from_be_bytes([d[2], d[3]]) - 7984 + seq;
            d[2..4].copy_from_slice(&s.to_be_bytes());
            d[4..8].copy_from_slice(&ts.to_be_bytes());
            d[12] = event;
            (at + ms, d)
        })
        .collect()
}

#[test]
fn new_timestamp_starts_a_new_event_and_ends_the_old_one() {
    let t0 = Instant::now();
    let mut rx = DtmfReceiver::new();
    let one = sipp_digit_1();
    let two = restamp(&one, 2, 13_280 + 8_000, 8000, 500);
    // Digit 1 loses its final packets, digit 2 its start packet: both still come out once.
    feed(&mut rx, t0, &one, &[7, 8, 9]);
    feed(&mut rx, t0, &two, &[0]);
    // Stragglers of digit 1 after digit 2 started are ignored.
    feed(&mut rx, t0 + Duration::from_millis(600), &one, &[]);
    let events = drain(&mut rx);
    let digits: Vec<(char, u32)> = events.iter().map(|e| (e.digit, e.duration_ms)).collect();
    assert_eq!(digits, [('1', 240), ('2', 280)]);
    assert_eq!(events[1].at, t0 + Duration::from_millis(520));
}

#[test]
fn sender_packets_read_back_as_the_same_digits() {
    let t0 = Instant::now();
    let mut audio = RtpSender::new(0xFACE, 65_533, 160_000, 0).expect("PT 0");
    let mut te = RtpSender::new(audio.ssrc(), audio.next_seq(), audio.next_timestamp(), 101)
        .expect("PT 101");
    let mut dtmf = DtmfSender::new();
    for (digit, ms) in [('1', 100), ('2', 140), ('#', 60)] {
        dtmf.send_digit(t0, digit, Duration::from_millis(ms), 10)
            .expect("valid digit");
    }
    assert!(dtmf.is_busy());
    let mut rx = DtmfReceiver::new();
    let mut buf = [0u8; 64];
    let mut seen = Vec::new();
    let mut event_ts = te.next_timestamp();
    while let Some(at) = dtmf.poll_timeout() {
        while let Some(pkt) = dtmf.poll_packet(at) {
            if pkt.marker {
                // Each event takes the media time of its start.
                te = RtpSender::new(te.ssrc(), te.next_seq(), event_ts, 101).expect("PT 101");
            }
            let n = pkt.write(&mut te, &mut buf).expect("fits");
            let view = parse_rtp(&buf[..n]).expect("valid");
            seen.push((at - t0, view.seq, view.timestamp, view.marker, pkt.end));
            rx.handle_packet(at, &view).expect("valid");
            if pkt.end {
                event_ts = 160_000 + ((at - t0).as_millis() as u32 + 50) * 8;
            }
        }
    }
    assert!(!dtmf.is_busy());
    let ms = |m: u64| Duration::from_millis(m);
    // Digit 1 (100 ms): start, one update, three finals 50 ms apart.
    let first: Vec<_> = seen[..5].iter().map(|s| (s.0, s.3, s.4)).collect();
    assert_eq!(
        first,
        [
            (ms(0), true, false),
            (ms(50), false, false),
            (ms(100), false, true),
            (ms(150), false, true),
            (ms(200), false, true)
        ]
    );
    assert!(seen[..5].iter().all(|s| s.2 == 160_000), "timestamp frozen");
    // Sequence numbers run on across events and wrap.
    assert!(seen.windows(2).all(|w| w[1].1 == w[0].1.wrapping_add(1)));
    // Digit 2 starts 50 ms after digit 1's last final packet.
    assert_eq!((seen[5].0, seen[5].3), (ms(250), true));
    assert_eq!(seen.len(), 5 + 6 + 5);
    let events = drain(&mut rx);
    let digits: Vec<(char, u32)> = events.iter().map(|e| (e.digit, e.duration_ms)).collect();
    assert_eq!(digits, [('1', 100), ('2', 140), ('#', 60)]);
    // Audio resumes after the events with the next sequence number.
    audio = RtpSender::new(
        audio.ssrc(),
        te.next_seq(),
        audio.next_timestamp() + 8000,
        0,
    )
    .expect("PT 0");
    assert_eq!(audio.next_seq(), 65_533u16.wrapping_add(16));
}

#[test]
fn sip_info_and_rtp_give_the_same_event_shape() {
    let t0 = Instant::now();
    let mut rx = DtmfReceiver::new();
    feed(&mut rx, t0, &sipp_digit_1(), &[]);
    let rtp_event = rx.poll_event().expect("digit");
    let info = DtmfEvent::from_sip_info("Signal=1\r\nDuration=280\r\n", t0).expect("digit");
    assert_eq!(
        (info.digit, info.duration_ms, info.at),
        (rtp_event.digit, rtp_event.duration_ms, rtp_event.at)
    );
    assert_eq!(
        parse_dtmf_relay("Signal=1\r\nDuration=160"),
        Some(('1', 160))
    );
}
