//! Prometheus metrics: the recorder, every metric's name and help text in one place, and the
//! gauges sampled once a second (live calls, RTP ports in use, TCP connections).
//!
//! Counters are incremented where things happen (transport, router, records, billing, actors);
//! this module only installs the exporter and describes them, so `/metrics` shows help texts.

use std::sync::Arc;
use std::time::Duration;

use actors::registry::CallRegistry;
use admin_api::webhooks::WebhookSender;
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use rtp::PortPool;

/// Installs the process-wide recorder and returns the handle `/metrics` renders. A second call
/// (tests starting several switches in one process) returns a fresh, unshared handle.
pub fn install() -> PrometheusHandle {
    let builder = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Suffix("_ms".into()),
            &[
                1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0,
            ],
        )
        .and_then(|b| {
            b.set_buckets_for_metric(
                Matcher::Full("rtp_mos".into()),
                &[1.0, 2.0, 3.0, 3.5, 4.0, 4.2, 4.4],
            )
        })
        .expect("static bucket lists are not empty");
    let handle = match builder.install_recorder() {
        Ok(handle) => handle,
        Err(_) => PrometheusBuilder::new().build_recorder().handle(),
    };
    describe();
    handle
}

/// Every metric the switch exports: (kind, name, help). One list, so `/metrics` help texts and
/// the Grafana dashboard (checked by a test) cannot drift from the code.
pub const METRICS: &[(Kind, &str, &str)] = &[
    (Kind::Gauge, "calls_active", "Calls with a live call actor."),
    (
        Kind::Counter,
        "calls_admitted_total",
        "INVITEs admitted (a call actor was started).",
    ),
    (
        Kind::Counter,
        "calls_refused_total",
        "INVITEs refused, by cause.",
    ),
    (
        Kind::Counter,
        "calls_originated_total",
        "Outbound calls whose INVITE was sent (POST /v1/tenants/{tenant}/calls).",
    ),
    (
        Kind::Counter,
        "calls_originate_failed_total",
        "Outbound calls that ended before an answer (busy, no answer, refused…).",
    ),
    (
        Kind::Counter,
        "outbound_refused_total",
        "Outbound calls refused by the toll-fraud guard, by cause.",
    ),
    (
        Kind::Counter,
        "calls_ended_total",
        "Calls ended, by who hung up and why.",
    ),
    (
        Kind::Counter,
        "sip_requests_total",
        "SIP requests received that opened a transaction, by method.",
    ),
    (
        Kind::Counter,
        "sip_responses_sent_total",
        "SIP responses sent by the switch's transactions, by status code.",
    ),
    (
        Kind::Counter,
        "sip_responses_received_total",
        "SIP responses to the switch's own requests, by status code.",
    ),
    (
        Kind::Counter,
        "sip_transaction_timeouts_total",
        "SIP transactions that timed out, by reason.",
    ),
    (
        Kind::Counter,
        "sip_messages_received_total",
        "SIP datagrams and framed TCP messages handed to the endpoint.",
    ),
    (
        Kind::Counter,
        "sip_malformed_total",
        "SIP messages dropped or answered 400 because they could not be read.",
    ),
    (
        Kind::Counter,
        "sip_retransmissions_absorbed_total",
        "Request retransmissions absorbed by a transaction.",
    ),
    (
        Kind::Counter,
        "sip_invites_throttled_total",
        "New INVITEs answered 503 by the CPS limits, by reason (global, source).",
    ),
    (
        Kind::Gauge,
        "sip_registrations",
        "Trunk registrations: 1 on each trunk's current state (registering, registered, failed).",
    ),
    (
        Kind::Gauge,
        "sip_trunks",
        "Trunks in the cached trunk table.",
    ),
    (
        Kind::Gauge,
        "sip_tcp_connections",
        "Open SIP TCP connections.",
    ),
    (
        Kind::Counter,
        "rtp_packets_total",
        "RTP packets of ended calls, by direction.",
    ),
    (
        Kind::Counter,
        "rtp_lost_total",
        "RTP packets lost on the way in (ended calls).",
    ),
    (
        Kind::Histogram,
        "rtp_jitter_ms",
        "Interarrival jitter of ended calls (RFC 3550), milliseconds.",
    ),
    (
        Kind::Histogram,
        "rtp_mos",
        "E-model MOS estimate of ended calls.",
    ),
    (
        Kind::Gauge,
        "rtp_ports_in_use",
        "RTP ports leased by live calls.",
    ),
    (Kind::Gauge, "rtp_ports_capacity", "RTP ports in the pool."),
    (
        Kind::Counter,
        "wallet_debits_total",
        "Meter charges, by result (paid, insufficient, error).",
    ),
    (
        Kind::Counter,
        "wallet_debited_micros_total",
        "Micro-units charged by call meters.",
    ),
    (
        Kind::Counter,
        "wallet_alerts_total",
        "Wallet alerts published, by kind.",
    ),
    (
        Kind::Counter,
        "actor_failures_total",
        "Call child actors that failed, by kind.",
    ),
    (
        Kind::Counter,
        "tts_cache_requests_total",
        "Phrases asked of the text-to-speech phrase caches, by result: hit (memory or disk) or miss (synthesized).",
    ),
    (
        Kind::Counter,
        "tts_fallbacks_total",
        "Phrases the fallback voice spoke because the agent's text-to-speech provider failed, by provider.",
    ),
    (
        Kind::Histogram,
        "stt_moonshine_decode_ms",
        "Time Moonshine took to decode one piece of a caller's speech, in milliseconds.",
    ),
    (
        Kind::Counter,
        "stt_moonshine_finals_total",
        "Moonshine utterances finished, by tail: decoded (speech after the last pause) or none.",
    ),
    (
        Kind::Counter,
        "stt_moonshine_shed_total",
        "Pieces of scripted agents' callers' speech not queued for Moonshine because the wait would pass stt.moonshine_max_wait_ms; the keyword search answered for them.",
    ),
    (
        Kind::Counter,
        "stt_moonshine_skipped_total",
        "Queued Moonshine pieces skipped undecoded because their call or utterance had gone.",
    ),
    (
        Kind::Counter,
        "stt_second_opinions_total",
        "Utterances in which Moonshine heard no rule word and the keyword search's was taken.",
    ),
    (
        Kind::Counter,
        "webhook_deliveries_total",
        "Webhook deliveries: delivered, failed (gave up), retried attempts, dropped events.",
    ),
];

/// The kind of a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up.
    Counter,
    /// Goes up and down.
    Gauge,
    /// A distribution.
    Histogram,
}

fn describe() {
    for &(kind, name, help) in METRICS {
        match kind {
            Kind::Counter => describe_counter!(name, help),
            Kind::Gauge => describe_gauge!(name, help),
            Kind::Histogram => describe_histogram!(name, help),
        }
    }
}

/// Samples the gauges (and the webhook engine's counters) once a second until the process ends.
pub fn spawn_sampler(
    registry: CallRegistry,
    ports: Arc<PortPool>,
    tcp: impl Fn() -> usize + Send + 'static,
    hooks: WebhookSender,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            gauge!("calls_active").set(registry.len() as f64);
            gauge!("rtp_ports_in_use").set(ports.in_use() as f64);
            gauge!("rtp_ports_capacity").set(ports.capacity() as f64);
            gauge!("sip_tcp_connections").set(tcp() as f64);
            let webhooks = hooks.stats();
            counter!("webhook_deliveries_total", "result" => "delivered")
                .absolute(webhooks.delivered);
            counter!("webhook_deliveries_total", "result" => "failed").absolute(webhooks.failed);
            counter!("webhook_deliveries_total", "result" => "retried").absolute(webhooks.retried);
            counter!("webhook_deliveries_total", "result" => "dropped").absolute(webhooks.dropped);
        }
    });
}
