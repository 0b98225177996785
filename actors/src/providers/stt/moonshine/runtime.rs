//! Where Moonshine's files are, and the ONNX Runtime that runs it: the wheel's
//! `libonnxruntime.so`, loaded at run time (the `ort` crate's `load-dynamic`), once per process.
//!
//! Loaded, not linked: the switch builds and runs without it (pocketsphinx then recognizes), and a
//! missing or unusable file is a clear [`SttError::Unavailable`] naming the install command.
//! ONNX Runtime picks its kernels for the CPU at run time (SSE to AVX-512), so Moonshine runs on
//! any x86_64. (The wheel's own `libmoonshine.so` is compiled for AVX-512 and dies with SIGILL on
//! other CPUs; it is not used: `model.rs` drives the model itself.)

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW};

use crate::providers::stt::SttError;

/// The ONNX Runtime the wheel ships (API version 22).
const ORT_LIBRARY: &str = "libonnxruntime.so.1.22.1";
/// How to get the files.
pub(crate) const INSTALL_HINT: &str = "run scripts/install-moonshine (or scripts/deps)";

/// Where the runtime and the base English model are.
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

    fn runtime(&self) -> PathBuf {
        self.dir.join(ORT_LIBRARY)
    }

    pub(crate) fn model(&self, name: &str) -> PathBuf {
        self.dir.join("base-en").join(name)
    }

    /// Every file there, or `Unavailable` naming the first one missing.
    pub(crate) fn check(&self) -> Result<(), SttError> {
        let needed = [
            self.runtime(),
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

/// The runtime this process loaded, once it has. A library that failed the checks is not kept, so
/// a corrected path can be tried next.
static RUNTIME: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Loads ONNX Runtime from `files` (the first success in the process does; later calls must name
/// the same library). `Unavailable` when it is missing or is not an ONNX Runtime.
pub(crate) fn load(files: &Files) -> Result<(), SttError> {
    files.check()?;
    let wanted = files.runtime();
    let mut loaded = RUNTIME.lock().unwrap_or_else(PoisonError::into_inner);
    match &*loaded {
        Some(path) if *path == wanted => Ok(()),
        Some(path) => Err(SttError::InvalidConfig(format!(
            "moonshine: this process already runs the ONNX Runtime of {}, not {}",
            path.display(),
            wanted.display()
        ))),
        None => {
            init(&wanted)?;
            *loaded = Some(wanted);
            Ok(())
        }
    }
}

fn init(path: &Path) -> Result<(), SttError> {
    let unusable = |why: String| {
        SttError::Unavailable(format!(
            "moonshine: {} is not a usable ONNX Runtime ({why}): {INSTALL_HINT}",
            path.display()
        ))
    };
    // `ort` panics when the library it is given cannot be loaded: make sure it can first.
    // SAFETY: loading runs the library's initialisers; this is the wheel's build of ONNX
    // Runtime, which does nothing else at load time. Only a symbol's presence is checked.
    let probe = unsafe { Library::open(Some(path), RTLD_NOW | RTLD_LOCAL) }
        .map_err(|e| unusable(e.to_string()))?;
    // SAFETY: the symbol is only looked up, not called.
    unsafe { probe.get::<unsafe extern "C" fn()>(b"OrtGetApiBase\0") }
        .map_err(|e| unusable(e.to_string()))?;
    let committed = std::panic::catch_unwind(|| {
        ort::init_from(path.display().to_string())
            .with_name("switch-moonshine")
            .commit()
    });
    match committed {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(unusable(e.to_string())),
        Err(_) => Err(unusable("it failed to start".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_model_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(ORT_LIBRARY), b"").unwrap();
        let err = load(&Files::new(dir.path())).unwrap_err();
        assert!(
            matches!(&err, SttError::Unavailable(why) if why.contains("encoder_model.ort") && why.contains("install-moonshine")),
            "{err}"
        );
    }

    #[test]
    fn a_file_that_is_not_onnx_runtime_is_refused_without_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let files = Files::new(dir.path());
        std::fs::create_dir(dir.path().join("base-en")).unwrap();
        for name in [
            "encoder_model.ort",
            "decoder_model_merged.ort",
            "tokenizer.bin",
        ] {
            std::fs::write(files.model(name), b"x").unwrap();
        }
        std::fs::write(dir.path().join(ORT_LIBRARY), b"not a library").unwrap();
        let err = load(&files).unwrap_err();
        assert!(
            matches!(&err, SttError::Unavailable(why) if why.contains("not a usable ONNX Runtime")),
            "{err}"
        );
        assert!(RUNTIME.lock().unwrap().is_none(), "nothing kept");
    }
}
