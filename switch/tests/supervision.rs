//! Supervision of the call tree, in process, with the real actors, providers and store: the test
//! plays the carrier (SIP through the endpoint core, RTP on a loopback socket). A TTS actor that
//! fails is restarted and the call goes on; a call actor that is killed still gets its BYE sent
//! and its record written.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actors::call::{CallLimits, CallMsg};
use actors::outcome::HangupBy;
use actors::providers::stt::{PocketSphinxConfig, PocketSphinxStt, SttProvider};
use actors::providers::tts::{CachedTts, EspeakTts, TtsProvider};
use actors::registry::CallRegistry;
use actors::sip_link::{SipCommand, SipEvent, SipLink};
use actors::supervisor::SwitchSupervisor;
use actors::tts_actor::TtsMsg;
use sip::endpoint::{Endpoint, EndpointEvent, Peer, Transport};
use sip::message::Method;
use sip::transaction::TimerConfig;
use store::{CallState, Speaker, Store};
use switch::billing::StoreCharger;
use switch::events::TenantEvents;
use switch::records::StoreCallEvents;
use switch::router::{Router, RouterConfig, RouterDeps};
use switch::voices::{LocalEngines, Voices};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

fn invite(uac: SocketAddr, rtp: SocketAddr) -> String {
    let sdp = format!(
        "v=0\r\no=test 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n",
        rtp.port()
    );
    format!(
        "INVITE sip:1000@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {uac};branch=z9hG4bK-sup-1\r\n\
         From: <sip:carrier@{uac}>;tag=c1\r\nTo: <sip:1000@127.0.0.1>\r\nCall-ID: supervision-1\r\n\
         CSeq: 1 INVITE\r\nContact: <sip:carrier@{uac}>\r\nContent-Type: application/sdp\r\n\
         Content-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    )
}

async fn next_command(commands: &mut mpsc::UnboundedReceiver<SipCommand>) -> SipCommand {
    tokio::time::timeout(Duration::from_secs(5), commands.recv())
        .await
        .expect("a SIP command in time")
        .expect("the link is open")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_tts_actor_is_restarted_and_a_killed_call_still_ends_properly() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/sup.db", dir.path().display());
    let store = Store::connect(&url, 4).await.unwrap();
    let config = config::Config::default();
    switch::demo::seed(&store, &config).await.unwrap();

    let registry = CallRegistry::default();
    let supervisor = SwitchSupervisor::start(registry.clone()).await.unwrap();
    let (sip_link, mut commands) = SipLink::channel();
    let (hooks, _engine) =
        admin_api::webhooks::start_webhooks(store.clone(), Default::default()).unwrap();
    let tenant_events = TenantEvents::new(hooks, store.clone());
    let tts: Arc<dyn TtsProvider> =
        Arc::new(CachedTts::new(EspeakTts::start("en-us", 160).unwrap()));
    let stt: Arc<dyn SttProvider> =
        Arc::new(PocketSphinxStt::start(PocketSphinxConfig::default()).unwrap());
    let base = 41_000 + (rand::random::<u16>() % 100) * 20;
    let ports = rtp::PortPool::new(base, base + 19).unwrap();
    let router = Router::new(
        RouterDeps {
            store: store.clone(),
            supervisor,
            sip: sip_link,
            ports,
            voices: Arc::new(Voices::new(LocalEngines {
                stt,
                tts,
                voice: "en-us".into(),
                rate_wpm: 160,
                disk: None,
            })),
            events: Arc::new(StoreCallEvents::new(
                store.clone(),
                config.pricing.clone(),
                tenant_events.clone(),
            )),
            charger: Arc::new(StoreCharger::new(store.clone(), tenant_events.clone())),
            tenant_events,
        },
        RouterConfig {
            public_ip: "127.0.0.1".parse().unwrap(),
            sent_by: "127.0.0.1:5060".into(),
            user_agent: "switch-test".into(),
            limits: CallLimits {
                max_duration: Duration::from_secs(60),
                media_timeout: Duration::from_secs(30),
            },
            node_id: "test".into(),
            recordings_dir: dir.path().join("rec"),
        },
    );

    // The carrier's RTP socket, and its INVITE through the real endpoint core.
    let rtp_peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let uac: SocketAddr = "127.0.0.1:5099".parse().unwrap();
    let mut endpoint = Endpoint::new(TimerConfig::default());
    let peer = Peer {
        addr: uac,
        transport: Transport::Udp,
    };
    endpoint.handle_message(
        Instant::now(),
        peer,
        invite(uac, rtp_peer.local_addr().unwrap()).as_bytes(),
    );
    let Some(EndpointEvent::Request {
        tx,
        request,
        keys,
        peer,
    }) = endpoint.poll_event()
    else {
        panic!("the endpoint reports the INVITE")
    };
    router.on_invite(tx, request, keys, peer).await;
    let SipCommand::Respond { response, .. } = next_command(&mut commands).await else {
        panic!("the dialog answers")
    };
    assert_eq!(response.status_code.code(), 200);
    let call = registry.get("supervision-1").expect("the call is live");
    call.cast(CallMsg::Sip(SipEvent::Ack { body: Vec::new() }))
        .unwrap();

    // The greeting flows.
    let mut buf = [0u8; 256];
    let (n, _) = tokio::time::timeout(Duration::from_secs(3), rtp_peer.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 172, "a 20 ms PCMU packet");
    let call_id = registry.all()[0].call_id.clone();

    // Fail the TTS actor: it comes back and the call goes on speaking.
    let tts_cell =
        ractor::registry::where_is(format!("call-{call_id}-tts")).expect("tts actor by name");
    ractor::ActorRef::<TtsMsg>::from(tts_cell)
        .cast(TtsMsg::InjectFailure)
        .unwrap();
    let restarted = async {
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let view = ractor::call_t!(call.counted(), CallMsg::Describe, 1000).unwrap();
            let tts = view.children.iter().find(|c| c.kind == "tts").unwrap();
            if tts.restarts == 1 && tts.state != "unresponsive" {
                return true;
            }
        }
        false
    };
    assert!(restarted.await, "the TTS actor was restarted");
    call.cast(CallMsg::Say("I am still here.".into())).unwrap();
    let mut spoken = false;
    for _ in 0..80 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let turns = store.transcript(&call_id).await.unwrap();
        if turns
            .iter()
            .any(|t| t.speaker == Speaker::Agent && t.text == "I am still here.")
        {
            spoken = true;
            break;
        }
    }
    assert!(
        spoken,
        "the restarted TTS actor spoke: {:#?}",
        store.transcript(&call_id).await.unwrap()
    );

    // Kill the call actor outright: the supervisor still sends BYE and writes the record.
    let call_cell =
        ractor::registry::where_is(format!("call-{call_id}")).expect("call actor by name");
    call_cell.kill();
    let bye = loop {
        match next_command(&mut commands).await {
            SipCommand::Request { request, .. } if request.method == Method::Bye => break request,
            _ => continue,
        }
    };
    assert_eq!(bye.method, Method::Bye);
    let mut closed = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Some(record) = store
            .get_call(&call_id)
            .await
            .unwrap()
            .filter(|r| r.state == CallState::Ended)
        {
            closed = Some(record);
            break;
        }
    }
    let record = closed.expect("the record is closed");
    assert_eq!(record.hangup_by.as_deref(), Some(HangupBy::Switch.as_str()));
    assert_eq!(record.hangup_cause.as_deref(), Some("internal_error"));
    assert!(registry.is_empty(), "the registry forgot the call");
}
