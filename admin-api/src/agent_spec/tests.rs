//! Tests of `agent_spec`.

use serde_json::json;

use super::*;

fn scripted() -> serde_json::Value {
    json!({
        "greeting": "Hello",
        "brain": {"kind": "scripted", "rules": [
            {"when": ["book"], "say": "Tomorrow at ten?"},
            {"when": ["bye"], "say": "Goodbye", "action": "hangup"}
        ], "fallback": "Sorry?"},
    })
}

#[test]
fn accepts_the_documented_shapes() {
    let spec = AgentSpecDoc::parse(scripted()).expect("scripted");
    assert_eq!(spec.tts.provider, "local");
    let llm = json!({"greeting": "Hi", "answer_after_ms": 500,
        "brain": {"kind": "llm", "base_url": "https://api.openai.com", "model": "gpt-4o-mini",
                  "api_key_env": "OPENAI_API_KEY", "system_prompt": "Be brief.", "tools": ["hangup"]},
        "stt": {"provider": "local"}, "tts": {"provider": "local"}});
    AgentSpecDoc::parse(llm).expect("llm");
    let mut cloud = scripted();
    cloud["stt"] = json!({"provider": "deepgram", "base_url": "wss://api.deepgram.com",
        "model": "nova-3", "api_key_env": "DEEPGRAM_API_KEY", "fallback": "local"});
    cloud["tts"] = json!({"provider": "openai", "voice": "alloy", "fallback": "local"});
    AgentSpecDoc::parse(cloud).expect("cloud providers");
}

#[test]
fn errors_name_the_field() {
    let field = |v: serde_json::Value| {
        AgentSpecDoc::parse(v)
            .expect_err("must fail")
            .field
            .unwrap_or_default()
    };
    let mut v = scripted();
    v["brain"]["rules"][1]["say"] = json!("");
    assert_eq!(field(v), "brain.rules[1].say");
    let mut v = scripted();
    v["brain"]["rules"][0]["when"] = json!([]);
    assert_eq!(field(v), "brain.rules[0].when");
    let mut v = scripted();
    v["brain"]["rules"][0]["action"] = json!("explode");
    assert_eq!(field(v), "brain.rules[0].action");
    let mut v = scripted();
    v["colour"] = json!("red");
    assert_eq!(field(v), "colour");
    let mut v = scripted();
    v["answer_after_ms"] = json!(600_000);
    assert_eq!(field(v), "answer_after_ms");
    let v = json!({"greeting": "x", "brain": {"kind": "telepathy"}});
    assert_eq!(field(v), "brain.kind");
    let v =
        json!({"greeting": "x", "brain": {"kind": "llm", "base_url": "http://h", "model": "m"}});
    assert_eq!(field(v), "brain.system_prompt");
    let v = json!({"greeting": "x", "brain": {"kind": "llm", "base_url": "http://h", "model": "m",
        "system_prompt": "p", "tools": ["teleport"]}});
    assert_eq!(field(v), "brain.tools[0]");
    let v = json!({"brain": {"kind": "llm", "base_url": "http://h", "model": "m", "system_prompt": "p"}});
    assert_eq!(field(v), "greeting");
    let mut v = scripted();
    v["brain"]["rules"][0]["digits"] = json!({"max": 40});
    assert_eq!(field(v), "brain.rules[0].digits.max");
    let mut v = scripted();
    v["brain"]["rules"][0]["action"] = json!("collect_digits");
    v["brain"]["rules"][0]["digits"] = json!({"max": 4, "terminator": "5"});
    assert_eq!(field(v), "brain.rules[0].digits.terminator");
    let mut v = scripted();
    v["tts"] = json!({"provider": "polly"});
    assert_eq!(field(v), "tts.provider");
    let v = json!({"greeting": "x", "brain": {"kind": "llm", "base_url": "http://h", "model": "m",
        "system_prompt": "p", "tools": ["send_dtmf", "press_keys"]}});
    assert_eq!(field(v), "brain.tools[1]");
    let mut v = scripted();
    v["tts"] = json!({"provider": "elevenlabs", "base_url": "http://127.0.0.1:1"});
    assert_eq!(field(v), "tts.voice");
    let mut v = scripted();
    v["stt"] = json!({"provider": "deepgram", "base_url": "https://api.deepgram.com"});
    assert_eq!(field(v), "stt.base_url");
    let mut v = scripted();
    v["stt"] = json!({"provider": "openai", "fallback": "deepgram"});
    assert_eq!(field(v), "stt.fallback");
}

#[test]
fn a_send_dtmf_rule_needs_keys_that_are_keys() {
    let with = |action: &str, keys: Option<&str>| {
        let mut v = scripted();
        v["brain"]["rules"][0]["action"] = json!(action);
        if let Some(keys) = keys {
            v["brain"]["rules"][0]["keys"] = json!(keys);
        }
        AgentSpecDoc::parse(v)
    };
    let spec = with("send_dtmf", Some("1#*0ABCD")).expect("keys");
    let BrainDoc::Scripted { rules, .. } = &spec.brain else {
        panic!("scripted")
    };
    assert_eq!(rules[0].action, Some(RuleActionDoc::SendDtmf));
    assert_eq!(rules[0].keys.as_deref(), Some("1#*0ABCD"));
    assert!(spec.to_json().unwrap().contains(r#""keys":"1#*0ABCD""#));
    for (keys, reason) in [
        (None, "required by send_dtmf"),
        (Some(""), "1 to 32 keys"),
        (Some("1 2"), "' ' is not a key"),
        (Some("a"), "'a' is not a key"),
        (Some("123456789012345678901234567890123"), "1 to 32 keys"),
    ] {
        let err = with("send_dtmf", keys).expect_err("must fail");
        assert_eq!(
            err.field.as_deref(),
            Some("brain.rules[0].keys"),
            "{keys:?}"
        );
        assert!(err.message.contains(reason), "{keys:?}: {}", err.message);
    }
    // Keys on another action are checked too; a rule without keys needs none.
    let err = with("hangup", Some("x")).expect_err("must fail");
    assert_eq!(err.field.as_deref(), Some("brain.rules[0].keys"));
    with("hangup", None).expect("no keys");
    let llm = json!({"greeting": "Hi", "brain": {"kind": "llm", "base_url": "http://h",
        "model": "m", "system_prompt": "Choose sales.", "tools": ["send_dtmf"]}});
    AgentSpecDoc::parse(llm).expect("the tool");
}
