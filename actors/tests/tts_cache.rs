//! `CachedTts`: hits share audio, concurrent misses synthesize once, the least recently used
//! phrase is evicted, failures or cancellations are not cached, and with a disk cache a new
//! process (a new cache on the same directory) gets phrases from disk, per voice.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actors::providers::tts::{CachedTts, DiskCache, EspeakTts, Pcm8k, TtsError, TtsProvider};
use async_trait::async_trait;

/// A provider that counts its calls, takes `delay` per call, and fails on "fail".
struct Counting {
    calls: AtomicUsize,
    delay: Duration,
}

impl Counting {
    fn new(delay: Duration) -> Self {
        Self {
            calls: AtomicUsize::new(0),
            delay,
        }
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl TtsProvider for Counting {
    fn name(&self) -> &'static str {
        "counting"
    }

    async fn synthesize(&self, text: &str) -> Result<Pcm8k, TtsError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        if text == "fail" {
            return Err(TtsError::Synthesis("asked to fail".to_owned()));
        }
        Ok(Pcm8k::from_samples(text.bytes().map(i16::from).collect()))
    }
}

fn cache(capacity: usize, delay: Duration) -> CachedTts<Counting> {
    let capacity = NonZeroUsize::new(capacity).expect("test capacities are not zero");
    CachedTts::with_capacity(Counting::new(delay), capacity)
}

#[tokio::test]
async fn espeak_phrase_twice_is_one_miss_one_hit_and_the_same_audio() {
    let tts = CachedTts::new(EspeakTts::start("en-us", 175).expect("espeak-ng is installed"));
    assert_eq!(tts.name(), "espeak-ng");
    assert_eq!(tts.capacity(), 256);
    let phrase = "Thank you for calling.";
    let first = tts.synthesize(phrase).await.expect("synthesizes");
    let second = tts.synthesize(phrase).await.expect("cached");
    assert_eq!((tts.misses(), tts.hits()), (1, 1));
    assert!(Arc::ptr_eq(&first.0, &second.0), "a hit shares the samples");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_for_one_phrase_synthesize_once() {
    let tts = Arc::new(cache(8, Duration::from_millis(50)));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let tts = Arc::clone(&tts);
            tokio::spawn(async move { tts.synthesize("hello").await })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("no panic").expect("synthesizes"));
    }
    assert_eq!(tts.inner().calls(), 1);
    assert_eq!((tts.misses(), tts.hits()), (1, 7));
    assert!(results.iter().all(|p| Arc::ptr_eq(&p.0, &results[0].0)));
}

#[tokio::test]
async fn least_recently_used_phrase_is_evicted() {
    let tts = cache(2, Duration::ZERO);
    for text in ["a", "b", "a", "c"] {
        tts.synthesize(text).await.expect("synthesizes");
    }
    // "b" was least recently used when "c" arrived.
    assert_eq!(tts.len(), 2);
    assert_eq!(tts.inner().calls(), 3);
    tts.synthesize("a").await.expect("still cached");
    assert_eq!(tts.inner().calls(), 3);
    tts.synthesize("b").await.expect("synthesized again");
    assert_eq!(tts.inner().calls(), 4);
    assert_eq!((tts.misses(), tts.hits()), (4, 2));
}

#[tokio::test]
async fn failures_are_not_cached() {
    let tts = cache(4, Duration::ZERO);
    for _ in 0..2 {
        assert!(matches!(
            tts.synthesize("fail").await,
            Err(TtsError::Synthesis(_))
        ));
    }
    assert_eq!(tts.inner().calls(), 2);
    assert!(tts.is_empty());
    assert_eq!(tts.hits(), 0);
}

#[tokio::test]
async fn a_cancelled_synthesis_is_retried_by_the_next_caller() {
    let tts = cache(4, Duration::from_millis(200));
    let cancelled = tokio::time::timeout(Duration::from_millis(10), tts.synthesize("hi")).await;
    assert!(cancelled.is_err(), "the first attempt timed out");
    let pcm = tts
        .synthesize("hi")
        .await
        .expect("second attempt completes");
    assert_eq!(pcm.samples(), &[104, 105]);
    assert_eq!(tts.inner().calls(), 2);
    assert!(Arc::ptr_eq(
        &pcm.0,
        &tts.synthesize("hi").await.expect("now cached").0
    ));
}

#[tokio::test]
async fn a_new_cache_on_the_same_directory_reads_phrases_from_disk_per_voice() {
    let dir = tempfile::tempdir().unwrap();
    let disk = DiskCache::open(dir.path(), 1 << 20).unwrap();
    let first = cache(4, Duration::ZERO).with_disk(disk.clone());
    let said = first.synthesize("Hello there").await.unwrap();
    assert!(first.synthesize("fail").await.is_err());
    assert_eq!((first.misses(), first.disk_hits()), (2, 0));
    let files = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(files, 1, "only the phrase that worked is stored");

    // As after a restart: an empty memory cache over the same directory.
    let second = cache(4, Duration::ZERO).with_disk(disk.clone());
    assert_eq!(second.synthesize("Hello there").await.unwrap(), said);
    assert_eq!(second.inner().calls(), 0, "not synthesized again");
    assert_eq!((second.hits(), second.disk_hits()), (1, 1));
    assert_eq!(second.synthesize("Hello there").await.unwrap(), said);
    assert_eq!(
        (second.hits(), second.disk_hits()),
        (2, 1),
        "then from memory"
    );

    // Another voice of the same engine does not get this voice's audio.
    let espeak = |voice| EspeakTts::start(voice, 160).expect("espeak-ng is installed");
    let us = CachedTts::new(espeak("en-us")).with_disk(disk.clone());
    let gb = CachedTts::new(espeak("en")).with_disk(disk);
    let a = us.synthesize("Good morning").await.unwrap();
    let b = gb.synthesize("Good morning").await.unwrap();
    assert_ne!(a, b);
    assert_eq!((us.misses(), gb.misses(), gb.disk_hits()), (1, 1, 0));
}
