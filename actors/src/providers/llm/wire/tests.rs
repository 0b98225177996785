//! Tests of `wire`.

use super::*;

#[test]
fn tool_arguments_are_read_leniently() {
    assert_eq!(
        tool_call("transfer", r#"{"to":" sip:desk@example.com "}"#),
        Some(Ok(ToolCall::Transfer {
            to: Some("sip:desk@example.com".into())
        }))
    );
    assert_eq!(
        tool_call("transfer", "{not json"),
        Some(Ok(ToolCall::Transfer { to: None }))
    );
    assert_eq!(
        tool_call("collect_digits", r#"{"max":"4"}"#),
        Some(Ok(ToolCall::CollectDigits(DigitRequest::new(4))))
    );
    assert_eq!(
        tool_call("collect_digits", r#"{"max":1000}"#),
        Some(Ok(ToolCall::CollectDigits(DigitRequest::new(32))))
    );
    assert_eq!(
        tool_call(
            "collect_digits",
            r#"{"max":6,"terminator":"","timeout_ms":"2500"}"#
        ),
        Some(Ok(ToolCall::CollectDigits(DigitRequest {
            terminator: None,
            timeout_ms: 2_500,
            ..DigitRequest::new(6)
        })))
    );
    assert_eq!(tool_call("hangup", ""), Some(Ok(ToolCall::Hangup)));
    assert_eq!(tool_call("launch_rockets", "{}"), None);
}

#[test]
fn collected_digits_go_back_as_the_tool_result() {
    let config = OpenAiChatConfig::new("http://127.0.0.1:1", "m");
    let history = [
        Exchange::caller("check my balance"),
        Exchange::agent("Please type your account number."),
    ];
    let request = DigitRequest {
        tool_call_id: Some("call_7".into()),
        ..DigitRequest::new(8)
    };
    let input = CallerInput::Digits {
        digits: "1234".into(),
        request,
    };
    let body = request_body(&config, &history, &input);
    let messages = body["messages"].as_array().unwrap();
    let asked = &messages[messages.len() - 2];
    assert_eq!(asked["role"], "assistant");
    assert_eq!(asked["content"], "Please type your account number.");
    assert_eq!(asked["tool_calls"][0]["id"], "call_7");
    assert_eq!(asked["tool_calls"][0]["function"]["name"], "collect_digits");
    let result = messages.last().unwrap();
    assert_eq!(result["role"], "tool");
    assert_eq!(result["tool_call_id"], "call_7");
    assert_eq!(result["content"], r#"{"digits":"1234"}"#);
    // Digits nobody asked for through the model are a plain user message.
    let typed = CallerInput::Digits {
        digits: "99".into(),
        request: DigitRequest::new(2),
    };
    let body = request_body(&config, &[], &typed);
    assert_eq!(body["messages"][0]["content"], "The caller typed 99");
}

#[test]
fn tool_call_ids_are_kept() {
    let mut r = AnswerReader::new(&["collect_digits".to_owned()]);
    let chunk = r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1",
        "type":"function","function":{"name":"collect_digits","arguments":"{\"ma"}}]}}]}"#;
    r.handle_event(chunk).unwrap();
    let chunk = r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,
        "function":{"arguments":"x\":4}"}}]}}]}"#;
    r.handle_event(chunk).unwrap();
    let [BrainOutput::Tool(ToolCall::CollectDigits(request))] = &r.finish()[..] else {
        panic!("one collect_digits call");
    };
    assert_eq!(request.max, 4);
    assert_eq!(request.tool_call_id.as_deref(), Some("call_1"));
}

#[test]
fn undeclared_tools_and_other_choices_are_ignored() {
    let mut r = AnswerReader::new(&["hangup".to_owned()]);
    let chunk = r#"{"choices":[{"index":1,"delta":{"content":"Other choice. "}},
        {"index":0,"delta":{"tool_calls":[{"index":0,"function":{"name":"transfer","arguments":"{}"}},
        {"index":1,"function":{"name":"hangup","arguments":""}}]}}]}"#;
    assert!(r.handle_event(chunk).unwrap().is_empty());
    assert_eq!(r.finish(), [BrainOutput::Tool(ToolCall::Hangup)]);
    assert!(
        r.handle_event(r#"{"error":{"message":"overloaded"}}"#)
            .unwrap_err()
            .contains("overloaded")
    );
    assert!(r.handle_event("{oops").is_err());
}

fn send_dtmf_reader() -> AnswerReader {
    AnswerReader::new(&["send_dtmf".to_owned()])
}

#[test]
fn keys_to_press_arrive_in_fragments_and_keep_their_call_id() {
    let mut r = send_dtmf_reader();
    let chunks = [
        r#"{"choices":[{"index":0,"delta":{"content":"Choosing sales."}}]}"#,
        r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_9",
            "type":"function","function":{"name":"send_","arguments":""}}]}}]}"#,
        r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,
            "function":{"name":"dtmf","arguments":"{\"dig"}}]}}]}"#,
        r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,
            "function":{"arguments":"its\": \"1"}}]}}]}"#,
        r##"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,
            "function":{"arguments":"#\"}"}}]},"finish_reason":"tool_calls"}]}"##,
    ];
    for chunk in chunks {
        r.handle_event(chunk).unwrap();
    }
    assert_eq!(
        r.finish(),
        [
            BrainOutput::Say("Choosing sales.".into()),
            BrainOutput::Tool(ToolCall::SendDtmf {
                digits: "1#".into(),
                tool_call_id: Some("call_9".into())
            })
        ]
    );
    assert!(r.take_refused().is_empty());
    assert_eq!(
        tool_call("send_dtmf", r#"{"digits": 42}"#),
        Some(Ok(ToolCall::SendDtmf {
            digits: "42".into(),
            tool_call_id: None
        }))
    );
}

#[test]
fn keys_that_are_not_keys_are_refused_with_the_reason() {
    let mut r = send_dtmf_reader();
    r.handle_event(
        r#"{"choices":[{"index":0,"delta":{"content":"Pressing one.","tool_calls":[
            {"index":0,"id":"call_a","function":{"name":"send_dtmf","arguments":"{\"digits\":\"one\"}"}},
            {"index":1,"function":{"name":"send_dtmf","arguments":"{}"}}]}}]}"#,
    )
    .unwrap();
    assert_eq!(r.finish(), [BrainOutput::Say("Pressing one.".into())]);
    let refused = r.take_refused();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert_eq!(
        (refused[0].id.as_str(), refused[0].name.as_str()),
        ("call_a", "send_dtmf")
    );
    assert!(refused[0].error.contains("'o' is not a key"), "{refused:?}");
    assert_eq!(
        refused[1].id, "call_1",
        "an id of ours when the model gave none"
    );
    assert!(refused[1].error.contains("missing"), "{refused:?}");
    for (arguments, reason) in [
        (r#"{"digits":""}"#, "no keys"),
        (r#"{"digits":"1 2"}"#, "' ' is not a key"),
        (r#"{"digits":"e"}"#, "'e' is not a key"),
        (r#"{"digits":["1"]}"#, "must be a string"),
    ] {
        let Some(Err(error)) = tool_call("send_dtmf", arguments) else {
            panic!("{arguments} must be refused");
        };
        assert!(error.contains(reason), "{arguments}: {error}");
    }
    let long = format!(r#"{{"digits":"{}"}}"#, "1".repeat(33));
    assert!(matches!(tool_call("send_dtmf", &long), Some(Err(e)) if e.contains("at most 32")));

    // The model is asked again, with its answer and the error as the call's result.
    let config = OpenAiChatConfig::new("http://127.0.0.1:1", "m");
    let body = request_body(&config, &[], &CallerInput::Speech("press one".into()));
    let again = with_tool_errors(&body, r.text(), &refused);
    let messages = again["messages"].as_array().unwrap();
    let [user, answer, first, second] = &messages[..] else {
        panic!("{messages:#?}")
    };
    assert_eq!(user["content"], "press one");
    assert_eq!(answer["role"], "assistant");
    assert_eq!(answer["content"], "Pressing one.");
    assert_eq!(answer["tool_calls"][0]["id"], "call_a");
    assert_eq!(
        answer["tool_calls"][0]["function"]["arguments"],
        r#"{"digits":"one"}"#
    );
    assert_eq!(answer["tool_calls"][1]["id"], "call_1");
    assert_eq!(
        (&first["role"], &first["tool_call_id"]),
        (&json!("tool"), &json!("call_a"))
    );
    let error: Value = serde_json::from_str(first["content"].as_str().unwrap()).unwrap();
    assert!(error["error"].as_str().unwrap().contains("not a key"));
    assert_eq!(second["tool_call_id"], "call_1");
}

#[test]
fn keys_sent_are_the_call_and_its_result_in_the_history() {
    let mut config = OpenAiChatConfig::new("http://127.0.0.1:1", "m");
    config.tools = vec!["send_dtmf".into()];
    let pressed = |text: &str, id: Option<&str>| Exchange {
        keys: Some(KeysSent {
            digits: "1".into(),
            tool_call_id: id.map(str::to_owned),
        }),
        ..Exchange::agent(text)
    };
    let history = [
        Exchange::caller("For sales, press 1."),
        pressed("", Some("call_s")),
        Exchange::caller("Sales. For orders, press 1."),
        pressed("Orders, please.", Some("call_o")),
        // Keys a scripted fallback pressed: its words only.
        pressed("One moment.", None),
    ];
    let body = request_body(&config, &history, &CallerInput::Speech("Hello?".into()));
    let messages = body["messages"].as_array().unwrap();
    let roles: Vec<&str> = messages
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        [
            "user",
            "assistant",
            "tool",
            "user",
            "assistant",
            "tool",
            "assistant",
            "user"
        ]
    );
    assert_eq!(messages[1]["content"], Value::Null);
    let call = &messages[1]["tool_calls"][0];
    assert_eq!(
        (&call["id"], &call["function"]["name"]),
        (&json!("call_s"), &json!("send_dtmf"))
    );
    assert_eq!(call["function"]["arguments"], r#"{"digits":"1"}"#);
    assert_eq!(messages[2]["tool_call_id"], "call_s");
    assert_eq!(messages[2]["content"], r#"{"sent":"1"}"#);
    assert_eq!(messages[4]["content"], "Orders, please.");
    assert_eq!(messages[5]["tool_call_id"], "call_o");
    assert_eq!(messages[6]["content"], "One moment.");
    assert!(messages[6].get("tool_calls").is_none());
    let tools = body["tools"].as_array().unwrap();
    assert_eq!(tools[0]["function"]["name"], "send_dtmf");
    assert_eq!(
        tools[0]["function"]["parameters"]["required"],
        json!(["digits"])
    );
}
