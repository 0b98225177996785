//! Media end to end with SIPp: a caller streaming ~6 s of speech, RFC 4733 and SIP INFO digits,
//! and a recorded call; checked on the call records, transcripts and the WAV file.

mod common;

use std::time::Duration;

use actors::spec::AgentSpec;
use common::{SwitchProcess, one_ended_call};
use loadtests::SippRun;
use store::{CallRecord, Store};

fn media(call: &CallRecord) -> serde_json::Value {
    serde_json::from_str(call.media.as_deref().expect("media on the record")).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_caller_streaming_speech_is_counted_on_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let file = common::speech_scenario("uac_speech.xml", dir.path());
    let switch = SwitchProcess::start(&[]);
    let sip = switch.sip;
    let report = tokio::task::spawn_blocking(move || {
        SippRun::scenario(&file)
            .target(sip)
            .service("1000")
            .call_duration(Duration::from_secs(7))
            .timeout(Duration::from_secs(30))
            .run()
    })
    .await
    .unwrap()
    .unwrap();
    assert!(report.all_successful(1), "{report:?}");
    let call = one_ended_call(&switch.store().await).await;
    let m = media(&call);
    let packets_in = m["packets_in"].as_u64().unwrap();
    // ~6.3 s of 20 ms packets.
    assert!((290..=330).contains(&packets_in), "{m}");
    assert!(m["packets_out"].as_u64().unwrap() > 300, "{m}");
    assert_eq!(m["codec"], "PCMU");
    assert_eq!(m["lost"], 0, "{m}");
    assert!(m["jitter_ms"].as_f64().unwrap() < 20.0, "{m}");
    assert!(m["mos"].as_f64().unwrap() > 4.0, "{m}");
    assert!(m["jitter_buffer"]["played"].as_u64().unwrap() > 250, "{m}");
}

#[tokio::test(flavor = "multi_thread")]
async fn rfc4733_and_sip_info_digits_reach_the_transcript() {
    for (scenario_name, digit) in [("uac_dtmf_rfc4733.xml", "1"), ("uac_dtmf_info.xml", "5")] {
        let switch = SwitchProcess::start(&[]);
        let sip = switch.sip;
        let report = tokio::task::spawn_blocking(move || {
            SippRun::scenario(&loadtests::scenario_file(scenario_name))
                .target(sip)
                .service("1000")
                .call_duration(Duration::from_secs(2))
                .timeout(Duration::from_secs(30))
                .run()
        })
        .await
        .unwrap()
        .unwrap();
        assert!(report.all_successful(1), "{scenario_name}: {report:?}");
        let store = switch.store().await;
        let call = one_ended_call(&store).await;
        let turns = store.transcript(&call.id).await.unwrap();
        let digits: Vec<_> = turns.iter().filter_map(|t| t.dtmf.clone()).collect();
        assert_eq!(digits, [digit], "{scenario_name}: {turns:#?}");
        assert_eq!(turns[0].speaker, store::Speaker::Caller);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recorded_call_leaves_a_stereo_wav() {
    let dir = tempfile::tempdir().unwrap();
    let file = common::speech_scenario("uac_speech.xml", dir.path());
    let db = format!("sqlite://{}/rec.db", dir.path().display());
    let store = Store::connect(&db, 2).await.unwrap();
    let spec = AgentSpec {
        record: true,
        ..AgentSpec::demo()
    };
    common::agent_on_number(&store, &serde_json::to_value(&spec).unwrap(), "3000").await;
    let recordings = dir.path().join("recordings");
    let recordings_dir = recordings.display().to_string();
    let switch = SwitchProcess::start(&[
        ("SWITCH_DATABASE_URL", db.as_str()),
        ("SWITCH_DEMO_SEED", "false"),
        ("SWITCH_RECORDINGS_DIR", recordings_dir.as_str()),
        ("SWITCH_ADMIN_TOKEN", "operator-secret-token"),
    ]);
    let sip = switch.sip;
    let report = tokio::task::spawn_blocking(move || {
        SippRun::scenario(&file)
            .target(sip)
            .service("3000")
            .call_duration(Duration::from_secs(7))
            .timeout(Duration::from_secs(30))
            .run()
    })
    .await
    .unwrap()
    .unwrap();
    assert!(report.all_successful(1), "{report:?}");
    let call = one_ended_call(&store).await;
    let wav = recordings.join(format!("{}.wav", call.id));
    let bytes = std::fs::read(&wav).unwrap_or_else(|e| panic!("{}: {e}", wav.display()));
    assert_eq!(&bytes[0..4], b"RIFF");
    assert_eq!(u16::from_le_bytes([bytes[22], bytes[23]]), 2, "stereo");
    let data = u32::from_le_bytes(bytes[40..44].try_into().unwrap()) as usize;
    assert_eq!(data, bytes.len() - 44, "header patched at the end");
    let seconds = data as f64 / (8000.0 * 4.0);
    assert!((6.0..=8.5).contains(&seconds), "{seconds} s recorded");
    // Both sides carry sound: the caller's speech on the left, the greeting on the right.
    let (mut left, mut right) = (0f64, 0f64);
    for frame in bytes[44..].chunks_exact(4) {
        left += f64::from(i16::from_le_bytes([frame[0], frame[1]])).powi(2);
        right += f64::from(i16::from_le_bytes([frame[2], frame[3]])).powi(2);
    }
    let samples = (data / 4) as f64;
    let (left_rms, right_rms) = ((left / samples).sqrt(), (right / samples).sqrt());
    assert!(
        left_rms > 300.0 && right_rms > 300.0,
        "rms caller {left_rms:.0}, agent {right_rms:.0}"
    );
}
