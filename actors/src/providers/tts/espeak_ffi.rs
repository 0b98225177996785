//! The few declarations from `<espeak-ng/speak_lib.h>` (API revision 12) that `espeak.rs` uses,
//! written by hand and linked against the system `libespeak-ng` (Debian `libespeak-ng-dev`).
//!
//! Why no `-sys` crate: checked with `cargo info` on crates.io,
//! - `espeakng-sys` 0.3.0 runs `bindgen` in its build script, which needs `libclang.so` at build
//!   time (this machine and CI have only `libclang-cpp`), and pulls bindgen into every build;
//! - `espeak-rs` 0.2.0 / `espeak-rs-sys` 0.2.0 compile a bundled espeak-ng with CMake plus
//!   bindgen instead of using the Debian library and its voice data.
//!
//! We need six functions and three constants from a header whose ABI has been stable since
//! 2013, so hand-written bindings are smaller and build offline in seconds. Only the worker
//! thread in `espeak.rs` may call these: the library keeps global state and is not reentrant.

use std::ffi::{c_char, c_int, c_short, c_uint, c_void};

/// `espeak_AUDIO_OUTPUT::AUDIO_OUTPUT_SYNCHRONOUS`: audio goes to the callback and
/// `espeak_Synth` returns only once the whole text is synthesized.
pub(crate) const AUDIO_OUTPUT_SYNCHRONOUS: c_int = 2;

/// `espeakINITIALIZE_DONT_EXIT`: without it a missing data directory calls `exit(1)`.
pub(crate) const INITIALIZE_DONT_EXIT: c_int = 0x8000;

/// `espeak_POSITION_TYPE::POS_CHARACTER`.
pub(crate) const POS_CHARACTER: c_int = 1;

/// `espeakCHARS_UTF8`: the text is UTF-8 (no SSML, no phoneme input).
pub(crate) const CHARS_UTF8: c_uint = 1;

/// `espeak_PARAMETER::espeakRATE`: speaking rate in words per minute.
pub(crate) const PARAM_RATE: c_int = 1;

/// `espeakRATE_MINIMUM`, words per minute.
pub(crate) const RATE_MINIMUM: u32 = 80;

/// `espeakRATE_MAXIMUM`, words per minute.
pub(crate) const RATE_MAXIMUM: u32 = 450;

/// `espeak_ERROR::EE_OK`.
pub(crate) const EE_OK: c_int = 0;

/// `espeak_ERROR::EE_NOT_FOUND`.
pub(crate) const EE_NOT_FOUND: c_int = 2;

/// `espeak_EVENT`, only ever seen behind a pointer here.
#[repr(C)]
pub(crate) struct EspeakEvent {
    _opaque: [u8; 0],
}

/// `t_espeak_callback`: receives `numsamples` samples at `wav` (NULL when synthesis is done);
/// returns 0 to continue, 1 to abort.
pub(crate) type SynthCallback =
    unsafe extern "C" fn(wav: *mut c_short, numsamples: c_int, events: *mut EspeakEvent) -> c_int;

#[link(name = "espeak-ng")]
unsafe extern "C" {
    /// Loads the data files; returns the output sample rate in Hz, or -1.
    pub(crate) fn espeak_Initialize(
        output: c_int,
        buflength: c_int,
        path: *const c_char,
        options: c_int,
    ) -> c_int;

    /// Sets the function that receives synthesized audio.
    pub(crate) fn espeak_SetSynthCallback(callback: Option<SynthCallback>);

    /// Selects a voice by name (e.g. `en-us`); returns an `espeak_ERROR`.
    pub(crate) fn espeak_SetVoiceByName(name: *const c_char) -> c_int;

    /// Sets a speech parameter; returns an `espeak_ERROR`.
    pub(crate) fn espeak_SetParameter(parameter: c_int, value: c_int, relative: c_int) -> c_int;

    /// Synthesizes NUL-terminated `text`; returns an `espeak_ERROR`.
    pub(crate) fn espeak_Synth(
        text: *const c_void,
        size: usize,
        position: c_uint,
        position_type: c_int,
        end_position: c_uint,
        flags: c_uint,
        unique_identifier: *mut c_uint,
        user_data: *mut c_void,
    ) -> c_int;

    /// Returns the library version and stores the data directory in `*path_data`.
    pub(crate) fn espeak_Info(path_data: *mut *const c_char) -> *const c_char;
}
