//! Operating the switch: Prometheus metrics after real calls, and SIGTERM draining.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{SwitchProcess, eventually, sample};
use loadtests::SippRun;

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_real_calls() {
    let switch = SwitchProcess::start(&[]);
    let sip = switch.sip;
    let report = tokio::task::spawn_blocking(move || {
        SippRun::uac_basic()
            .target(sip)
            .service("1000")
            .calls(2)
            .rate(10.0)
            .call_duration(Duration::from_secs(1))
            .rtp_echo()
            .timeout(Duration::from_secs(20))
            .run()
    })
    .await
    .unwrap()
    .unwrap();
    assert!(report.all_successful(2), "{report:?}");
    let counted = eventually(Duration::from_secs(5), || {
        let text = switch
            .http_get("/metrics")
            .map(|(_, b)| b)
            .unwrap_or_default();
        async move { sample(&text, "calls_ended_total") == Some(2.0) }
    })
    .await;
    let (code, text) = switch.http_get("/metrics").unwrap();
    assert_eq!(code, 200);
    assert!(counted, "{text}");
    assert_eq!(sample(&text, "calls_admitted_total"), Some(2.0), "{text}");
    assert_eq!(
        sample(&text, "sip_requests_total{method=\"INVITE\"}"),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "sip_requests_total{method=\"BYE\"}"),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "sip_responses_sent_total{code=\"200\"}"),
        Some(4.0),
        "{text}"
    );
    assert!(
        sample(&text, "rtp_packets_total{direction=\"out\"}").unwrap() > 50.0,
        "{text}"
    );
    assert!(
        sample(&text, "rtp_packets_total{direction=\"in\"}").unwrap() > 10.0,
        "{text}"
    );
    assert!(
        sample(&text, "wallet_debits_total{result=\"paid\"}").unwrap() >= 2.0,
        "{text}"
    );
    assert!(text.contains("# HELP calls_active"), "{text}");
    dashboard_metrics_exist(&text);
}

/// Every metric the Grafana dashboard queries is one the switch exports (see
/// `switch::metrics::METRICS`), and the ones already used show their help on `/metrics`.
fn dashboard_metrics_exist(metrics: &str) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../loadtests/grafana/switch-dashboard.json"
    );
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let words = [
        "rate",
        "sum",
        "by",
        "histogram_quantile",
        "le",
        "direction",
        "cause",
        "method",
        "code",
        "reason",
        "result",
        "kind",
        "hangup_by",
        "hit",
        "e6",
    ];
    let mut checked = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            let names = expr
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| w.chars().next().is_some_and(|c| c.is_ascii_lowercase()))
                .filter(|w| !words.contains(w));
            for name in names {
                let name = name.strip_suffix("_bucket").unwrap_or(name);
                assert!(
                    switch::metrics::METRICS
                        .iter()
                        .any(|(_, known, _)| *known == name),
                    "dashboard queries {name}, which the switch does not export"
                );
                if metrics.contains(&format!("\n{name}")) {
                    assert!(
                        metrics.contains(&format!("# HELP {name} ")),
                        "{name} has no help"
                    );
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 15);
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_drains_then_exits_zero() {
    let mut switch = SwitchProcess::start(&[("SWITCH_CALLS_DRAIN_TIMEOUT_SECS", "2")]);
    let sip = switch.sip;
    // A call that lasts until the switch hangs up.
    let live = std::thread::spawn(move || {
        SippRun::scenario(&loadtests::scenario_file("uac_remote_bye.xml"))
            .target(sip)
            .service("1000")
            .timeout(Duration::from_secs(30))
            .run()
    });
    let store = switch.store().await;
    assert!(
        eventually(Duration::from_secs(5), || async {
            store
                .list_calls(None, 5)
                .await
                .unwrap()
                .iter()
                .any(|c| c.answered_at.is_some())
        })
        .await
    );
    let signalled = Instant::now();
    let kill = Command::new("kill")
        .args(["-TERM", &switch.pid().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    assert!(
        eventually(Duration::from_secs(2), || {
            let code = switch.http_get("/ready").map(|(c, _)| c);
            async move { code == Some(503) }
        })
        .await,
        "/ready turns 503 while draining"
    );
    // A new call is refused 503 while the live one finishes.
    let refused = tokio::task::spawn_blocking(move || {
        SippRun::uac_basic()
            .target(sip)
            .service("1000")
            .timeout(Duration::from_secs(10))
            .run()
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!((refused.successful, refused.failed), (0, 1), "{refused:?}");
    // After the 2 s deadline the live call gets its BYE and the process exits 0.
    let report = live.join().unwrap().unwrap();
    assert!(
        report.all_successful(1),
        "the live call was hung up cleanly: {report:?}"
    );
    let status = switch
        .wait_exit(Duration::from_secs(15))
        .expect("exits by itself");
    assert!(status.success(), "{status}\n{}", switch.log());
    let waited = signalled.elapsed();
    assert!(
        waited >= Duration::from_secs(2),
        "waited for the deadline: {waited:?}"
    );
    let calls = store.list_calls(None, 5).await.unwrap();
    let cause = |c: &str| {
        calls
            .iter()
            .filter(|r| r.hangup_cause.as_deref() == Some(c))
            .count()
    };
    assert_eq!(cause("shutdown"), 1, "{calls:#?}");
    assert_eq!(cause("draining"), 1, "{calls:#?}");
}
