//! `CachedTts`: a bounded phrase cache in front of any [`TtsProvider`].
//!
//! A voice agent says the same few phrases ("Hello, you have reached…", "One moment please")
//! on every call, so caching them saves engine time and, for cloud engines, money. Entries are
//! whole phrases keyed by their exact text. When full, the least recently used phrase goes.
//! Each entry is a `tokio::sync::OnceCell`, which gives single-flight for free: concurrent
//! requests for the same uncached text wait for one synthesis, and if that attempt fails or
//! its caller is cancelled, one of the waiters retries. Failures are never cached.
//!
//! With a [`DiskCache`] behind it, a phrase missing from memory is looked up on disk (under the
//! engine's [`voice_id`](TtsProvider::voice_id) and the text) before the engine is asked, and
//! what the engine says is stored there. Requests are counted in the
//! `tts_cache_requests_total{result="hit"|"miss"}` metric (a hit from memory or disk; a miss
//! asks the engine).

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use tokio::sync::OnceCell;

use super::{DiskCache, Pcm8k, TtsError, TtsProvider};

/// Phrases kept by [`CachedTts::new`]: at a few seconds of 8 kHz audio each, about 20 MB.
pub const DEFAULT_CACHE_PHRASES: usize = 256;

/// A [`TtsProvider`] that remembers the audio of recent phrases.
///
/// A cached phrase comes back as a clone of the same [`Pcm8k`], sharing its samples.
pub struct CachedTts<P: TtsProvider> {
    inner: P,
    capacity: NonZeroUsize,
    lru: Mutex<Lru>,
    hits: AtomicU64,
    misses: AtomicU64,
    disk: Option<Arc<DiskCache>>,
    disk_hits: AtomicU64,
    voice_id: String,
}

/// Where a phrase came from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    Memory,
    Disk,
    Engine,
}

/// The phrase table, with a logical clock for recency.
#[derive(Default)]
struct Lru {
    clock: u64,
    slots: HashMap<Arc<str>, Slot>,
}

struct Slot {
    cell: Arc<OnceCell<Pcm8k>>,
    last_used: u64,
}

impl<P: TtsProvider> CachedTts<P> {
    /// Wraps `inner` with a cache of [`DEFAULT_CACHE_PHRASES`] phrases.
    pub fn new(inner: P) -> Self {
        let capacity = NonZeroUsize::new(DEFAULT_CACHE_PHRASES).expect("constant is not zero");
        Self::with_capacity(inner, capacity)
    }

    /// Wraps `inner` with a cache of at most `capacity` phrases.
    pub fn with_capacity(inner: P, capacity: NonZeroUsize) -> Self {
        Self {
            voice_id: inner.voice_id(),
            inner,
            capacity,
            lru: Mutex::new(Lru::default()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            disk: None,
            disk_hits: AtomicU64::new(0),
        }
    }

    /// Keeps phrases in `disk` too: looked up there before asking the engine, stored there
    /// after.
    pub fn with_disk(mut self, disk: Arc<DiskCache>) -> Self {
        self.disk = Some(disk);
        self
    }

    /// Requests answered from the disk cache (counted in [`hits`](Self::hits) too).
    pub fn disk_hits(&self) -> u64 {
        self.disk_hits.load(Ordering::Relaxed)
    }

    /// The wrapped provider.
    pub fn inner(&self) -> &P {
        &self.inner
    }

    /// Most phrases kept at once.
    pub fn capacity(&self) -> usize {
        self.capacity.get()
    }

    /// Phrases currently held (including ones being synthesized).
    pub fn len(&self) -> usize {
        self.lock().slots.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Requests answered without calling the wrapped provider.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Calls made to the wrapped provider (one per synthesis attempt).
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, Lru> {
        // The table stays consistent even if a holder panicked: every update is one call.
        self.lru.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Finds or creates the entry for `text`, marking it most recently used.
    fn slot(&self, text: &str) -> Arc<OnceCell<Pcm8k>> {
        let mut lru = self.lock();
        lru.clock += 1;
        let now = lru.clock;
        if let Some(slot) = lru.slots.get_mut(text) {
            slot.last_used = now;
            return Arc::clone(&slot.cell);
        }
        if lru.slots.len() >= self.capacity.get() {
            let oldest = lru
                .slots
                .iter()
                .min_by_key(|(_, slot)| slot.last_used)
                .map(|(key, _)| Arc::clone(key));
            if let Some(key) = oldest {
                lru.slots.remove(&key);
            }
        }
        let cell = Arc::new(OnceCell::new());
        let slot = Slot {
            cell: Arc::clone(&cell),
            last_used: now,
        };
        lru.slots.insert(Arc::from(text), slot);
        cell
    }

    /// Drops the entry for `text` if it is still `cell` and holds no audio.
    fn forget_failed(&self, text: &str, cell: &Arc<OnceCell<Pcm8k>>) {
        let mut lru = self.lock();
        if let Some(slot) = lru.slots.get(text)
            && Arc::ptr_eq(&slot.cell, cell)
            && !slot.cell.initialized()
        {
            lru.slots.remove(text);
        }
    }
}

impl<P: TtsProvider> std::fmt::Debug for CachedTts<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedTts")
            .field("inner", &self.inner.name())
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .field("hits", &self.hits())
            .field("misses", &self.misses())
            .field("disk", &self.disk.as_ref().map(|d| d.dir().to_owned()))
            .finish()
    }
}

#[async_trait]
impl<P: TtsProvider> TtsProvider for CachedTts<P> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn voice_id(&self) -> String {
        self.voice_id.clone()
    }

    async fn synthesize(&self, text: &str) -> Result<Pcm8k, TtsError> {
        let cell = self.slot(text);
        let mut source = Source::Memory;
        let result = cell
            .get_or_try_init(|| async {
                let key = self
                    .disk
                    .as_ref()
                    .map(|_| DiskCache::key(&self.voice_id, text));
                if let (Some(disk), Some(key)) = (&self.disk, &key)
                    && let Some(pcm) = disk.load(key.clone()).await
                {
                    source = Source::Disk;
                    return Ok(pcm);
                }
                source = Source::Engine;
                self.misses.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("tts_cache_requests_total", "result" => "miss").increment(1);
                let pcm = self.inner.synthesize(text).await?;
                if let (Some(disk), Some(key)) = (&self.disk, key) {
                    disk.store(key, pcm.clone()).await;
                }
                Ok(pcm)
            })
            .await
            .cloned();
        match result {
            Ok(pcm) => {
                if source != Source::Engine {
                    self.hits.fetch_add(1, Ordering::Relaxed);
                    if source == Source::Disk {
                        self.disk_hits.fetch_add(1, Ordering::Relaxed);
                    }
                    metrics::counter!("tts_cache_requests_total", "result" => "hit").increment(1);
                }
                Ok(pcm)
            }
            Err(e) => {
                self.forget_failed(text, &cell);
                Err(e)
            }
        }
    }
}
