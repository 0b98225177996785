//! The on-disk phrase cache: the first switch synthesizes the demo agent's greeting and keeps it
//! in `tts.cache_dir`; a second switch started on the same directory greets its caller from the
//! file, without asking the engine (`tts_cache_requests_total` on `/metrics`).

mod common;

use std::time::Duration;

use common::{SwitchProcess, eventually, one_call, sample};

/// One call to the demo agent; the (hit, miss) counts of the phrase cache after it.
async fn greeted(switch: &SwitchProcess) -> (Option<f64>, Option<f64>) {
    let scenario = loadtests::scenario_file("uac_basic.xml");
    one_call(switch, scenario, "1000", Duration::from_secs(2)).await;
    let metrics = || {
        switch
            .http_get("/metrics")
            .map(|(_, b)| b)
            .unwrap_or_default()
    };
    let counted = eventually(Duration::from_secs(5), || {
        let text = metrics();
        async move { sample(&text, "tts_cache_requests_total").is_some() }
    })
    .await;
    let text = metrics();
    assert!(counted, "{text}");
    (
        sample(&text, "tts_cache_requests_total{result=\"hit\"}"),
        sample(&text, "tts_cache_requests_total{result=\"miss\"}"),
    )
}

fn phrase_files(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_start_greets_from_the_disk_cache() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("phrases");
    let cache_dir = cache.display().to_string();
    let env = [("SWITCH_TTS_CACHE_DIR", cache_dir.as_str())];

    let first = SwitchProcess::start(&env);
    // The demo greeting is two sentences, each a phrase of its own.
    assert_eq!(greeted(&first).await, (None, Some(2.0)), "synthesized once");
    let files = phrase_files(&cache);
    assert_eq!(files.len(), 2, "the greeting is on disk: {files:?}");
    assert!(files.iter().all(|f| f.ends_with(".pcm")), "{files:?}");
    drop(first);

    let second = SwitchProcess::start(&env);
    assert_eq!(
        greeted(&second).await,
        (Some(2.0), None),
        "served from disk\n{}",
        second.log()
    );
    assert_eq!(phrase_files(&cache), files);
}
