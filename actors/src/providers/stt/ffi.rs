//! The few declarations from `<pocketsphinx.h>`, `<pocketsphinx/ps_search.h>` and
//! `<sphinxbase/cmd_ln.h>` (pocketsphinx 5prealpha, Debian `libpocketsphinx-dev` and
//! `libsphinxbase-dev`) that `decoder.rs` uses, written by hand.
//!
//! Why no crate: checked with `cargo info` on crates.io,
//! - `pocketsphinx` 0.6.0 and `pocketsphinx-sys` 0.5.0 (kriomant) are the only bindings. They
//!   were written for the 2015 API and have not been updated since; the build script panics
//!   through `pkg_config::find_library(..).unwrap()` when the library is missing, the safe
//!   wrapper `unwrap`s `CString::new` on caller input, and neither exposes the 5prealpha search
//!   API (`ps_set_jsgf_string`, `ps_set_search`) we build keyword grammars with.
//!
//! We need twenty-two functions with plain C types from an API frozen since the 5prealpha
//! release (2015, still what Debian ships), so hand-written bindings are smaller, build offline
//! and keep every failure a `Result`. A decoder is not thread-safe: each one is created, used
//! and freed by one worker thread in `pool.rs`.
//!
//! One struct is mirrored: the leading fields of `feat_t` (`<sphinxbase/feat.h>`, public), up
//! to `cmn_struct`, so the decoder can choose batch or live cepstral-mean normalisation and
//! reset the live mean (see `decoder.rs`). `decoder.rs` checks the fields it can before
//! trusting it.

use std::ffi::{c_char, c_int, c_void};

/// `cmd_ln_t`, a parsed configuration, only ever seen behind a pointer.
#[repr(C)]
pub(crate) struct CmdLn {
    _opaque: [u8; 0],
}

/// `ps_seg_t`, an iterator over the words of a hypothesis, only ever seen behind a pointer.
#[repr(C)]
pub(crate) struct PsSeg {
    _opaque: [u8; 0],
}

/// `ps_decoder_t`, only ever seen behind a pointer.
#[repr(C)]
pub(crate) struct PsDecoder {
    _opaque: [u8; 0],
}

/// `cmn_type_t::CMN_BATCH`: normalise by the mean of the whole utterance.
pub(crate) const CMN_BATCH: c_int = 1;

/// `cmn_type_t::CMN_LIVE`: normalise by a running mean carried across utterances.
pub(crate) const CMN_LIVE: c_int = 2;

/// `cmn_t`, only ever seen behind a pointer.
#[repr(C)]
pub(crate) struct Cmn {
    _opaque: [u8; 0],
}

/// The leading fields of sphinxbase's `feat_t`, in declaration order, up to `cmn_struct`.
#[repr(C)]
pub(crate) struct FeatPrefix {
    _refcount: c_int,
    _name: *mut c_char,
    pub(crate) cepsize: i32,
    pub(crate) n_stream: i32,
    _stream_len: *mut u32,
    _window_size: i32,
    _n_sv: i32,
    _sv_len: *mut u32,
    _subvecs: *mut *mut i32,
    _sv_buf: *mut f32,
    _sv_dim: i32,
    pub(crate) cmn: c_int,
    _varnorm: i32,
    _agc: c_int,
    _compute_feat: *mut c_void,
    pub(crate) cmn_struct: *mut Cmn,
}

#[link(name = "sphinxbase")]
unsafe extern "C" {
    /// Parses `argc` strings of `-name value` pairs against the definitions `defn`; returns
    /// NULL on an unknown name or bad value (when `strict`).
    pub(crate) fn cmd_ln_parse_r(
        inout_cmdln: *mut CmdLn,
        defn: *const c_void,
        argc: c_int,
        argv: *const *const c_char,
        strict: c_int,
    ) -> *mut CmdLn;

    /// Releases one reference to a configuration.
    pub(crate) fn cmd_ln_free_r(cmdln: *mut CmdLn) -> c_int;

    /// Sets a floating-point argument of a configuration.
    pub(crate) fn cmd_ln_set_float_r(cmdln: *mut CmdLn, name: *const c_char, value: f64);

    /// Sets the live cepstral mean (`cepsize` floats; `mfcc_t` is `float` in Debian's build).
    pub(crate) fn cmn_live_set(cmn: *mut Cmn, vec: *const f32);
}

#[link(name = "pocketsphinx")]
unsafe extern "C" {
    /// The decoder's argument definitions (an `arg_t` array) for `cmd_ln_parse_r`.
    pub(crate) fn ps_args() -> *const c_void;

    /// Loads the models named in `config` (taking its own reference); NULL on failure.
    pub(crate) fn ps_init(config: *mut CmdLn) -> *mut PsDecoder;

    /// Releases the decoder and everything it loaded.
    pub(crate) fn ps_free(ps: *mut PsDecoder) -> c_int;

    /// The decoder's configuration (owned by the decoder).
    pub(crate) fn ps_get_config(ps: *mut PsDecoder) -> *mut CmdLn;

    /// The decoder's feature computation (owned by the decoder).
    pub(crate) fn ps_get_feat(ps: *mut PsDecoder) -> *mut FeatPrefix;

    /// Adds a JSGF grammar (its text) as the search `name`; negative on a parse error or an
    /// unknown word.
    pub(crate) fn ps_set_jsgf_string(
        ps: *mut PsDecoder,
        name: *const c_char,
        jsgf_string: *const c_char,
    ) -> c_int;

    /// Makes the search `name` current; only between utterances.
    pub(crate) fn ps_set_search(ps: *mut PsDecoder, name: *const c_char) -> c_int;

    /// The name of the current search (owned by the decoder).
    pub(crate) fn ps_get_search(ps: *mut PsDecoder) -> *const c_char;

    /// Removes the search `name` and frees it.
    pub(crate) fn ps_unset_search(ps: *mut PsDecoder, name: *const c_char) -> c_int;

    /// Starts a new stream: resets the front end's noise and silence statistics.
    pub(crate) fn ps_start_stream(ps: *mut PsDecoder) -> c_int;

    /// Starts an utterance.
    pub(crate) fn ps_start_utt(ps: *mut PsDecoder) -> c_int;

    /// Decodes `n_samples` 16-bit samples at the model's rate; returns frames searched, or < 0.
    pub(crate) fn ps_process_raw(
        ps: *mut PsDecoder,
        data: *const i16,
        n_samples: usize,
        no_search: c_int,
        full_utt: c_int,
    ) -> c_int;

    /// Ends the utterance and runs the final passes.
    pub(crate) fn ps_end_utt(ps: *mut PsDecoder) -> c_int;

    /// The best hypothesis so far (owned by the decoder, valid until the next call), or NULL.
    pub(crate) fn ps_get_hyp(ps: *mut PsDecoder, out_best_score: *mut i32) -> *const c_char;

    /// An iterator over the words of the best hypothesis, or NULL when there are none.
    pub(crate) fn ps_seg_iter(ps: *mut PsDecoder) -> *mut PsSeg;

    /// Advances the iterator; NULL (the iterator freed) after the last word.
    pub(crate) fn ps_seg_next(seg: *mut PsSeg) -> *mut PsSeg;

    /// The current word (owned by the iterator, valid until the next call).
    pub(crate) fn ps_seg_word(seg: *mut PsSeg) -> *const c_char;

    /// The current word's first and last frame (10 ms each).
    pub(crate) fn ps_seg_frames(seg: *mut PsSeg, out_sf: *mut c_int, out_ef: *mut c_int);
}
