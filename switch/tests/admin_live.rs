//! The admin API on the running switch: a live SIPp call listed with its actor tree, hung up
//! through the API (SIPp gets the BYE within a second), and a signed `call.ended` webhook.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{SwitchProcess, eventually};
use loadtests::SippRun;
use serde_json::Value;

const TOKEN: &str = "operator-secret-token";

/// One request a receiver got: lower-cased header names with values, and the body.
type Received = (Vec<(String, String)>, Vec<u8>);

/// A webhook receiver on 127.0.0.1: each request's (headers, body) goes to the channel.
fn receiver() -> (String, mpsc::Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(20) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut headers = Vec::new();
            let mut line = String::new();
            let _ = reader.read_line(&mut line); // request line
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((k, v)) = line.trim_end().split_once(':') {
                    headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
                }
            }
            let len: usize = headers
                .iter()
                .find(|(k, _)| k == "content-length")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            let _ = tx.send((headers, body));
        }
    });
    (url, rx)
}

fn json(switch: &SwitchProcess, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
    let (code, text) = switch
        .http(method, path, Some(TOKEN), body)
        .expect("admin API answers");
    (
        code,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn count_actors(view: &Value) -> usize {
    1 + view["children"]
        .as_array()
        .map(|c| c.iter().map(count_actors).sum())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_live_call_is_listed_steered_and_reported() {
    let switch = SwitchProcess::start(&[("SWITCH_ADMIN_TOKEN", TOKEN)]);
    let (code, tenants) = json(&switch, "GET", "/v1/tenants", None);
    assert_eq!(code, 200, "{tenants}");
    let tenant = tenants["items"][0]["id"].as_str().unwrap().to_string();
    let (url, hooks) = receiver();
    let (code, hook) = json(
        &switch,
        "POST",
        &format!("/v1/tenants/{tenant}/webhooks"),
        Some(&format!(r#"{{"url":"{url}","events":["call.ended"]}}"#)),
    );
    assert_eq!(code, 201, "{hook}");
    let secret = hook["secret"].as_str().unwrap().to_string();

    // A caller that stays until the switch hangs up.
    let sip = switch.sip;
    let caller = std::thread::spawn(move || {
        let report = SippRun::scenario(&loadtests::scenario_file("uac_remote_bye.xml"))
            .target(sip)
            .service("1000")
            .timeout(Duration::from_secs(30))
            .run();
        (report, Instant::now())
    });
    let path = format!("/v1/tenants/{tenant}/calls?state=live");
    let listed = eventually(Duration::from_secs(5), || {
        let (_, calls) = json(&switch, "GET", &path, None);
        async move { calls["items"].as_array().is_some_and(|i| i.len() == 1) }
    })
    .await;
    assert!(listed, "the live call is listed");
    let (_, calls) = json(&switch, "GET", &path, None);
    let call_id = calls["items"][0]["id"].as_str().unwrap().to_string();

    // Its actor tree, each actor with kind, state, mailbox and stats.
    let (code, call) = json(&switch, "GET", &format!("/v1/calls/{call_id}"), None);
    assert_eq!(code, 200, "{call}");
    let tree = &call["actors"];
    assert_eq!(tree["kind"], "call", "{call}");
    assert!(count_actors(tree) >= 6, "{tree:#}");
    let kinds: Vec<&str> = tree["children"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["kind"].as_str())
        .collect();
    for kind in ["dialog", "media", "stt", "agent", "tts", "meter"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    for child in tree["children"].as_array().unwrap() {
        assert!(
            child["state"].is_string() && child["mailbox"].is_u64(),
            "{child}"
        );
        assert!(child["stats"].is_object(), "{child}");
    }
    let media = tree["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "media")
        .unwrap();
    assert!(
        media["stats"]["rtp"]["packets_out"].as_u64().is_some(),
        "{media}"
    );

    // Hang up through the API: SIPp gets the BYE within a second.
    let asked = Instant::now();
    let (code, body) = json(
        &switch,
        "POST",
        &format!("/v1/calls/{call_id}/hangup"),
        Some("{}"),
    );
    assert!((200..300).contains(&code), "{code} {body}");
    let (report, ended) = caller.join().unwrap();
    let report = report.unwrap();
    assert!(report.all_successful(1), "SIPp got our BYE: {report:?}");
    let waited = ended.duration_since(asked);
    assert!(waited < Duration::from_secs(1), "BYE after {waited:?}");

    // A correctly signed call.ended with the call record.
    let (headers, body) = hooks
        .recv_timeout(Duration::from_secs(10))
        .expect("webhook delivered");
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(header("x-switch-event"), "call.ended");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    admin_api::webhooks::verify_signature(&secret, &header("x-switch-signature"), &body, now, 300)
        .expect("signature verifies");
    let event: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(event["data"]["id"], call_id.as_str(), "{event:#}");
    assert_eq!(event["data"]["hangup_by"], "api", "{event:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_agent_the_actors_understand_is_accepted_by_the_api() {
    let switch = SwitchProcess::start(&[("SWITCH_ADMIN_TOKEN", TOKEN)]);
    let (_, tenants) = json(&switch, "GET", "/v1/tenants", None);
    let tenant = tenants["items"][0]["id"].as_str().unwrap().to_string();
    let mut spec = actors::spec::AgentSpec::demo();
    spec.record = true;
    spec.stt.provider = "none".into();
    spec.tts = actors::spec::ProviderChoice {
        base_url: Some("http://127.0.0.1:9".into()),
        voice: Some("nova".into()),
        api_key_env: Some("OPENAI_API_KEY".into()),
        fallback: Some("local".into()),
        ..actors::spec::ProviderChoice::named("openai")
    };
    if let actors::spec::Brain::Scripted { rules, .. } = &mut spec.brain {
        rules[2].to = Some("sip:frontdesk@127.0.0.1".into());
        let account = actors::spec::ScriptRule {
            when: vec!["account".into()],
            say: "Type your account number.".into(),
            action: Some(actors::spec::RuleAction::CollectDigits),
            to: None,
            digits: Some(actors::spec::DigitsSpec::default()),
            keys: None,
        };
        let sales = actors::spec::ScriptRule {
            when: vec!["sales".into()],
            say: "Choosing sales.".into(),
            action: Some(actors::spec::RuleAction::SendDtmf),
            digits: None,
            keys: Some("1#".into()),
            ..account.clone()
        };
        rules.extend([account, sales]);
    }
    let mut body = serde_json::to_value(&spec).unwrap();
    body["name"] = "Same shape".into();
    let (code, created) = json(
        &switch,
        "POST",
        &format!("/v1/tenants/{tenant}/agents"),
        Some(&body.to_string()),
    );
    assert_eq!(code, 201, "{created}");
    // And what the API stores reads back as the actors' type.
    let mut stored = created.clone();
    for key in ["id", "tenant_id", "name", "created_at"] {
        stored.as_object_mut().unwrap().remove(key);
    }
    let back: actors::spec::AgentSpec = serde_json::from_value(stored).expect("the actors read it");
    assert_eq!(back, spec);
}
