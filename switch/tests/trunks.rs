//! Trunks end to end, SIPp as the carrier on loopback addresses other than 127.0.0.1: the source
//! ACL, Digest challenges of INVITEs, REGISTER to a challenging registrar, and the CPS limits.

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::{SwitchProcess, eventually};
use loadtests::SippRun;
use store::CallState;

const TOKEN: &str = "operator-secret-token";
const CARRIER_IP: &str = "127.0.0.2";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Creates a trunk through the admin API, waits until the switch's trunk table has it, and
/// returns its id.
async fn create_trunk(switch: &SwitchProcess, body: &str) -> String {
    let before = metric(switch, "sip_trunks", &[]).unwrap_or(0.0);
    let (code, text) = switch
        .http("POST", "/v1/trunks", Some(TOKEN), Some(body))
        .expect("admin API answers");
    assert_eq!(code, 201, "{text}");
    let loaded = eventually(Duration::from_secs(10), || {
        let value = metric(switch, "sip_trunks", &[]);
        async move { value.is_some_and(|v| v > before) }
    })
    .await;
    assert!(loaded, "trunk table refreshed:\n{}", switch.log());
    let created: serde_json::Value = serde_json::from_str(&text).unwrap();
    created["id"].as_str().unwrap().to_string()
}

/// The value of `name{labels…}` on `/metrics`, labels in any order.
fn metric(switch: &SwitchProcess, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let (_, text) = switch.http_get("/metrics")?;
    text.lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .find(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

/// One call to the demo number from `from` with `scenario`.
async fn call_from(switch: &SwitchProcess, from: &str, scenario: SippRun) -> loadtests::SippReport {
    let sip = switch.sip;
    let from = ip(from);
    tokio::task::spawn_blocking(move || {
        scenario
            .target(sip)
            .local_ip(from)
            .service("1000")
            .calls(1)
            .call_duration(Duration::from_millis(500))
            .timeout(Duration::from_secs(20))
            .run()
    })
    .await
    .unwrap()
    .expect("sipp ran")
}

#[tokio::test(flavor = "multi_thread")]
async fn unlisted_sources_get_403_and_listed_ones_are_admitted() {
    let switch = SwitchProcess::start(&[
        ("SWITCH_ADMIN_TOKEN", TOKEN),
        ("SWITCH_SIP_TRUSTED_LOOPBACK", "false"),
    ]);
    create_trunk(
        &switch,
        r#"{"name":"carrier","address":"127.0.0.3","inbound_cidrs":["127.0.0.3/32"]}"#,
    )
    .await;
    let refused = call_from(&switch, CARRIER_IP, SippRun::uac_basic()).await;
    assert_eq!((refused.successful, refused.failed), (0, 1), "{refused:?}");
    assert!(
        refused.stderr_tail.contains("403"),
        "{}",
        refused.stderr_tail
    );
    let admitted = call_from(&switch, "127.0.0.3", SippRun::uac_basic()).await;
    assert!(admitted.all_successful(1), "{admitted:?}\n{}", switch.log());
    // A trunk whose codec list shares nothing with the offer (PCMU, PCMA): 488.
    create_trunk(
        &switch,
        r#"{"name":"g729-only","address":"127.0.0.5","inbound_cidrs":["127.0.0.5"],"codecs":["G729"]}"#,
    )
    .await;
    let no_codec = call_from(&switch, "127.0.0.5", SippRun::uac_basic()).await;
    assert_eq!(
        (no_codec.successful, no_codec.failed),
        (0, 1),
        "{no_codec:?}"
    );
    assert!(
        no_codec.stderr_tail.contains("488"),
        "{}",
        no_codec.stderr_tail
    );

    let store = switch.store().await;
    let recorded = eventually(Duration::from_secs(5), || {
        let store = store.clone();
        async move { store.list_calls(None, 10).await.unwrap().len() == 3 }
    })
    .await;
    let calls = store.list_calls(None, 10).await.unwrap();
    assert!(recorded, "{calls:#?}");
    let mut causes: Vec<_> = calls
        .iter()
        .filter(|c| c.state == CallState::Refused)
        .map(|c| c.hangup_cause.clone().unwrap_or_default())
        .collect();
    causes.sort();
    assert_eq!(causes, ["no_common_codec", "source_not_allowed"]);
    let call = calls
        .iter()
        .find(|c| c.state != CallState::Refused)
        .unwrap();
    assert!(
        call.trunk_id.is_some(),
        "the admitted call names its trunk: {call:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trunk_with_credentials_challenges_and_an_authenticated_invite_connects() {
    let switch = SwitchProcess::start(&[("SWITCH_ADMIN_TOKEN", TOKEN)]);
    create_trunk(
        &switch,
        r#"{"name":"pbx","address":"127.0.0.2","inbound_cidrs":["127.0.0.2"],
            "username":"carrier","password":"carrier-secret","codecs":["PCMA"]}"#,
    )
    .await;
    // Without credentials: 401, which uac_basic does not expect.
    let plain = call_from(&switch, CARRIER_IP, SippRun::uac_basic()).await;
    assert_eq!((plain.successful, plain.failed), (0, 1), "{plain:?}");
    assert!(plain.stderr_tail.contains("401"), "{}", plain.stderr_tail);
    // SIPp answers the challenge and the call connects, with the trunk's only codec.
    let scenario = SippRun::scenario(&loadtests::scenario_file("uac_auth.xml"));
    let authed = call_from(&switch, CARRIER_IP, scenario).await;
    assert!(authed.all_successful(1), "{authed:?}\n{}", switch.log());

    let store = switch.store().await;
    let ended = eventually(Duration::from_secs(5), || {
        let store = store.clone();
        async move {
            let calls = store.list_calls(None, 10).await.unwrap();
            calls.iter().any(|c| c.state == CallState::Ended)
        }
    })
    .await;
    let calls = store.list_calls(None, 10).await.unwrap();
    assert!(ended, "{calls:#?}");
    // Challenges are a protocol step, not refused calls: only the answered call is recorded.
    assert_eq!(calls.len(), 1, "{calls:#?}");
    let media: serde_json::Value =
        serde_json::from_str(calls[0].media.as_deref().unwrap()).unwrap();
    assert_eq!(media["codec"], "PCMA", "{media}");
    assert_eq!(
        metric(
            &switch,
            "calls_refused_total",
            &[("cause", "auth_challenge")]
        ),
        Some(2.0)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_registering_trunk_answers_the_registrar_challenge_registers_and_unregisters_when_deleted()
 {
    let registrar = SippRun::scenario(&loadtests::scenario_file("uas_register.xml"))
        .local_ip(ip("127.0.0.3"))
        .calls(1)
        .timeout(Duration::from_secs(30))
        .spawn()
        .expect("the registrar starts");
    let switch = SwitchProcess::start(&[("SWITCH_ADMIN_TOKEN", TOKEN)]);
    let trunk = create_trunk(
        &switch,
        &format!(
            r#"{{"name":"upstream","address":"{}","register":true,
                "username":"carrier","password":"carrier-secret"}}"#,
            registrar.local_addr()
        ),
    )
    .await;
    let registered = eventually(Duration::from_secs(15), || {
        let value = metric(
            &switch,
            "sip_registrations",
            &[("trunk", "upstream"), ("state", "registered")],
        );
        async move { value == Some(1.0) }
    })
    .await;
    assert!(registered, "{}", switch.log());
    // Deleting the trunk takes the binding down: the registrar expects `Expires: 0`.
    let (code, text) = switch
        .http("DELETE", &format!("/v1/trunks/{trunk}"), Some(TOKEN), None)
        .unwrap();
    assert_eq!(code, 204, "{text}");
    let report = tokio::task::spawn_blocking(move || registrar.wait())
        .await
        .unwrap()
        .expect("the registrar finishes");
    assert!(report.all_successful(1), "{report:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invite_flood_over_the_cap_gets_503_and_the_switch_keeps_serving() {
    let switch = SwitchProcess::start(&[("SWITCH_SIP_MAX_CPS_PER_SOURCE", "5")]);
    let sip = switch.sip;
    // 40 calls at 200 CPS from one source: its bucket holds 5.
    let flood = tokio::task::spawn_blocking(move || {
        SippRun::uac_basic()
            .target(sip)
            .local_ip(ip(CARRIER_IP))
            .service("1000")
            .calls(40)
            .rate(200.0)
            .call_duration(Duration::from_millis(200))
            .timeout(Duration::from_secs(30))
            .run()
    })
    .await
    .unwrap()
    .expect("sipp ran");
    assert!(flood.failed >= 30, "{flood:?}");
    assert!(flood.successful >= 5, "{flood:?}");
    assert!(flood.stderr_tail.contains("503"), "{}", flood.stderr_tail);
    let throttled = metric(
        &switch,
        "sip_invites_throttled_total",
        &[("reason", "source")],
    );
    assert!(throttled.is_some_and(|n| n >= 30.0), "{throttled:?}");
    // Another source is still served at once.
    let other = call_from(&switch, "127.0.0.4", SippRun::uac_basic()).await;
    assert!(other.all_successful(1), "{other:?}\n{}", switch.log());
}
