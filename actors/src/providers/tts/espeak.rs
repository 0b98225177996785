//! `EspeakTts`: the offline, embedded text-to-speech provider, libespeak-ng behind one thread.
//!
//! espeak-ng keeps its voice, parameters and output buffers in process-wide globals and is not
//! reentrant, so exactly one OS thread ever touches it. That thread is started by the first
//! [`EspeakTts::start`] (guarded by a `OnceLock`), initialises the library once in synchronous
//! mode, and then serves jobs from a `std::sync::mpsc` channel, answering each over a
//! `tokio::sync::oneshot` so async callers never block a runtime thread while speech is made.
//!
//! Every handle carries its own voice and rate; the worker switches the library's voice only
//! when a job asks for a different one. Handles are cheap clones of the channel sender. The
//! worker lives as long as the process and sleeps in `recv` when idle; dropping handles never
//! waits for it. espeak-ng's 22050 Hz output is kept as is (no trimming) and resampled to 8 kHz.

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char, c_int, c_short};
use std::path::Path;
use std::sync::{Arc, OnceLock, mpsc};

use async_trait::async_trait;
use tokio::sync::oneshot;

use super::espeak_ffi as ffi;
use super::{Pcm8k, Resampler8k, TtsError, TtsProvider};

/// Longest text accepted in one request, in bytes (about nine minutes of speech).
pub const MAX_TEXT_BYTES: usize = 8 * 1024;

/// The fix printed with every "data missing" error.
const INSTALL_HINT: &str = "apt-get install espeak-ng-data";

/// The one worker thread of this process, or why it could not start.
static WORKER: OnceLock<Result<mpsc::Sender<Job>, TtsError>> = OnceLock::new();

thread_local! {
    /// Samples of the synthesis in progress; only the worker thread ever fills it.
    static SAMPLES: RefCell<Vec<i16>> = const { RefCell::new(Vec::new()) };
}

/// A handle to the process's espeak-ng worker, speaking with one voice at one rate.
///
/// Cloning is cheap and clones share the worker. Create handles at start-up:
/// [`start`](Self::start) blocks briefly while the library loads and the voice is checked.
#[derive(Clone)]
pub struct EspeakTts {
    worker: mpsc::Sender<Job>,
    voice: Arc<CStr>,
    rate_wpm: u32,
}

/// What the worker thread is asked to do.
enum Job {
    /// Select a voice and rate now, to check they exist (used by `start`).
    Check {
        voice: Arc<CStr>,
        rate_wpm: u32,
        reply: mpsc::SyncSender<Result<(), TtsError>>,
    },
    /// Speak `text` with the given voice and rate.
    Speak {
        text: CString,
        voice: Arc<CStr>,
        rate_wpm: u32,
        reply: oneshot::Sender<Result<Pcm8k, TtsError>>,
    },
}

impl EspeakTts {
    /// Starts (or joins) the espeak-ng worker and checks that `voice` (e.g. `en-us`) exists.
    ///
    /// `rate_wpm` is the speaking rate in words per minute, 80 to 450 (espeak-ng's default is
    /// 175). Returns [`TtsError::Unavailable`] when the library's data or the voice is missing,
    /// [`TtsError::InvalidConfig`] for a bad rate or voice name. A failed library
    /// initialisation is remembered for the life of the process: later calls return the same
    /// error, so restart after installing the data.
    pub fn start(voice: &str, rate_wpm: u32) -> Result<EspeakTts, TtsError> {
        if !(ffi::RATE_MINIMUM..=ffi::RATE_MAXIMUM).contains(&rate_wpm) {
            return Err(TtsError::InvalidConfig(format!(
                "espeak-ng rate {rate_wpm} wpm is outside {}..={}",
                ffi::RATE_MINIMUM,
                ffi::RATE_MAXIMUM
            )));
        }
        if voice.trim().is_empty() {
            return Err(TtsError::InvalidConfig(
                "espeak-ng voice name is empty".to_owned(),
            ));
        }
        let voice: Arc<CStr> = CString::new(voice)
            .map_err(|_| {
                TtsError::InvalidConfig("espeak-ng voice name contains a NUL byte".to_owned())
            })?
            .into();
        let worker = WORKER.get_or_init(spawn_worker).clone()?;
        let (reply, answer) = mpsc::sync_channel(1);
        worker
            .send(Job::Check {
                voice: Arc::clone(&voice),
                rate_wpm,
                reply,
            })
            .map_err(|_| TtsError::Closed)?;
        answer.recv().map_err(|_| TtsError::Closed)??;
        Ok(EspeakTts {
            worker,
            voice,
            rate_wpm,
        })
    }

    /// The voice this handle speaks with.
    pub fn voice(&self) -> &str {
        self.voice.to_str().expect("built from a &str in start()")
    }

    /// The speaking rate of this handle, in words per minute.
    pub fn rate_wpm(&self) -> u32 {
        self.rate_wpm
    }
}

impl std::fmt::Debug for EspeakTts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EspeakTts")
            .field("voice", &self.voice)
            .field("rate_wpm", &self.rate_wpm)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl TtsProvider for EspeakTts {
    fn name(&self) -> &'static str {
        "espeak-ng"
    }

    fn voice_id(&self) -> String {
        format!("espeak-ng/{}/{}", self.voice(), self.rate_wpm)
    }

    async fn synthesize(&self, text: &str) -> Result<Pcm8k, TtsError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(TtsError::EmptyText);
        }
        if text.len() > MAX_TEXT_BYTES {
            return Err(TtsError::Synthesis(format!(
                "text is {} bytes, the limit is {MAX_TEXT_BYTES}",
                text.len()
            )));
        }
        let text = CString::new(text)
            .map_err(|_| TtsError::Synthesis("text contains a NUL byte".to_owned()))?;
        let (reply, answer) = oneshot::channel();
        self.worker
            .send(Job::Speak {
                text,
                voice: Arc::clone(&self.voice),
                rate_wpm: self.rate_wpm,
                reply,
            })
            .map_err(|_| TtsError::Closed)?;
        answer.await.map_err(|_| TtsError::Closed)?
    }
}

/// Spawns the worker thread and waits until it has initialised the library.
fn spawn_worker() -> Result<mpsc::Sender<Job>, TtsError> {
    let (jobs, inbox) = mpsc::channel::<Job>();
    let (ready, init) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("espeak-ng".to_owned())
        .spawn(move || match Engine::init() {
            Ok(mut engine) => {
                // `start` is waiting for this answer; it cannot have gone away.
                let _ = ready.send(Ok(()));
                for job in inbox {
                    engine.handle(job);
                }
            }
            Err(e) => {
                let _ = ready.send(Err(e));
            }
        })
        .map_err(|e| TtsError::Unavailable(format!("cannot start the espeak-ng thread: {e}")))?;
    init.recv().map_err(|_| {
        TtsError::Unavailable("espeak-ng thread stopped while initialising".to_owned())
    })??;
    Ok(jobs)
}

/// The library's state as seen from the worker thread, which alone owns it.
struct Engine {
    /// espeak-ng's data directory, for error messages.
    data_dir: String,
    /// Voice and rate currently selected in the library; `None` after a failed switch.
    selected: Option<(Arc<CStr>, u32)>,
    /// From the library's native rate to 8 kHz.
    resampler: Resampler8k,
}

impl Engine {
    /// Initialises espeak-ng for synchronous synthesis into `SAMPLES`.
    fn init() -> Result<Engine, TtsError> {
        // SAFETY: called once per process, from the worker thread that owns the library.
        let rate = unsafe {
            ffi::espeak_Initialize(
                ffi::AUDIO_OUTPUT_SYNCHRONOUS,
                0,
                std::ptr::null(),
                ffi::INITIALIZE_DONT_EXIT,
            )
        };
        let rate = u32::try_from(rate).ok().filter(|&r| r > 0).ok_or_else(|| {
            TtsError::Unavailable(format!(
                "espeak-ng failed to initialise (returned {rate}): {INSTALL_HINT}"
            ))
        })?;
        let (version, data_dir) = library_info();
        if !Path::new(&data_dir).join("phontab").is_file() {
            return Err(TtsError::Unavailable(format!(
                "espeak-ng data not found in {data_dir:?}: {INSTALL_HINT}"
            )));
        }
        // SAFETY: `collect_samples` matches `t_espeak_callback` and never unwinds.
        unsafe { ffi::espeak_SetSynthCallback(Some(collect_samples)) };
        tracing::info!(%version, %data_dir, sample_rate = rate, "espeak-ng initialised");
        Ok(Engine {
            data_dir,
            selected: None,
            resampler: Resampler8k::new(rate)?,
        })
    }

    fn handle(&mut self, job: Job) {
        match job {
            Job::Check {
                voice,
                rate_wpm,
                reply,
            } => {
                let _ = reply.send(self.select(&voice, rate_wpm));
            }
            Job::Speak {
                text,
                voice,
                rate_wpm,
                reply,
            } => {
                // The caller gave up (e.g. the call hung up): skip the work.
                if reply.is_closed() {
                    return;
                }
                let result = self
                    .select(&voice, rate_wpm)
                    .and_then(|()| self.speak(&text));
                let _ = reply.send(result);
            }
        }
    }

    /// Makes `voice` at `rate_wpm` the library's current setting.
    fn select(&mut self, voice: &Arc<CStr>, rate_wpm: u32) -> Result<(), TtsError> {
        if let Some((current, rate)) = &self.selected
            && current == voice
            && *rate == rate_wpm
        {
            return Ok(());
        }
        self.selected = None;
        // SAFETY: worker thread; `voice` is NUL-terminated and outlives the call.
        let rc = unsafe { ffi::espeak_SetVoiceByName(voice.as_ptr()) };
        match rc {
            ffi::EE_OK => {}
            ffi::EE_NOT_FOUND => {
                return Err(TtsError::Unavailable(format!(
                    "espeak-ng voice {voice:?} not found in {:?} (see `espeak-ng --voices`): {INSTALL_HINT}",
                    self.data_dir
                )));
            }
            other => {
                return Err(TtsError::Unavailable(format!(
                    "espeak-ng could not load voice {voice:?} (error {other}): {INSTALL_HINT}"
                )));
            }
        }
        let wpm = c_int::try_from(rate_wpm).expect("rate checked to be at most 450 in start()");
        // SAFETY: worker thread; plain integer arguments.
        let rc = unsafe { ffi::espeak_SetParameter(ffi::PARAM_RATE, wpm, 0) };
        if rc != ffi::EE_OK {
            return Err(TtsError::InvalidConfig(format!(
                "espeak-ng rejected rate {rate_wpm} wpm (error {rc})"
            )));
        }
        self.selected = Some((Arc::clone(voice), rate_wpm));
        Ok(())
    }

    /// Synthesizes `text` with the selected voice and returns it at 8 kHz.
    fn speak(&mut self, text: &CStr) -> Result<Pcm8k, TtsError> {
        SAMPLES.with_borrow_mut(Vec::clear);
        let bytes = text.to_bytes_with_nul();
        // SAFETY: worker thread; `text` is NUL-terminated UTF-8 (it came from a &str) and
        // outlives the call, which in synchronous mode returns only when synthesis is done.
        let rc = unsafe {
            ffi::espeak_Synth(
                bytes.as_ptr().cast(),
                bytes.len(),
                0,
                ffi::POS_CHARACTER,
                0,
                ffi::CHARS_UTF8,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        let samples = SAMPLES.with_borrow_mut(std::mem::take);
        if rc != ffi::EE_OK {
            return Err(TtsError::Synthesis(format!("espeak_Synth returned {rc}")));
        }
        if samples.is_empty() {
            return Err(TtsError::Synthesis(
                "espeak-ng produced no audio for this text".to_owned(),
            ));
        }
        self.resampler.process(&samples)
    }
}

/// Reads the library version and data directory.
fn library_info() -> (String, String) {
    let mut path: *const c_char = std::ptr::null();
    // SAFETY: worker thread after initialisation; both results are static C strings or NULL.
    let version = unsafe { ffi::espeak_Info(&mut path) };
    let read = |p: *const c_char| {
        if p.is_null() {
            String::from("(unknown)")
        } else {
            // SAFETY: non-NULL, NUL-terminated and owned by the library for its lifetime.
            unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
        }
    };
    (read(version), read(path))
}

/// espeak-ng's synth callback: appends each buffer to `SAMPLES`.
///
/// Never unwinds: a second borrow (impossible while the worker is single-threaded) aborts
/// the synthesis instead of panicking across the C boundary.
unsafe extern "C" fn collect_samples(
    wav: *mut c_short,
    numsamples: c_int,
    _events: *mut ffi::EspeakEvent,
) -> c_int {
    let len = match usize::try_from(numsamples) {
        Ok(len) if len > 0 && !wav.is_null() => len,
        // NULL marks the end; zero-length buffers are allowed and mean nothing.
        _ => return 0,
    };
    // SAFETY: espeak-ng passes `numsamples` valid samples at `wav` for the duration of the call.
    let chunk = unsafe { std::slice::from_raw_parts(wav.cast_const(), len) };
    SAMPLES.with(|samples| match samples.try_borrow_mut() {
        Ok(mut samples) => {
            samples.extend_from_slice(chunk);
            0
        }
        Err(_) => 1,
    })
}
