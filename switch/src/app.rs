//! Start-up and shutdown: storage and migrations, the demo seed, speech providers, the actor tree,
//! the SIP transport (UDP and TCP on `sip.listen`), the admin API; SIGTERM/ctrl-c drains (503 to
//! new INVITEs… in the admin issue) and stops.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use actors::call::CallLimits;
use actors::providers::tts::{DiskCache, EspeakTts};
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

use crate::billing::StoreCharger;
use crate::events::TenantEvents;
use crate::inbound::{InboundGate, LimiterConfig, Throttler};
use crate::records::StoreCallEvents;
use crate::router::{Router, RouterConfig, RouterDeps};
use crate::transport::{Dispatcher, TcpConfig, TcpTransport};
use crate::trunks::{RegistrarSettings, Registrations, TrunkCache};
use crate::voices::{LocalEngines, Voices, cached};

/// Most source addresses the per-source INVITE limiter tracks (see [`crate::inbound::InviteLimiter`]).
const MAX_RATE_LIMITED_SOURCES: usize = 10_000;

/// Crash recovery: closes the calls this node left open when it last stopped (see
/// [`Store::recover_open_calls`]): answered calls keep what they were charged, calls never
/// answered get their admission's reservation back; records and wallets equal the ledger.
async fn recover_open_calls(store: &Store, node_id: &str) -> anyhow::Result<()> {
    let closed = store
        .recover_open_calls(node_id)
        .await
        .context("closing the calls left open by the last run")?;
    for call in &closed {
        info!(
            call_id = %call.id,
            billed_secs = call.billed_secs,
            cost_micros = call.cost_micros,
            "closed a call left open by the last run"
        );
    }
    if !closed.is_empty() {
        tracing::warn!(
            calls = closed.len(),
            node = node_id,
            "recovered calls left open by a crash"
        );
    }
    Ok(())
}

/// SIGTERM: `/ready` turns 503 and new INVITEs get 503, live calls may finish until `deadline`,
/// then the rest are hung up (BYE, call records written) before the process exits.
async fn drain(router: &Router, registry: &CallRegistry, ready: &AtomicBool, deadline: Duration) {
    ready.store(false, std::sync::atomic::Ordering::SeqCst);
    router.start_draining();
    info!(
        live_calls = registry.len(),
        deadline_secs = deadline.as_secs(),
        "draining"
    );
    let until = tokio::time::Instant::now() + deadline;
    while !registry.is_empty() && tokio::time::Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if registry.is_empty() {
        return;
    }
    tracing::warn!(
        live_calls = registry.len(),
        "drain deadline passed: hanging up the rest"
    );
    for call in registry.all() {
        let _ = call.handle.cast(actors::call::CallMsg::Hangup {
            by: actors::outcome::HangupBy::Switch,
            cause: "shutdown".into(),
        });
    }
    // Their BYEs go out through the transport, still running; give them a moment to end.
    let until = tokio::time::Instant::now() + Duration::from_secs(5);
    while !registry.is_empty() && tokio::time::Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The operator token: `admin.token`, or one generated and logged once.
fn operator_token(config: &Config) -> String {
    match &config.admin.token {
        Some(token) => token.clone(),
        None => {
            use rand::Rng;
            let token: String = rand::rng()
                .sample_iter(rand::distr::Alphanumeric)
                .take(32)
                .map(char::from)
                .collect();
            tracing::warn!(
                %token,
                "admin.token is not set: generated an operator token for this run (set admin.token to keep one)"
            );
            token
        }
    }
}

/// Runs the switch until `shutdown` resolves.
pub async fn run(
    config: Config,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let metrics_handle = crate::metrics::install();
    let store = Store::connect(&config.database.url, config.database.max_connections)
        .await
        .with_context(|| format!("database {}", redact_url(&config.database.url)))?;
    info!(database = %redact_url(&config.database.url), backend = ?store.backend(), "storage ready");
    crate::demo::seed(&store, &config)
        .await
        .context("seeding the demo tenant")?;
    recover_open_calls(&store, &config.calls.node_id).await?;

    let disk = if config.tts.cache_max_mb > 0 {
        let budget = u64::from(config.tts.cache_max_mb) * 1024 * 1024;
        Some(
            DiskCache::open(&config.tts.cache_dir, budget)
                .with_context(|| format!("tts.cache_dir {}", config.tts.cache_dir))?,
        )
    } else {
        None
    };
    let tts = cached(
        EspeakTts::start(&config.tts.voice, config.tts.rate_wpm)
            .context("starting offline text-to-speech (espeak-ng)")?,
        disk.as_ref(),
    );
    let stt = crate::stt_engine::start_offline_stt(&config.stt)?;
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
    // TCP on the same address (and the port UDP got, when `sip.listen` asked for port 0).
    let sip_tcp = TcpListener::bind(sip_addr)
        .await
        .with_context(|| format!("sip.listen {sip_addr}: cannot bind TCP"))?;
    let sent_by_ip = if config.sip.listen.ip().is_unspecified() {
        config.rtp.public_ip
    } else {
        config.sip.listen.ip()
    };
    let sent_by = SocketAddr::new(sent_by_ip, sip_addr.port()).to_string();
    let (sip_link, commands) = SipLink::channel();
    let trunks = TrunkCache::default();
    trunks
        .reload(&store)
        .await
        .context("loading the trunk table")?;
    let registrations = Arc::new(Registrations::new(RegistrarSettings {
        sip: sip_link.clone(),
        sent_by: sent_by.clone(),
        user_agent: config.sip.user_agent.clone(),
    }));
    let (hooks, _webhook_engine) = admin_api::webhooks::start_webhooks(
        store.clone(),
        admin_api::webhooks::WebhookConfig::default(),
    )
    .context("starting the webhook engine")?;
    let tenant_events = TenantEvents::new(hooks.clone(), store.clone());
    let charger = Arc::new(StoreCharger::new(store.clone(), tenant_events.clone()));
    let router = Arc::new(
        Router::new(
            RouterDeps {
                store: store.clone(),
                supervisor: supervisor.clone(),
                sip: sip_link,
                ports: ports.clone(),
                voices: Arc::new(Voices::new(LocalEngines {
                    stt,
                    tts,
                    voice: config.tts.voice.clone(),
                    rate_wpm: config.tts.rate_wpm,
                    disk,
                })),
                events: Arc::new(StoreCallEvents::new(
                    store.clone(),
                    config.pricing.clone(),
                    tenant_events.clone(),
                )),
                charger,
                tenant_events,
            },
            RouterConfig {
                public_ip: config.rtp.public_ip,
                sent_by: sent_by.clone(),
                user_agent: config.sip.user_agent.clone(),
                node_id: config.calls.node_id.clone(),
                recordings_dir: config.recordings.dir.clone().into(),
                limits: CallLimits {
                    max_duration: Duration::from_secs(config.calls.max_duration_secs.into()),
                    media_timeout: Duration::from_secs(config.rtp.media_timeout_secs.into()),
                },
            },
        )
        .with_inbound_gate(InboundGate::new(
            trunks.clone(),
            &sent_by,
            config.sip.trusted_loopback,
        )),
    );
    router.enable_bridged_transfers();
    let dispatcher = Arc::new(
        Dispatcher::new(
            registry.clone(),
            router.clone(),
            config.sip.user_agent.clone(),
        )
        .with_trunks(
            Throttler::new(
                LimiterConfig {
                    max_cps: config.sip.max_cps,
                    max_cps_per_source: config.sip.max_cps_per_source,
                    max_sources: MAX_RATE_LIMITED_SOURCES,
                },
                config.sip.user_agent.clone(),
            ),
            registrations.clone(),
        ),
    );
    let (stop_tx, stop_rx) = watch::channel(false);
    trunks.spawn_refresher(store.clone(), registrations, stop_rx.clone());
    let tcp = TcpTransport::start(sip_tcp, TcpConfig::default(), stop_rx.clone());
    crate::metrics::spawn_sampler(
        registry.clone(),
        ports.clone(),
        tcp.connection_counter(),
        hooks,
    );
    let sip_task = tokio::spawn(crate::transport::run(
        sip_socket,
        tcp,
        commands,
        dispatcher,
        stop_rx.clone(),
    ));

    let ready = Arc::new(AtomicBool::new(true));
    let operator_token = operator_token(&config);
    let admin = admin_api::router(
        admin_api::AdminState::new(
            store.clone(),
            ready.clone(),
            &operator_token,
            Arc::new(crate::live::SwitchLiveCalls::new(
                registry.clone(),
                router.clone(),
            )),
        )
        .with_recordings(config.recordings.dir.clone()),
    )
    .route(
        "/metrics",
        axum::routing::get(move || std::future::ready(metrics_handle.render())),
    );
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
    drain(
        &router,
        &registry,
        &ready,
        Duration::from_secs(config.calls.drain_timeout_secs.into()),
    )
    .await;
    let _ = stop_tx.send(true);
    let _ = sip_task.await;
    let _ = admin_task.await;
    supervisor.stop(None);
    store.close().await;
    Ok(())
}
