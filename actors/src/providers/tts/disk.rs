//! `DiskCache`: synthesized phrases kept as files, so greetings and scripted answers survive a
//! restart and are never paid for twice.
//!
//! One file per phrase, named by the SHA-256 of the voice's identity (engine, voice, rate: see
//! [`TtsProvider::voice_id`](super::TtsProvider::voice_id)) and the text, holding a short
//! header and the 8 kHz samples (16-bit little-endian). Files are written to a temporary name
//! and renamed into place, so a reader never sees half a phrase, even across processes. The
//! directory is kept under a byte budget: after each write the least recently used phrases
//! (by modification time, which a read refreshes) are deleted until it fits. Unreadable or
//! foreign files are ignored. All file work runs on the blocking thread pool.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use sha2::{Digest, Sha256};
use tracing::warn;

use super::Pcm8k;

/// The first bytes of every phrase file (format version 1).
const MAGIC: &[u8; 8] = b"PCM8K\0\0\x01";
/// Phrase files end with this.
const EXTENSION: &str = "pcm";

/// A directory of cached phrases with a size budget. Cheap to share (`Arc`).
#[derive(Debug)]
pub struct DiskCache {
    dir: PathBuf,
    max_bytes: u64,
    /// Names temporary files uniquely within this process.
    writes: AtomicU64,
}

impl DiskCache {
    /// A cache in `dir` (created if missing) keeping at most `max_bytes` of phrase files.
    pub fn open(dir: impl Into<PathBuf>, max_bytes: u64) -> io::Result<Arc<Self>> {
        let dir = dir.into();
        fs::create_dir_all(&dir)?;
        Ok(Arc::new(Self {
            dir,
            max_bytes,
            writes: AtomicU64::new(0),
        }))
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file name of `text` said by `voice_id`.
    pub fn key(voice_id: &str, text: &str) -> String {
        let mut hash = Sha256::new();
        hash.update(voice_id.as_bytes());
        hash.update([0]);
        hash.update(text.as_bytes());
        let digest = hash.finalize();
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("{hex}.{EXTENSION}")
    }

    /// The phrase stored under `key`, if there is a readable one.
    pub async fn load(self: &Arc<Self>, key: String) -> Option<Pcm8k> {
        let this = Arc::clone(self);
        tokio::task::spawn_blocking(move || this.load_now(&key))
            .await
            .ok()
            .flatten()
    }

    /// Stores `pcm` under `key`, then trims the directory to its budget. Failures are logged:
    /// the cache is an optimisation.
    pub async fn store(self: &Arc<Self>, key: String, pcm: Pcm8k) {
        let this = Arc::clone(self);
        let stored = tokio::task::spawn_blocking(move || {
            this.store_now(&key, &pcm)?;
            this.evict()
        })
        .await;
        match stored {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                warn!(%error, dir = %self.dir.display(), "phrase not cached on disk")
            }
            Err(error) => warn!(%error, "phrase cache writer failed"),
        }
    }

    fn load_now(&self, key: &str) -> Option<Pcm8k> {
        let path = self.dir.join(key);
        let bytes = fs::read(&path).ok()?;
        let body = bytes.strip_prefix(MAGIC.as_slice())?;
        if body.len() % 2 != 0 {
            return None;
        }
        // Recently used: eviction goes by modification time.
        if let Ok(file) = fs::File::options().append(true).open(&path) {
            let _ = file.set_modified(SystemTime::now());
        }
        let samples = body
            .chunks_exact(2)
            .map(|p| i16::from_le_bytes([p[0], p[1]]))
            .collect();
        Some(Pcm8k::from_samples(samples))
    }

    fn store_now(&self, key: &str, pcm: &Pcm8k) -> io::Result<()> {
        let n = self.writes.fetch_add(1, Ordering::Relaxed);
        let temp = self
            .dir
            .join(format!(".{key}.{}.{n}.tmp", std::process::id()));
        let mut bytes = Vec::with_capacity(MAGIC.len() + pcm.len() * 2);
        bytes.extend_from_slice(MAGIC);
        for s in pcm.samples() {
            bytes.extend_from_slice(&s.to_le_bytes());
        }
        let written = fs::File::create(&temp).and_then(|mut f| f.write_all(&bytes));
        match written.and_then(|()| fs::rename(&temp, self.dir.join(key))) {
            Ok(()) => Ok(()),
            Err(e) => {
                let _ = fs::remove_file(&temp);
                Err(e)
            }
        }
    }

    /// Deletes the least recently used phrase files until the rest fit the budget.
    fn evict(&self) -> io::Result<()> {
        let mut files = Vec::new();
        let mut total = 0u64;
        for entry in fs::read_dir(&self.dir)? {
            let Ok(entry) = entry else { continue };
            let path = entry.path();
            if path.extension().is_none_or(|e| e != EXTENSION) {
                continue;
            }
            let Ok(meta) = entry.metadata() else { continue };
            total += meta.len();
            let used = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            files.push((used, meta.len(), path));
        }
        if total <= self.max_bytes {
            return Ok(());
        }
        files.sort_by_key(|(used, _, _)| *used);
        for (_, len, path) in files {
            if total <= self.max_bytes {
                break;
            }
            if fs::remove_file(&path).is_ok() {
                total -= len;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcm(n: usize, value: i16) -> Pcm8k {
        Pcm8k::from_samples(vec![value; n])
    }

    #[tokio::test]
    async fn phrases_round_trip_and_keys_depend_on_voice_and_text() {
        let dir = tempfile::tempdir().unwrap();
        let cache = DiskCache::open(dir.path().join("c"), 1 << 20).unwrap();
        let key = DiskCache::key("espeak-ng/en-us/160", "Hello");
        assert_ne!(key, DiskCache::key("espeak-ng/en-us/170", "Hello"));
        assert_ne!(key, DiskCache::key("espeak-ng/en-us/160", "Hello!"));
        assert_eq!(key, DiskCache::key("espeak-ng/en-us/160", "Hello"));
        assert!(cache.load(key.clone()).await.is_none());
        let audio = Pcm8k::from_samples(vec![-32_768, -1, 0, 1, 32_767]);
        cache.store(key.clone(), audio.clone()).await;
        assert_eq!(cache.load(key.clone()).await, Some(audio));
        // No temporary file is left behind.
        let names: Vec<_> = fs::read_dir(cache.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [std::ffi::OsString::from(&key)]);
        // A damaged file is a miss, not an error.
        fs::write(cache.dir().join(&key), b"PCM8K\0\0\x01\x01").unwrap();
        assert!(cache.load(key).await.is_none());
    }

    #[tokio::test]
    async fn the_least_recently_used_phrases_go_when_over_budget() {
        let dir = tempfile::tempdir().unwrap();
        // Room for two phrases of 1,000 samples (2,008 bytes each), not three.
        let cache = DiskCache::open(dir.path(), 5_000).unwrap();
        let (a, b, c) = (
            DiskCache::key("v", "a"),
            DiskCache::key("v", "b"),
            DiskCache::key("v", "c"),
        );
        cache.store(a.clone(), pcm(1_000, 1)).await;
        cache.store(b.clone(), pcm(1_000, 2)).await;
        // Age both, then use `a`: `b` is now the least recently used.
        let old = SystemTime::now() - std::time::Duration::from_secs(60);
        for key in [&a, &b] {
            let f = fs::File::options()
                .append(true)
                .open(dir.path().join(key))
                .unwrap();
            f.set_modified(old).unwrap();
        }
        assert!(cache.load(a.clone()).await.is_some());
        cache.store(c.clone(), pcm(1_000, 3)).await;
        assert!(cache.load(a).await.is_some());
        assert!(
            cache.load(b).await.is_none(),
            "the least recently used went"
        );
        assert!(cache.load(c).await.is_some());
    }
}
