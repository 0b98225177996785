//! The Moonshine C library (`libmoonshine.so`, with the ONNX Runtime it runs on), loaded at run
//! time from the directory `scripts/install-moonshine` fills, and one loaded model.
//!
//! Loaded, not linked: the switch builds and runs without it (pocketsphinx then recognizes), and a
//! missing file is a clear [`SttError::Unavailable`] naming the install command. Four functions
//! are used: load a model (a handle), transcribe 16 kHz float audio into UTF-8 text, free the
//! text, free the model.

use std::ffi::{CStr, CString, c_char, c_int};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use libloading::os::unix::{Library, RTLD_GLOBAL, RTLD_NOW};

use crate::providers::stt::SttError;

/// The ONNX Runtime the wheel ships; `libmoonshine.so` needs it under its soname, so it is
/// loaded first, globally.
const ORT_LIBRARY: &str = "libonnxruntime.so.1.22.1";
const MOONSHINE_LIBRARY: &str = "libmoonshine.so";
/// `MOONSHINE_MODEL_TYPE_BASE` of the C API.
const MODEL_TYPE_BASE: i32 = 1;
/// How to get the files.
pub(crate) const INSTALL_HINT: &str = "run scripts/install-moonshine (or scripts/deps)";

type LoadModel = unsafe extern "C" fn(*const c_char, *const c_char, *const c_char, i32) -> c_int;
type Transcribe = unsafe extern "C" fn(c_int, *const f32, usize, *mut *mut c_char) -> c_int;
type FreeModel = unsafe extern "C" fn(c_int);
type FreeText = unsafe extern "C" fn(*mut c_char);

/// Where the library and the base English model are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Files {
    dir: PathBuf,
}

impl Files {
    pub(crate) fn new(dir: &Path) -> Self {
        Files {
            dir: dir.to_path_buf(),
        }
    }

    fn library(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn model(&self, name: &str) -> PathBuf {
        self.dir.join("base-en").join(name)
    }

    /// Every file there, or `Unavailable` naming the first one missing.
    pub(crate) fn check(&self) -> Result<(), SttError> {
        let needed = [
            self.library(ORT_LIBRARY),
            self.library(MOONSHINE_LIBRARY),
            self.model("encoder_model.ort"),
            self.model("decoder_model_merged.ort"),
            self.model("tokenizer.bin"),
        ];
        match needed.iter().find(|p| !p.is_file()) {
            Some(missing) => Err(SttError::Unavailable(format!(
                "moonshine: {} is missing: {INSTALL_HINT}",
                missing.display()
            ))),
            None => Ok(()),
        }
    }
}

/// The loaded C library. Shared by every model; unloaded when the last one is gone.
pub(crate) struct MoonshineLibrary {
    load_model: LoadModel,
    transcribe: Transcribe,
    free_model: FreeModel,
    free_text: FreeText,
    files: Files,
    // Kept last: the function pointers above point into these.
    _moonshine: Library,
    _ort: Library,
}

fn open(path: &Path) -> Result<Library, SttError> {
    // SAFETY: loading runs the libraries' initialisers; these are the wheel's own builds of ONNX
    // Runtime and Moonshine, which do nothing else at load time.
    unsafe { Library::open(Some(path), RTLD_NOW | RTLD_GLOBAL) }.map_err(|e| {
        SttError::Unavailable(format!(
            "moonshine: cannot load {}: {e}: {INSTALL_HINT}",
            path.display()
        ))
    })
}

impl MoonshineLibrary {
    /// Loads the libraries in `files`' directory.
    pub(crate) fn load(files: Files) -> Result<Arc<Self>, SttError> {
        files.check()?;
        let ort = open(&files.library(ORT_LIBRARY))?;
        let moonshine = open(&files.library(MOONSHINE_LIBRARY))?;
        let missing = |e: libloading::Error| {
            SttError::Unavailable(format!(
                "moonshine: {MOONSHINE_LIBRARY} lacks a function: {e}: {INSTALL_HINT}"
            ))
        };
        // SAFETY: the types are those of the C API (moonshine_cpp 0.1.4's declarations); the
        // pointers are used only while `moonshine` is loaded (it is kept in the struct).
        unsafe {
            Ok(Arc::new(MoonshineLibrary {
                load_model: *moonshine
                    .get::<LoadModel>(b"moonshine_load_model\0")
                    .map_err(missing)?,
                transcribe: *moonshine
                    .get::<Transcribe>(b"moonshine_transcribe\0")
                    .map_err(missing)?,
                free_model: *moonshine
                    .get::<FreeModel>(b"moonshine_free_model\0")
                    .map_err(missing)?,
                free_text: *moonshine
                    .get::<FreeText>(b"moonshine_free_text\0")
                    .map_err(missing)?,
                files,
                _moonshine: moonshine,
                _ort: ort,
            }))
        }
    }
}

/// One loaded model: used by one worker thread at a time.
pub(crate) struct Model {
    library: Arc<MoonshineLibrary>,
    handle: c_int,
}

fn c_path(path: &Path) -> Result<CString, SttError> {
    CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| {
        SttError::InvalidConfig(format!("moonshine path {} contains NUL", path.display()))
    })
}

impl Model {
    /// Loads the base English model (about a second, and some 200 MB).
    pub(crate) fn load(library: &Arc<MoonshineLibrary>) -> Result<Self, SttError> {
        let files = &library.files;
        let encoder = c_path(&files.model("encoder_model.ort"))?;
        let decoder = c_path(&files.model("decoder_model_merged.ort"))?;
        let tokenizer = c_path(&files.model("tokenizer.bin"))?;
        // SAFETY: three NUL-terminated paths that outlive the call; the library copies what it
        // keeps.
        let handle = unsafe {
            (library.load_model)(
                encoder.as_ptr(),
                decoder.as_ptr(),
                tokenizer.as_ptr(),
                MODEL_TYPE_BASE,
            )
        };
        if handle < 0 {
            return Err(SttError::Unavailable(format!(
                "moonshine could not load its model from {}: {INSTALL_HINT}",
                files.dir.display()
            )));
        }
        Ok(Model {
            library: Arc::clone(library),
            handle,
        })
    }

    /// The text of `audio` (16 kHz mono, -1.0 to 1.0), as the model writes it (capitals,
    /// punctuation).
    pub(crate) fn transcribe(&mut self, audio: &[f32]) -> Result<String, SttError> {
        if audio.is_empty() {
            return Ok(String::new());
        }
        let mut text: *mut c_char = std::ptr::null_mut();
        // SAFETY: a live model handle; `audio` is valid for its length; on success `text` is a
        // NUL-terminated string the library allocated, freed below with its own function.
        let rc = unsafe {
            (self.library.transcribe)(self.handle, audio.as_ptr(), audio.len(), &mut text)
        };
        if rc != 0 {
            return Err(SttError::Decode(format!(
                "moonshine transcribe failed (error {rc})"
            )));
        }
        if text.is_null() {
            return Ok(String::new());
        }
        // SAFETY: non-NULL and NUL-terminated (above); copied before it is freed.
        let out = unsafe { CStr::from_ptr(text) }
            .to_string_lossy()
            .into_owned();
        // SAFETY: the string the library gave us, freed once.
        unsafe { (self.library.free_text)(text) };
        Ok(out)
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        // SAFETY: our handle, freed once; nothing uses it afterwards.
        unsafe { (self.library.free_model)(self.handle) };
    }
}
