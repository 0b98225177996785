//! A probe call: the runner itself calls the switch (signalling over UDP from its own socket,
//! media to its own RTP socket) and measures, with kernel receive timestamps on both sockets,
//! how long after the 200 OK the first RTP packet arrived and the gaps between consecutive RTP
//! packets. Every packet received is echoed back, so the switch sees a talking caller (RTP
//! both ways) like the SIPp calls around it.
//!
//! Bounded: the INVITE gives up after [`ProbeConfig::answer_within`], the BYE after
//! [`BYE_TIMEOUT`], the hold is the configured length, and the RTP thread stops with the call.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::error::LoadError;
use super::probe_sip::{ProbeDialog, SipMessage, ok_to};
use super::stamped::{Stamp, StampedSocket, now_stamp};

/// How long the INVITE waits for a final response by default.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(8);
/// How long the BYE waits for its 200.
pub(crate) const BYE_TIMEOUT: Duration = Duration::from_secs(4);
/// First retransmission interval (T1).
const T1: Duration = Duration::from_millis(500);
/// How often the receive loops wake up to check their clocks.
const POLL: Duration = Duration::from_millis(20);
/// G.711 µ-law silence, what the switch sends when it has nothing to say.
const PCMU_SILENCE: u8 = 0xFF;

/// One probe call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeConfig {
    /// The switch's SIP address (loopback).
    pub switch: SocketAddr,
    /// The number to call.
    pub number: String,
    /// How long to stay in the call after the ACK.
    pub hold: Duration,
    /// Makes this probe's Call-ID, tags and branches unique.
    pub unique: String,
    /// How long the INVITE waits for a final response ([`ANSWER_WITHIN`] by default).
    pub answer_within: Duration,
}

/// What one probe call measured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProbeOutcome {
    /// INVITE sent to 200 OK received.
    pub setup: Duration,
    /// 200 OK received to the first RTP packet received (kernel timestamps of both).
    pub answer_to_first_rtp: Option<Duration>,
    /// 200 OK received to the first RTP packet that is not µ-law silence (the greeting).
    pub answer_to_first_audio: Option<Duration>,
    /// Gaps between consecutive RTP packets (sequence numbers one apart), in microseconds.
    pub gaps_us: Vec<u64>,
    /// RTP packets received.
    pub packets: u64,
    /// Consecutive arrivals whose sequence numbers were not one apart (not counted as gaps).
    pub sequence_breaks: u64,
    /// Datagrams without a kernel timestamp (then stamped on return from `recvmsg`).
    pub unstamped: u64,
    /// Whether the switch hung up before the probe did.
    pub ended_by_switch: bool,
}

/// One RTP arrival: kernel stamp, sequence number, whether the payload was all silence.
type Arrival = (Stamp, u16, bool);

/// Places one probe call and measures it. Blocks for about `hold` plus set-up and tear-down.
pub fn run_probe(config: &ProbeConfig) -> Result<ProbeOutcome, LoadError> {
    if !config.switch.ip().is_loopback() {
        return Err(LoadError::Invalid(format!(
            "probe target {} is not loopback",
            config.switch
        )));
    }
    let io = |what: &'static str| move |e| LoadError::io(what, e);
    let sip = StampedSocket::bind((Ipv4Addr::LOCALHOST, 0).into()).map_err(io("probe SIP bind"))?;
    let (rtp, _rtcp_sink) = bind_rtp_pair().map_err(io("probe RTP bind"))?;
    let rtp_port = rtp.local_addr().map_err(io("probe RTP address"))?.port();
    let local = sip.local_addr().map_err(io("probe SIP address"))?;
    let mut dialog = ProbeDialog::new(
        local,
        config.switch,
        &config.number,
        rtp_port,
        &config.unique,
    );
    let stop = AtomicBool::new(false);
    let (signalling, arrivals) = std::thread::scope(|scope| {
        let receiver = scope.spawn(|| receive_rtp(&rtp, &stop));
        let signalling = call(&sip, &mut dialog, config);
        stop.store(true, Ordering::Relaxed);
        let arrivals = receiver.join().unwrap_or_default();
        (signalling, arrivals)
    });
    let (setup, answered, ended_by_switch) = signalling?;
    let mut outcome = summarize(answered, &arrivals);
    outcome.setup = setup;
    outcome.ended_by_switch = ended_by_switch;
    outcome.unstamped = sip.fallbacks() + rtp.fallbacks();
    Ok(outcome)
}

/// An RTP socket on an even port and a socket holding the RTCP port above it, where the
/// switch sends its reports (nobody reads them).
fn bind_rtp_pair() -> std::io::Result<(StampedSocket, std::net::UdpSocket)> {
    for _ in 0..64 {
        let rtp = StampedSocket::bind((Ipv4Addr::LOCALHOST, 0).into())?;
        let port = rtp.local_addr()?.port();
        if port % 2 != 0 || port == u16::MAX {
            continue;
        }
        if let Ok(rtcp) = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, port + 1)) {
            return Ok((rtp, rtcp));
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AddrInUse,
        "no even RTP port with a free RTCP port above it",
    ))
}

/// INVITE, ACK, hold, BYE. Returns (set-up time, 200 OK stamp, whether the switch hung up).
fn call(
    sip: &StampedSocket,
    dialog: &mut ProbeDialog,
    config: &ProbeConfig,
) -> Result<(Duration, Stamp, bool), LoadError> {
    let call_id = dialog.call_id().to_string();
    let probe_err = |m: String| LoadError::Probe(format!("{call_id}: {m}"));
    sip.set_read_timeout(POLL)
        .map_err(|e| LoadError::io("probe socket", e))?;
    let send = |text: &str| {
        sip.send_to(text.as_bytes(), config.switch)
            .map_err(|e| LoadError::io("probe send", e))
    };
    let invite = dialog.invite();
    let sent_at = now_stamp();
    let started = Instant::now();
    send(&invite)?;
    let mut next_retransmit = Some((started + T1, T1));
    let mut buf = vec![0u8; 65_536];
    let answered = loop {
        if started.elapsed() > config.answer_within {
            return Err(probe_err(format!(
                "no final answer within {:?}",
                config.answer_within
            )));
        }
        if let Some((at, interval)) = next_retransmit
            && Instant::now() >= at
        {
            send(&invite)?;
            next_retransmit = Some((at + interval * 2, interval * 2));
        }
        let Some((msg, stamp)) = receive(sip, &mut buf, &call_id) else {
            continue;
        };
        match msg.status() {
            Some(100..=199) => next_retransmit = None,
            Some(200..=299) if msg.cseq_method() == Some("INVITE") => {
                dialog.on_invite_2xx(&msg).map_err(probe_err)?;
                break stamp;
            }
            Some(status) if status >= 300 && msg.cseq_method() == Some("INVITE") => {
                send(&dialog.ack_failure(&msg))?;
                return Err(probe_err(format!("refused with {status}")));
            }
            _ => {}
        }
    };
    let ack = dialog.ack().ok_or_else(|| probe_err("no ACK".into()))?;
    send(&ack)?;
    let setup = Duration::from_nanos(answered.saturating_sub(sent_at));

    // Hold: answer 200 retransmissions with the ACK again; the switch may hang up first.
    let hold_until = Instant::now() + config.hold;
    while Instant::now() < hold_until {
        let Some((msg, _)) = receive(sip, &mut buf, &call_id) else {
            continue;
        };
        match (msg.status(), msg.method()) {
            (Some(200..=299), _) if msg.cseq_method() == Some("INVITE") => {
                send(&ack)?;
            }
            (_, Some("BYE")) => {
                send(&ok_to(&msg))?;
                return Ok((setup, answered, true));
            }
            (_, Some(method)) if method != "ACK" => {
                send(&ok_to(&msg))?;
            }
            _ => {}
        }
    }

    let bye = dialog.bye().ok_or_else(|| probe_err("no BYE".into()))?;
    let bye_started = Instant::now();
    send(&bye)?;
    let mut interval = T1;
    let mut next = bye_started + interval;
    loop {
        if bye_started.elapsed() > BYE_TIMEOUT {
            return Err(probe_err(format!("BYE unanswered within {BYE_TIMEOUT:?}")));
        }
        if Instant::now() >= next {
            send(&bye)?;
            interval *= 2;
            next += interval;
        }
        let Some((msg, _)) = receive(sip, &mut buf, &call_id) else {
            continue;
        };
        match (msg.status(), msg.method()) {
            (Some(status), _) if msg.cseq_method() == Some("BYE") && status >= 200 => {
                return Ok((setup, answered, false));
            }
            (_, Some("BYE")) => {
                send(&ok_to(&msg))?;
                return Ok((setup, answered, true));
            }
            _ => {}
        }
    }
}

/// One SIP message of this call, or `None` on timeout or anything else.
fn receive(sip: &StampedSocket, buf: &mut [u8], call_id: &str) -> Option<(SipMessage, Stamp)> {
    let (n, _, stamp) = sip.recv(buf).ok()?;
    let msg = SipMessage::parse(&buf[..n])?;
    (msg.header("call-id") == Some(call_id)).then_some((msg, stamp))
}

/// Receives (and echoes) RTP until `stop`; RTCP and non-RTP datagrams are ignored.
fn receive_rtp(rtp: &StampedSocket, stop: &AtomicBool) -> Vec<Arrival> {
    let mut arrivals = Vec::with_capacity(4096);
    if rtp.set_read_timeout(POLL).is_err() {
        return arrivals;
    }
    let mut buf = [0u8; 2048];
    while !stop.load(Ordering::Relaxed) {
        let Ok((n, from, stamp)) = rtp.recv(&mut buf) else {
            continue;
        };
        let packet = &buf[..n];
        if n < 12 || packet[0] >> 6 != 2 || (192..=223).contains(&packet[1]) {
            continue;
        }
        let sequence = u16::from_be_bytes([packet[2], packet[3]]);
        let header = 12 + 4 * usize::from(packet[0] & 0x0F);
        let silent = packet
            .get(header..)
            .is_none_or(|payload| payload.iter().all(|b| *b == PCMU_SILENCE));
        arrivals.push((stamp, sequence, silent));
        let _ = rtp.send_to(packet, from);
    }
    arrivals
}

/// Turns the 200 OK stamp and the RTP arrivals into the probe's figures.
fn summarize(answered: Stamp, arrivals: &[Arrival]) -> ProbeOutcome {
    let since_answer = |stamp: Stamp| Duration::from_nanos(stamp.saturating_sub(answered));
    let mut outcome = ProbeOutcome {
        packets: arrivals.len() as u64,
        answer_to_first_rtp: arrivals.first().map(|a| since_answer(a.0)),
        answer_to_first_audio: arrivals.iter().find(|a| !a.2).map(|a| since_answer(a.0)),
        ..ProbeOutcome::default()
    };
    for pair in arrivals.windows(2) {
        let (earlier, later) = (pair[0], pair[1]);
        if later.1 == earlier.1.wrapping_add(1) {
            outcome
                .gaps_us
                .push(later.0.saturating_sub(earlier.0) / 1_000);
        } else {
            outcome.sequence_breaks += 1;
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn figures_from_arrivals() {
        let answered = 1_000 * MS;
        let arrivals = [
            (answered + 3 * MS, 10, true),
            (answered + 23 * MS, 11, true),
            (answered + 44 * MS, 12, false),
            // 13 lost: not a gap.
            (answered + 84 * MS, 14, false),
            (answered + 104 * MS, 15, false),
        ];
        let out = summarize(answered, &arrivals);
        assert_eq!(out.packets, 5);
        assert_eq!(out.answer_to_first_rtp, Some(Duration::from_millis(3)));
        assert_eq!(out.answer_to_first_audio, Some(Duration::from_millis(44)));
        assert_eq!(out.gaps_us, [20_000, 21_000, 20_000]);
        assert_eq!(out.sequence_breaks, 1);
    }

    #[test]
    fn sequence_wraps_and_silence_only_calls() {
        let arrivals = [(5 * MS, u16::MAX, true), (25 * MS, 0, true)];
        let out = summarize(0, &arrivals);
        assert_eq!(out.gaps_us, [20_000]);
        assert_eq!(out.answer_to_first_audio, None);
        assert_eq!(summarize(0, &[]).answer_to_first_rtp, None);
    }

    #[test]
    fn a_silent_switch_address_times_out_without_hanging() {
        // A bound socket that never answers stands in for a dead switch.
        let dead = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let config = ProbeConfig {
            switch: dead.local_addr().expect("addr"),
            number: "5000".into(),
            hold: Duration::from_millis(10),
            unique: "t1".into(),
            answer_within: Duration::from_millis(1800),
        };
        let started = Instant::now();
        let err = run_probe(&config).expect_err("no answer");
        assert!(err.to_string().contains("no final answer"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(3));
        let retransmits = {
            dead.set_nonblocking(true).expect("nonblocking");
            let mut buf = [0u8; 4096];
            std::iter::from_fn(|| dead.recv(&mut buf).ok()).count()
        };
        // Sent at 0, 0.5 and 1.5 s (timer A doubles from T1).
        assert_eq!(retransmits, 3);
    }

    #[test]
    fn non_loopback_targets_are_refused() {
        let config = ProbeConfig {
            switch: "192.0.2.1:5060".parse().expect("addr"),
            number: "1".into(),
            hold: Duration::ZERO,
            unique: "x".into(),
            answer_within: ANSWER_WITHIN,
        };
        assert!(matches!(run_probe(&config), Err(LoadError::Invalid(_))));
    }
}
