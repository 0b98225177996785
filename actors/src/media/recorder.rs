//! Call recording: a stereo 16-bit 8 kHz WAV (caller on the left, agent on the right) written
//! while the call runs, by a writer thread fed 20 ms frame pairs over a bounded channel, so the
//! media loop never touches the disk and no call is ever held in memory. A full channel drops
//! the pair and counts it (a gap in the file is better than late audio). The header's sizes are
//! patched when the recording ends.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;

use rtp::{FRAME_SAMPLES, SAMPLE_RATE_HZ};
use tracing::warn;

use super::PcmFrame;

/// Frame pairs the writer may lag behind (2 s).
const QUEUE: usize = 100;
const HEADER_LEN: u32 = 44;

/// The media loop's end of a recording.
#[derive(Debug)]
pub(crate) struct Recorder {
    frames: Option<SyncSender<(PcmFrame, PcmFrame)>>,
    writer: Option<JoinHandle<()>>,
    dropped: Arc<AtomicU64>,
}

impl Recorder {
    /// Creates `path` and starts its writer thread.
    pub(crate) fn start(path: &Path) -> std::io::Result<Recorder> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut file = BufWriter::new(File::create(path)?);
        write_header(&mut file, 0)?;
        let (tx, rx) = sync_channel(QUEUE);
        let target = path.to_path_buf();
        let writer = std::thread::Builder::new()
            .name("recorder".into())
            .spawn(move || write_all(file, rx, &target))?;
        Ok(Recorder {
            frames: Some(tx),
            writer: Some(writer),
            dropped: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Queues one 20 ms of both sides; never blocks.
    pub(crate) fn push(&self, caller: &PcmFrame, agent: &PcmFrame) {
        let Some(frames) = &self.frames else { return };
        if let Err(TrySendError::Full(_)) = frames.try_send((*caller, *agent)) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Frame pairs dropped because the writer lagged.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Ends the recording: the writer drains the queue, patches the header and exits.
    pub(crate) fn finish(&mut self) {
        self.frames = None;
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        // Closing the channel is enough: the writer finishes the file on its own.
        self.frames = None;
    }
}

fn write_all(mut file: BufWriter<File>, rx: Receiver<(PcmFrame, PcmFrame)>, path: &Path) {
    let mut frames: u32 = 0;
    let mut buf = [0u8; FRAME_SAMPLES * 4];
    let result = (|| -> std::io::Result<()> {
        while let Ok((caller, agent)) = rx.recv() {
            for i in 0..FRAME_SAMPLES {
                buf[i * 4..i * 4 + 2].copy_from_slice(&caller[i].to_le_bytes());
                buf[i * 4 + 2..i * 4 + 4].copy_from_slice(&agent[i].to_le_bytes());
            }
            file.write_all(&buf)?;
            frames = frames.saturating_add(1);
        }
        let data = frames.saturating_mul((FRAME_SAMPLES * 4) as u32);
        file.seek(SeekFrom::Start(0))?;
        write_header(&mut file, data)?;
        file.flush()
    })();
    if let Err(err) = result {
        warn!(path = %path.display(), %err, "recording not completed");
    }
}

/// The canonical 44-byte PCM WAV header for `data` bytes of 8 kHz stereo 16-bit audio.
fn write_header(out: &mut impl Write, data: u32) -> std::io::Result<()> {
    let channels: u16 = 2;
    let bits: u16 = 16;
    let block_align = channels * bits / 8;
    let byte_rate = SAMPLE_RATE_HZ * u32::from(block_align);
    out.write_all(b"RIFF")?;
    out.write_all(&(HEADER_LEN - 8 + data).to_le_bytes())?;
    out.write_all(b"WAVEfmt ")?;
    out.write_all(&16u32.to_le_bytes())?;
    out.write_all(&1u16.to_le_bytes())?; // PCM
    out.write_all(&channels.to_le_bytes())?;
    out.write_all(&SAMPLE_RATE_HZ.to_le_bytes())?;
    out.write_all(&byte_rate.to_le_bytes())?;
    out.write_all(&block_align.to_le_bytes())?;
    out.write_all(&bits.to_le_bytes())?;
    out.write_all(b"data")?;
    out.write_all(&data.to_le_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_valid_stereo_wav() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rec/call.wav");
        let mut rec = Recorder::start(&path).unwrap();
        let caller = [1000i16; FRAME_SAMPLES];
        let agent = [-2000i16; FRAME_SAMPLES];
        for _ in 0..50 {
            rec.push(&caller, &agent);
        }
        rec.finish();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 44 + 50 * FRAME_SAMPLES * 4);
        assert_eq!(&bytes[0..4], b"RIFF");
        assert_eq!(
            u32::from_le_bytes(bytes[40..44].try_into().unwrap()) as usize,
            50 * 640
        );
        assert_eq!(u16::from_le_bytes(bytes[22..24].try_into().unwrap()), 2);
        assert_eq!(i16::from_le_bytes(bytes[44..46].try_into().unwrap()), 1000);
        assert_eq!(i16::from_le_bytes(bytes[46..48].try_into().unwrap()), -2000);
        assert_eq!(rec.dropped(), 0);
    }
}
