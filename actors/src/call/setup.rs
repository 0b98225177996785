//! Everything a call actor needs at start, prepared by the switch's router after admission:
//! the INVITE and its dialog, the negotiated media with its bound socket, the agent and the
//! providers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rtp::{G711, PortLease};
use sip::dialog::{CallLeg, SessionGrant, UacDialog, UasDialog};
use sip::endpoint::TxId;
use sip::message::Request;

use crate::agent::Brain;
use crate::meter::{Charger, MeterPlan};
use crate::outcome::CallEvents;
use crate::providers::stt::{SttOptions, SttProvider};
use crate::providers::tts::TtsProvider;
use crate::registry::LiveStats;
use crate::sip_link::SipLink;
use crate::spec::AgentSpec;
use crate::vad::TurnConfig;

/// The media half of a call.
#[derive(Debug)]
pub struct MediaSetup {
    /// The call's RTP socket, bound on the leased port.
    pub socket: tokio::net::UdpSocket,
    /// The port lease; dropped with the media actor, so the port always returns to the pool.
    pub lease: PortLease,
    /// Where to send RTP until the first packet arrives (then symmetric RTP latches).
    pub remote: SocketAddr,
    /// Negotiated codec.
    pub codec: G711,
    /// Its payload type as the offer numbered it.
    pub payload_type: u8,
    /// The telephone-event payload type, if negotiated.
    pub telephone_event: Option<u8>,
    /// The RTCP socket (RTP port + 1), when bound.
    pub rtcp_socket: Option<tokio::net::UdpSocket>,
    /// Where to send RTCP (the offer's `a=rtcp`, else RTP port + 1).
    pub remote_rtcp: Option<SocketAddr>,
    /// Where to record the call (stereo WAV), if the agent records.
    pub recording: Option<std::path::PathBuf>,
}

/// Which side opened the call, and what the dialog actor needs for it.
#[derive(Debug)]
pub enum LegSetup {
    /// A call we answer: the INVITE, its server transaction and the dialog it created.
    Inbound {
        /// The INVITE.
        invite: Request,
        /// Its server transaction.
        invite_tx: TxId,
        /// The dialog.
        dialog: UasDialog,
        /// The session timer granted to the INVITE (RFC 4028), if it runs with one.
        session: Option<SessionGrant>,
        /// The INVITE had no SDP: our 200 carries the offer and the ACK the answer.
        late_offer: bool,
    },
    /// A call we placed that the callee answered (our ACK is sent): its dialog.
    Outbound {
        /// The dialog the 2xx confirmed.
        dialog: UacDialog,
    },
}

impl LegSetup {
    /// The call leg's dialog.
    pub fn dialog(&self) -> CallLeg {
        match self {
            LegSetup::Inbound { dialog, .. } => CallLeg::Uas(dialog.clone()),
            LegSetup::Outbound { dialog } => CallLeg::Uac(dialog.clone()),
        }
    }
}

/// Time limits of a call.
#[derive(Debug, Clone, Copy)]
pub struct CallLimits {
    /// The longest a call may last.
    pub max_duration: Duration,
    /// How long without inbound RTP before the call ends.
    pub media_timeout: Duration,
}

/// How the call listens, thinks and answers.
pub struct SpeechSetup {
    /// The agent's brain.
    pub brain: Arc<dyn Brain>,
    /// Speech-to-text; `None` for turn detection only (media-only load runs).
    pub stt: Option<Arc<dyn SttProvider>>,
    /// What the recognizer listens for (the brain's vocabulary for scripted agents).
    pub stt_options: SttOptions,
    /// Turn detection.
    pub turns: TurnConfig,
    /// Said when the agent cannot answer.
    pub fallback: String,
    /// Where transfers go when a rule names no target.
    pub transfer_to: Option<String>,
}

/// Who pays for the call, and how.
pub struct BillingSetup {
    /// The paying tenant.
    pub tenant_id: String,
    /// Its plan.
    pub plan: MeterPlan,
    /// The wallet.
    pub charger: Arc<dyn Charger>,
    /// Admission paid the first increment (tick 0): the meter starts with it.
    pub first_increment_paid: bool,
}

/// Arguments of a call actor.
pub struct CallSetup {
    /// Our call id (the call record's id).
    pub call_id: String,
    /// SIP Call-ID.
    pub sip_call_id: String,
    /// From URI (for listings).
    pub from: String,
    /// To URI (for listings).
    pub to: String,
    /// Unix milliseconds when the INVITE arrived.
    pub started_at_ms: i64,
    /// Figures the call's actors keep current for listings.
    pub stats: Arc<LiveStats>,
    /// The call's SIP leg: answered by us, or placed by us.
    pub leg: LegSetup,
    /// Our current SDP (the answer we give, or the offer the callee answered).
    pub answer_sdp: String,
    /// The media as negotiated.
    pub negotiated: sip::sdp::Negotiated,
    /// Our media address and `o=` identity.
    pub local_media: sip::sdp::LocalMedia,
    /// Media.
    pub media: MediaSetup,
    /// The agent answering.
    pub agent: AgentSpec,
    /// Text-to-speech.
    pub tts: Arc<dyn TtsProvider>,
    /// The SIP transport.
    pub sip: SipLink,
    /// Where lifecycle reports go.
    pub events: Arc<dyn CallEvents>,
    /// Limits.
    pub limits: CallLimits,
    /// Billing.
    pub billing: BillingSetup,
    /// Listening and answering.
    pub speech: SpeechSetup,
    /// Places the second call of a transfer the carrier refuses to take by REFER; `None`: a
    /// refused REFER is a failed transfer.
    pub placer: Option<std::sync::Arc<dyn crate::call::LegPlacer>>,
    /// This call is the second call of a transfer: once answered, it joins this call's audio
    /// instead of greeting.
    pub bridge_with: Option<crate::call::BridgePeer>,
}

impl std::fmt::Debug for CallSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallSetup")
            .field("call_id", &self.call_id)
            .field("sip_call_id", &self.sip_call_id)
            .finish_non_exhaustive()
    }
}
