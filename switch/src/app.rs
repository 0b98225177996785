//! Start-up and shutdown: storage and migrations, the demo seed, speech providers, the actor tree,
//! the SIP transport, the admin API; SIGTERM/ctrl-c drains (503 to new INVITEs… in the admin
//! issue) and stops.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use actors::call::CallLimits;
use actors::providers::tts::{CachedTts, EspeakTts, TtsProvider};
use actors::registry::CallRegistry;
use actors::sip_link::SipLink;
use actors::supervisor::SwitchSupervisor;
use anyhow::Context;
use config::Config;
use rtp::PortPool;
use store::{Store, redact_url};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::watch;
use tracing::info;

use crate::records::StoreCallEvents;
use crate::router::{Router, RouterConfig};
use crate::transport::{Dispatcher, run_udp};

/// Runs the switch until `shutdown` resolves.
pub async fn run(
    config: Config,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let store = Store::connect(&config.database.url, config.database.max_connections)
        .await
        .with_context(|| format!("database {}", redact_url(&config.database.url)))?;
    info!(database = %redact_url(&config.database.url), backend = ?store.backend(), "storage ready");
    crate::demo::seed(&store, &config)
        .await
        .context("seeding the demo tenant")?;

    let tts: Arc<dyn TtsProvider> = Arc::new(CachedTts::new(
        EspeakTts::start(&config.tts.voice, config.tts.rate_wpm)
            .context("starting offline text-to-speech (espeak-ng)")?,
    ));
    let ports = PortPool::new(config.rtp.port_min, config.rtp.port_max).with_context(|| {
        format!(
            "rtp.port_min/port_max {}-{}",
            config.rtp.port_min, config.rtp.port_max
        )
    })?;
    let registry = CallRegistry::default();
    let supervisor = SwitchSupervisor::start(registry.clone())
        .await
        .context("starting the switch supervisor")?;

    let sip_socket = UdpSocket::bind(config.sip.listen)
        .await
        .with_context(|| format!("sip.listen {}: cannot bind UDP", config.sip.listen))?;
    let sip_addr = sip_socket.local_addr()?;
    let sent_by_ip = if config.sip.listen.ip().is_unspecified() {
        config.rtp.public_ip
    } else {
        config.sip.listen.ip()
    };
    let (sip_link, commands) = SipLink::channel();
    let router = Arc::new(Router::new(
        store.clone(),
        supervisor.clone(),
        sip_link,
        ports,
        tts,
        Arc::new(StoreCallEvents::new(store.clone())),
        RouterConfig {
            public_ip: config.rtp.public_ip,
            sent_by: SocketAddr::new(sent_by_ip, sip_addr.port()).to_string(),
            user_agent: config.sip.user_agent.clone(),
            limits: CallLimits {
                max_duration: Duration::from_secs(config.calls.max_duration_secs.into()),
                media_timeout: Duration::from_secs(config.rtp.media_timeout_secs.into()),
            },
        },
    ));
    let dispatcher = Arc::new(Dispatcher::new(
        registry.clone(),
        router,
        config.sip.user_agent.clone(),
    ));
    let (stop_tx, stop_rx) = watch::channel(false);
    let sip_task = tokio::spawn(run_udp(sip_socket, commands, dispatcher, stop_rx.clone()));

    let ready = Arc::new(AtomicBool::new(true));
    let admin = admin_api::router(admin_api::AdminState {
        store: store.clone(),
        ready: ready.clone(),
    });
    let listener = TcpListener::bind(config.admin.listen)
        .await
        .with_context(|| format!("admin.listen {}: cannot bind", config.admin.listen))?;
    info!(addr = %listener.local_addr()?, "admin API listening");
    let mut admin_stop = stop_rx.clone();
    let admin_task = tokio::spawn(async move {
        axum::serve(listener, admin)
            .with_graceful_shutdown(async move {
                let _ = admin_stop.wait_for(|stop| *stop).await;
            })
            .await
    });

    info!(sip = %sip_addr, "switch ready");
    shutdown.await;
    info!(live_calls = registry.len(), "shutting down");
    ready.store(false, std::sync::atomic::Ordering::SeqCst);
    let _ = stop_tx.send(true);
    let _ = sip_task.await;
    let _ = admin_task.await;
    supervisor.stop(None);
    store.close().await;
    Ok(())
}
