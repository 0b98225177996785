//! The media task: one `select!` loop over the RTP and RTCP sockets, the 20 ms pacing deadline,
//! the media timeout and control messages. Each tick takes the caller's next frame from the
//! jitter buffer (to speech-to-text and the recorder, and to the in-band DTMF detector when the
//! caller has no telephone-event) and sends the agent's next frame (or ringback while a
//! transfer rings, or silence). Once the call is bridged to another, the caller's frames go to
//! that call instead of speech-to-text, and that call's frames are sent. Digits, RFC 4733 or
//! in-band, go to the call as `CallMsg::Dtmf`. No allocation and no lock per packet.

use std::net::SocketAddr;
use std::pin::pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rtp::{
    G711, Pacer, RTP_HEADER_LEN, ReportInput, RtcpConfig, RtcpSession, RtpSender, ntp_from_unix,
};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep_until};
use tracing::{debug, warn};

use super::PcmFrame;
use super::barge_in::BargeIns;
use super::bridge::BridgeAudio;
use super::dtmf_out::DtmfOut;
use super::inbound::{Datagram, Inbound};
use super::playout::{Edge, Playout};
use super::recorder::Recorder;
use super::report::MediaReport;
use super::ringback::Ringback;
use crate::call::CallMsg;
use crate::mailbox::Mailbox;
use crate::outcome::HangupBy;

/// Control of the media task.
#[derive(Debug)]
pub(crate) enum Control {
    /// Start sending paced frames.
    Start,
    /// Drop every queued frame; with the time the call decided the caller interrupted, when
    /// that is why (barge-in).
    Flush(Option<std::time::Instant>),
    /// Report counters.
    Report(oneshot::Sender<MediaReport>),
    /// Hold, resume or a new address.
    Direction {
        sends: bool,
        receives: bool,
        remote: SocketAddr,
    },
    /// Send the caller's frames to a new recognizer.
    CallerAudio(mpsc::Sender<PcmFrame>),
    /// Play ringback when there is nothing else to play (true), or stop it.
    Ringback(bool),
    /// Join this call's audio to another call's.
    Bridge(BridgeAudio),
    /// Send a key press to the peer.
    Digit(char),
    /// Finish the recording and report (the call is ending).
    Finish(oneshot::Sender<MediaReport>),
}

pub(crate) struct MediaIo {
    pub(crate) call_id: String,
    pub(crate) socket: UdpSocket,
    pub(crate) rtcp_socket: Option<UdpSocket>,
    pub(crate) remote: SocketAddr,
    pub(crate) remote_rtcp: Option<SocketAddr>,
    pub(crate) codec: G711,
    pub(crate) telephone_event: Option<u8>,
    pub(crate) sender: RtpSender,
    pub(crate) playout: mpsc::Receiver<Playout>,
    pub(crate) caller_audio: Option<mpsc::Sender<PcmFrame>>,
    pub(crate) recorder: Option<Recorder>,
    pub(crate) call: Mailbox<CallMsg>,
    pub(crate) media_timeout: Duration,
}

const FAR: Duration = Duration::from_secs(86_400);
const SILENT: PcmFrame = [0; rtp::FRAME_SAMPLES];

struct Loop {
    io: MediaIo,
    /// False while the caller holds us (we answered recvonly or inactive): no RTP out.
    sending: bool,
    inbound: Inbound,
    rtcp: Option<RtcpSession>,
    stt_dropped: u64,
    first_packet: bool,
    ringback: Option<Ringback>,
    bridge: Option<BridgeAudio>,
    bridge_dropped: u64,
    dtmf_out: DtmfOut,
    barge_ins: BargeIns,
}

impl Loop {
    fn report(&self) -> MediaReport {
        MediaReport {
            summary: self.inbound.stats.summary(Some(self.io.codec)),
            rtt_ms: self
                .rtcp
                .as_ref()
                .and_then(RtcpSession::rtt)
                .map(|rtt| rtt.as_secs_f64() * 1000.0),
            jitter_buffer: self.inbound.jitter_stats(),
            dtmf_digits: self.inbound.dtmf_digits,
            inband_dtmf_digits: self.inbound.inband_dtmf_digits,
            unknown_payload: self.inbound.unknown_payload,
            stt_dropped_frames: self.stt_dropped,
            recording_dropped_frames: self.io.recorder.as_ref().map_or(0, Recorder::dropped),
            bridge_dropped_frames: self.bridge_dropped,
            barge_ins: self.barge_ins.count(),
            barge_in_flushed_frames: self.barge_ins.flushed_frames(),
            barge_in_stop_ms: self.barge_ins.slowest_stop_ms(),
        }
    }

    /// One 20 ms tick: the caller's frame in, the agent's frame out, DTMF and RTCP due.
    async fn tick(
        &mut self,
        now: Instant,
        tx_buf: &mut [u8],
        payload: &mut [u8; rtp::FRAME_SAMPLES],
    ) {
        let std_now = now.into_std();
        self.barge_ins.tick(std_now);
        let mut started = None;
        let agent = loop {
            match self.io.playout.try_recv() {
                Ok(Playout::Frame(frame)) => break Some(frame),
                Ok(Playout::Mark(mark)) if mark.edge == Edge::Start => started = Some(mark),
                // The phrase's last frame went out on an earlier tick.
                Ok(Playout::Mark(mark)) => {
                    let _ = self.io.call.cast(CallMsg::Played(mark, std_now));
                }
                Err(_) => break None,
            }
        };
        let caller = *self.inbound.next_frame(std_now);
        let mut agent = match &mut self.bridge {
            Some(bridge) => {
                let exchange = bridge.exchange(&caller);
                if exchange.other_side_gone {
                    // The bridged call's media is gone before its hangup reached us (it died,
                    // or never took the bridge): this call ends too.
                    self.bridge = None;
                    let _ = self.io.call.cast(CallMsg::Hangup {
                        by: HangupBy::Switch,
                        cause: "bridge_lost".into(),
                    });
                } else {
                    self.bridge_dropped += u64::from(!exchange.passed);
                }
                exchange.heard
            }
            None => {
                if let Some(stt) = &self.io.caller_audio
                    && stt.try_send(caller).is_err()
                {
                    self.stt_dropped += 1;
                }
                agent
            }
        };
        if agent.is_none()
            && let Some(ringback) = &mut self.ringback
        {
            let mut tone = SILENT;
            ringback.fill(&mut tone);
            agent = Some(tone);
        }
        if self.dtmf_out.playing_tones() {
            let mut keyed = agent.unwrap_or(SILENT);
            self.dtmf_out.tones_into(&mut keyed);
            agent = Some(keyed);
        }
        if let Some(recorder) = &self.io.recorder {
            recorder.push(&caller, agent.as_ref().unwrap_or(&SILENT));
        }
        match &agent {
            Some(pcm) => {
                self.io.codec.encode(pcm, payload);
            }
            None => payload.fill(self.io.codec.silence_byte()),
        }
        if self.sending && self.dtmf_out.sending_events() {
            // A key goes out as telephone-events: no audio packet, the media clock runs on.
            let to = self.inbound.latched().unwrap_or(self.io.remote);
            while let Some(n) =
                self.dtmf_out
                    .next_event_packet(std_now, &mut self.io.sender, tx_buf)
            {
                if self.io.socket.send_to(&tx_buf[..n], to).await.is_ok() {
                    self.inbound.stats.on_packet_out(n);
                }
            }
            self.io.sender.skip_samples(rtp::FRAME_SAMPLES as u32);
        } else if self.sending {
            match self
                .io
                .sender
                .write_packet(payload, self.first_packet, tx_buf)
            {
                Ok(n) => {
                    self.first_packet = false;
                    let to = self.inbound.latched().unwrap_or(self.io.remote);
                    if self.io.socket.send_to(&tx_buf[..n], to).await.is_ok() {
                        self.inbound.stats.on_packet_out(n);
                    }
                }
                Err(err) => warn!(call_id = %self.io.call_id, %err, "RTP packet not built"),
            }
        } else {
            // On hold: the timestamp keeps running so the stream resumes where the clock is.
            self.io.sender.skip_samples(rtp::FRAME_SAMPLES as u32);
        }
        if let Some(mark) = started {
            let _ = self
                .io
                .call
                .cast(CallMsg::Played(mark, Instant::now().into_std()));
        }
        while let Some(event) = self.inbound.poll_dtmf(std_now) {
            debug!(call_id = %self.io.call_id, digit = %event.digit, source = ?event.source, "DTMF");
            // Bridged, a key heard in the audio reaches the other party in the audio itself:
            // relaying it as well would press it twice.
            if self.bridge.is_some() && event.source == rtp::DtmfSource::InBand {
                continue;
            }
            let _ = self.io.call.cast(CallMsg::Dtmf(event.digit));
        }
        self.send_rtcp(std_now).await;
    }

    async fn send_rtcp(&mut self, now: std::time::Instant) {
        let Some(session) = self.rtcp.as_mut() else {
            return;
        };
        if now < session.poll_timeout() {
            return;
        }
        let input = ReportInput {
            stats: &self.inbound.stats,
            remote_ssrc: None,
            rtp_timestamp: self.io.sender.next_timestamp(),
        };
        let Ok(Some(bytes)) = session.handle_timeout(now, input) else {
            return;
        };
        let (socket, to) = match (&self.io.rtcp_socket, self.io.remote_rtcp) {
            (Some(socket), Some(to)) => (socket, to),
            _ => (
                &self.io.socket,
                self.inbound.latched().unwrap_or(self.io.remote),
            ),
        };
        let _ = socket.send_to(&bytes, to).await;
    }

    fn on_rtcp(&mut self, now: Instant, bytes: &[u8]) {
        if let Some(session) = self.rtcp.as_mut() {
            let _ = session.handle_rtcp(now.into_std(), bytes);
        }
    }
}

fn rtcp_session(now: Instant, ssrc: u32, call_id: &str) -> Option<RtcpSession> {
    let ntp = ntp_from_unix(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default(),
    );
    RtcpSession::new(
        now.into_std(),
        ntp,
        RtcpConfig::new(ssrc, format!("switch-{call_id}")),
    )
    .ok()
}

pub(crate) async fn run(io: MediaIo, mut control: mpsc::UnboundedReceiver<Control>) {
    let start = Instant::now();
    let inbound = match Inbound::new(
        start.into_std(),
        io.codec,
        io.sender.payload_type(),
        io.telephone_event,
    ) {
        Ok(inbound) => inbound,
        Err(err) => {
            warn!(call_id = %io.call_id, %err, "media not started");
            return;
        }
    };
    let rtcp = rtcp_session(start, io.sender.ssrc(), &io.call_id);
    let dtmf_out = DtmfOut::new(io.telephone_event);
    let mut state = Loop {
        io,
        sending: true,
        inbound,
        rtcp,
        stt_dropped: 0,
        first_packet: true,
        ringback: None,
        bridge: None,
        bridge_dropped: 0,
        dtmf_out,
        barge_ins: BargeIns::default(),
    };
    let mut receiving = true;
    let mut pacer: Option<Pacer> = None;
    let mut timeout_reported = false;
    let mut rx_buf = [0u8; 2048];
    let mut rtcp_buf = [0u8; 1500];
    let mut tx_buf = [0u8; RTP_HEADER_LEN + rtp::FRAME_SAMPLES];
    let mut payload = [0u8; rtp::FRAME_SAMPLES];
    let mut pace = pin!(sleep_until(start + FAR));
    let mut inactivity = pin!(sleep_until(start + FAR));
    loop {
        tokio::select! {
            received = state.io.socket.recv_from(&mut rx_buf) => {
                let Ok((len, from)) = received else { continue };
                let now = Instant::now();
                match state.inbound.on_datagram(now.into_std(), from, &rx_buf[..len]) {
                    Datagram::Media => {
                        if pacer.is_some() && receiving {
                            inactivity.as_mut().reset(now + state.io.media_timeout);
                        }
                    }
                    Datagram::Rtcp => state.on_rtcp(now, &rx_buf[..len]),
                    Datagram::Ignored => {}
                }
            }
            received = recv_rtcp(&state.io.rtcp_socket, &mut rtcp_buf) => {
                if let Some(len) = received {
                    let bytes = rtcp_buf;
                    state.on_rtcp(Instant::now(), &bytes[..len]);
                }
            }
            () = &mut pace, if pacer.is_some() => {
                state.tick(Instant::now(), &mut tx_buf, &mut payload).await;
                if let Some(p) = pacer.as_mut() {
                    p.on_frame_sent(Instant::now().into_std());
                    pace.as_mut().reset(Instant::from_std(p.poll_timeout()));
                }
            }
            () = &mut inactivity, if pacer.is_some() && receiving && !timeout_reported => {
                timeout_reported = true;
                warn!(call_id = %state.io.call_id, "no RTP for {:?}", state.io.media_timeout);
                let _ = state.io.call.cast(CallMsg::MediaTimeout);
            }
            cmd = control.recv() => match cmd {
                Some(Control::Start) if pacer.is_none() => {
                    let now = Instant::now();
                    let p = Pacer::new(now.into_std());
                    pace.as_mut().reset(Instant::from_std(p.poll_timeout()));
                    pacer = Some(p);
                    inactivity.as_mut().reset(now + state.io.media_timeout);
                }
                Some(Control::Start) => {}
                Some(Control::Flush(barge_in)) => {
                    let mut frames = 0;
                    while let Ok(item) = state.io.playout.try_recv() {
                        frames += u64::from(matches!(item, Playout::Frame(_)));
                    }
                    if let Some(decided) = barge_in {
                        state.barge_ins.flushed(decided, frames);
                    }
                }
                Some(Control::Report(reply)) => { let _ = reply.send(state.report()); }
                Some(Control::CallerAudio(tx)) => state.io.caller_audio = Some(tx),
                Some(Control::Ringback(on)) => state.ringback = on.then(Ringback::default),
                Some(Control::Digit(digit)) => {
                    state.dtmf_out.push(Instant::now().into_std(), digit, &state.io.call_id);
                }
                Some(Control::Bridge(audio)) => {
                    state.ringback = None;
                    state.bridge = Some(audio);
                }
                Some(Control::Direction { sends, receives, remote }) => {
                    state.sending = sends;
                    state.io.remote = remote;
                    if receives && !receiving {
                        // Resumed: the media timeout starts afresh.
                        inactivity.as_mut().reset(Instant::now() + state.io.media_timeout);
                    }
                    receiving = receives;
                }
                Some(Control::Finish(reply)) => {
                    if let Some(mut recorder) = state.io.recorder.take() {
                        tokio::task::spawn_blocking(move || recorder.finish());
                    }
                    let _ = reply.send(state.report());
                }
                None => break,
            },
        }
    }
}

/// Receives from the RTCP socket, or never when there is none.
async fn recv_rtcp(socket: &Option<UdpSocket>, buf: &mut [u8]) -> Option<usize> {
    match socket {
        Some(socket) => socket.recv_from(buf).await.ok().map(|(len, _)| len),
        None => std::future::pending().await,
    }
}
