//! `Decoder`: one pocketsphinx decoder with its searches, owned by one worker thread.
//!
//! A decoder holds the acoustic model, the dictionary and the open-vocabulary language model
//! (loaded once, 0.3–0.5 s), plus one compiled JSGF search per keyword grammar it has been
//! asked for (cached, least recently used dropped beyond [`GRAMMAR_CACHE`]). It decodes an
//! utterance in one of two ways:
//! - **whole** (`decode_whole`, keyword grammars): the utterance's audio in one call, when
//!   it has ended;
//! - **live** (`start_live`/`feed`/`finish_live`, language model): audio as it arrives, with
//!   partial hypotheses on the way.
//!
//! Cepstral-mean normalisation (CMN) is where sharing a decoder between calls bites. The
//! model asks for batch CMN (each utterance normalised by its own mean), but sphinxbase
//! switches a decoder to live CMN for good the first time it decodes in pieces
//! (`feat_cmn` in `feat.c`), and live CMN carries a running mean from one utterance to the
//! next. Measured: after one open-vocabulary utterance every keyword utterance on that
//! decoder came out empty, and after a silent utterance "I would like to book an
//! appointment" became "are you". So `decode_whole` puts the decoder back to batch CMN, and
//! every live utterance starts from one fixed prior, [`TELEPHONE_CMN_PRIOR`]: an utterance is
//! recognised the same way whichever decoder runs it and whatever that decoder heard before.
//! Both go through the `feat_t` mirror in `ffi.rs`; if its fields do not check out, decoding
//! still works, without these resets.
//! For the same reason each utterance starts a new stream (`ps_start_stream`), which resets
//! the front end's noise estimate.

use std::collections::HashMap;
use std::ffi::{CStr, CString, c_int};
use std::path::{Path, PathBuf};
use std::ptr::NonNull;

use super::SttError;
use super::ffi;

/// Compiled keyword grammars kept per decoder.
pub(crate) const GRAMMAR_CACHE: usize = 32;

/// The fix printed with "model missing" errors.
pub(crate) const INSTALL_HINT: &str =
    "apt-get install libpocketsphinx3 pocketsphinx-en-us (or run scripts/deps)";

/// Cepstral mean of 8 kHz telephone speech upsampled to 16 kHz, as the model's front end
/// sees it (13 coefficients). The model's own prior (`feat.params`: 41, -5.3, -0.1, …) is
/// for wide-band speech; with nothing above 4 kHz the mean is far from it. Measured as the
/// running mean after 42 espeak-ng utterances (14 phrases; voices en, en-us, en-us+m3 at 140
/// wpm) through a 300–3400 Hz band-pass, G.711 µ-law and this crate's upsampler. With it the
/// language model transcribes "I would like to book an appointment" exactly in all three
/// voices (from the model's prior: "i would like to look at all you").
pub(crate) const TELEPHONE_CMN_PRIOR: [f32; 13] = [
    53.92, 27.41, -39.70, 52.75, -22.00, -12.52, 13.19, -39.32, -0.36, -12.68, -5.62, 8.37, -18.94,
];

/// Word insertion penalty (`-wip`) of keyword-grammar searches; the language model keeps the
/// library's 0.65. With 0.65 the grammar hears "goodbye" as "book bye" and the start of "I
/// would like…" as "bye goodbye"; 1e-3 fixed both on espeak-ng phone audio and lost no rule
/// of 32 test utterances (1e-2 still split "goodbye", 1e-6 inserts words again).
pub(crate) const GRAMMAR_WORD_INSERTION: f64 = 1e-3;

/// The library's default word insertion penalty, restored after compiling a grammar.
const DEFAULT_WORD_INSERTION: f64 = 0.65;

/// A recognised word and its first and last 10 ms frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Segment {
    pub(crate) word: String,
    pub(crate) start: c_int,
    pub(crate) end: c_int,
}

/// Where a pocketsphinx model lives: acoustic model, language model, dictionary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ModelPaths {
    pub(crate) hmm: PathBuf,
    pub(crate) lm: PathBuf,
    pub(crate) dict: PathBuf,
}

impl ModelPaths {
    /// The layout of Debian's `pocketsphinx-en-us` under `dir`.
    pub(crate) fn in_dir(dir: &Path) -> Self {
        Self {
            hmm: dir.join("en-us"),
            lm: dir.join("en-us.lm.bin"),
            dict: dir.join("cmudict-en-us.dict"),
        }
    }

    /// Checks that the files are there, so a missing package is named instead of the
    /// library failing with its log sent to /dev/null.
    pub(crate) fn check(&self) -> Result<(), SttError> {
        let needed = [self.hmm.join("mdef"), self.lm.clone(), self.dict.clone()];
        match needed.iter().find(|p| !p.is_file()) {
            None => Ok(()),
            Some(missing) => Err(SttError::Unavailable(format!(
                "pocketsphinx model file {} is missing: {INSTALL_HINT}",
                missing.display()
            ))),
        }
    }
}

/// One loaded decoder. Not `Send`: created, used and dropped on one worker thread.
pub(crate) struct Decoder {
    ps: NonNull<ffi::PsDecoder>,
    /// Name of the language-model search `ps_init` created.
    lm_search: CString,
    /// Keyword grammars compiled into searches: JSGF text → (search name, last use).
    grammars: HashMap<String, (CString, u64)>,
    /// Counter for search names and recency.
    clock: u64,
    /// The search currently selected.
    current: CString,
    /// The feature computation, when the `feat_t` mirror checked out.
    feat: Option<NonNull<ffi::FeatPrefix>>,
}

impl Decoder {
    /// Loads the model. Blocks for 0.3–0.5 s.
    pub(crate) fn new(model: &ModelPaths) -> Result<Self, SttError> {
        model.check()?;
        let path = |p: &Path| {
            CString::new(p.as_os_str().as_encoded_bytes()).map_err(|_| {
                SttError::InvalidConfig(format!("model path {} contains NUL", p.display()))
            })
        };
        let args: Vec<CString> = [
            c"-hmm".to_owned(),
            path(&model.hmm)?,
            c"-lm".to_owned(),
            path(&model.lm)?,
            c"-dict".to_owned(),
            path(&model.dict)?,
            // The library logs hundreds of lines per decoder to stderr; failures are
            // reported through return values instead.
            c"-logfn".to_owned(),
            c"/dev/null".to_owned(),
        ]
        .into();
        let argv: Vec<_> = args.iter().map(|a| a.as_ptr()).collect();
        let argc = c_int::try_from(argv.len()).expect("eight arguments");
        // SAFETY: argv points at `argc` NUL-terminated strings that outlive the call (the
        // parser copies them); `ps_args()` is the library's static definition table.
        let config = unsafe {
            ffi::cmd_ln_parse_r(std::ptr::null_mut(), ffi::ps_args(), argc, argv.as_ptr(), 1)
        };
        if config.is_null() {
            return Err(SttError::Unavailable(
                "pocketsphinx rejected its configuration".to_owned(),
            ));
        }
        // SAFETY: `config` is a valid configuration; ps_init takes its own reference, so ours
        // is released right after.
        let ps = unsafe { ffi::ps_init(config) };
        // SAFETY: releases the reference `cmd_ln_parse_r` gave us.
        unsafe { ffi::cmd_ln_free_r(config) };
        let ps = NonNull::new(ps).ok_or_else(|| {
            SttError::Unavailable(format!(
                "pocketsphinx could not load the model in {}: {INSTALL_HINT}",
                model.hmm.display()
            ))
        })?;
        // SAFETY: `ps` is a live decoder; the name is owned by it and copied at once.
        let lm_search = unsafe { CStr::from_ptr(ffi::ps_get_search(ps.as_ptr())) }.to_owned();
        let mut decoder = Decoder {
            ps,
            current: lm_search.clone(),
            lm_search,
            grammars: HashMap::new(),
            clock: 0,
            feat: None,
        };
        decoder.feat = decoder.find_feat();
        if decoder.feat.is_none() {
            tracing::warn!("pocketsphinx feature layout not recognised; CMN is not reset");
        }
        Ok(decoder)
    }

    /// Finds the feature computation through the `feat_t` mirror, if its fields look right.
    fn find_feat(&self) -> Option<NonNull<ffi::FeatPrefix>> {
        // SAFETY: live decoder; the feature object lives as long as the decoder.
        let feat = NonNull::new(unsafe { ffi::ps_get_feat(self.ps.as_ptr()) })?;
        // SAFETY: `feat_t` starts with the fields of `FeatPrefix` (sphinxbase 5prealpha's
        // public header). en-us uses a 13-coefficient cepstrum in one stream with batch CMN
        // (`feat.params`); anything else means the layout or model is not the one we know.
        let prefix = unsafe { feat.as_ref() };
        let known = prefix.cepsize == 13
            && prefix.n_stream == 1
            && matches!(prefix.cmn, ffi::CMN_BATCH | ffi::CMN_LIVE)
            && !prefix.cmn_struct.is_null();
        known.then_some(feat)
    }

    /// Selects the open-vocabulary language model.
    pub(crate) fn use_language_model(&mut self) -> Result<(), SttError> {
        let name = self.lm_search.clone();
        self.select(&name)
    }

    /// Selects the search for `jsgf`, compiling it on first use.
    pub(crate) fn use_grammar(&mut self, jsgf: &str) -> Result<(), SttError> {
        self.clock += 1;
        let now = self.clock;
        if let Some((name, last_used)) = self.grammars.get_mut(jsgf) {
            *last_used = now;
            let name = name.clone();
            return self.select(&name);
        }
        if self.grammars.len() >= GRAMMAR_CACHE {
            self.evict_oldest_grammar();
        }
        let name = CString::new(format!("kw{now}")).expect("digits only");
        let text = CString::new(jsgf)
            .map_err(|_| SttError::InvalidConfig("grammar contains NUL".to_owned()))?;
        // The grammar search reads its insertion penalty from the decoder's configuration
        // when it is created; set ours for that moment only.
        self.set_word_insertion(GRAMMAR_WORD_INSERTION);
        // SAFETY: live decoder, between utterances; both strings are NUL-terminated.
        let rc = unsafe { ffi::ps_set_jsgf_string(self.ps.as_ptr(), name.as_ptr(), text.as_ptr()) };
        self.set_word_insertion(DEFAULT_WORD_INSERTION);
        if rc < 0 {
            return Err(SttError::Decode(format!(
                "pocketsphinx rejected the keyword grammar (error {rc})"
            )));
        }
        self.grammars.insert(jsgf.to_owned(), (name.clone(), now));
        self.select(&name)
    }

    fn set_word_insertion(&mut self, value: f64) {
        // SAFETY: live decoder; its configuration lives as long as it does and `-wip` is a
        // float argument of `ps_args()`.
        unsafe {
            ffi::cmd_ln_set_float_r(
                ffi::ps_get_config(self.ps.as_ptr()),
                c"-wip".as_ptr(),
                value,
            )
        };
    }

    /// Drops the least recently used grammar that is not selected.
    fn evict_oldest_grammar(&mut self) {
        let oldest = self
            .grammars
            .iter()
            .filter(|(_, (name, _))| *name != self.current)
            .min_by_key(|(_, (_, used))| *used)
            .map(|(jsgf, _)| jsgf.clone());
        if let Some((name, _)) = oldest.and_then(|jsgf| self.grammars.remove(&jsgf)) {
            // SAFETY: live decoder, between utterances; `name` is not the current search.
            unsafe { ffi::ps_unset_search(self.ps.as_ptr(), name.as_ptr()) };
        }
    }

    fn select(&mut self, name: &CStr) -> Result<(), SttError> {
        if self.current.as_c_str() == name {
            return Ok(());
        }
        // SAFETY: live decoder, between utterances; `name` names an existing search.
        let rc = unsafe { ffi::ps_set_search(self.ps.as_ptr(), name.as_ptr()) };
        if rc < 0 {
            return Err(SttError::Decode(format!("cannot select search {name:?}")));
        }
        self.current = name.to_owned();
        Ok(())
    }

    /// Decodes one whole utterance of 16 kHz audio with the selected search, with batch CMN.
    pub(crate) fn decode_whole(&mut self, audio: &[i16]) -> Result<String, SttError> {
        if audio.is_empty() {
            return Ok(String::new());
        }
        if let Some(mut feat) = self.feat {
            // SAFETY: the checked mirror of this live decoder's `feat_t`, between utterances;
            // `cmn` is a plain enum field the library reads at each feature computation.
            unsafe { feat.as_mut().cmn = ffi::CMN_BATCH };
        }
        check(self.start_utt(), "start")?;
        // SAFETY: live decoder inside an utterance; `audio` is valid for its length.
        let rc =
            unsafe { ffi::ps_process_raw(self.ps.as_ptr(), audio.as_ptr(), audio.len(), 0, 1) };
        let end = self.end_utt();
        check(rc, "decode")?;
        check(end, "end")?;
        Ok(self.hypothesis())
    }

    /// Starts a live utterance from the telephone CMN prior.
    pub(crate) fn start_live(&mut self) -> Result<(), SttError> {
        self.reset_cmn(&TELEPHONE_CMN_PRIOR);
        check(self.start_utt(), "start")
    }

    /// Sets the running cepstral mean, so the next utterance is decoded the same way whatever
    /// came before it on this decoder.
    fn reset_cmn(&mut self, prior: &[f32; 13]) {
        if let Some(feat) = self.feat {
            // SAFETY: the checked mirror of this live decoder's `feat_t`, between utterances;
            // `cmn_struct` is non-NULL and the prior has 13 values, the cepstrum size checked
            // in `find_feat`.
            unsafe { ffi::cmn_live_set(feat.as_ref().cmn_struct, prior.as_ptr()) };
        }
    }

    /// Feeds 16 kHz audio to the live utterance.
    pub(crate) fn feed(&mut self, audio: &[i16]) -> Result<(), SttError> {
        // SAFETY: live decoder inside an utterance; `audio` is valid for its length.
        let rc =
            unsafe { ffi::ps_process_raw(self.ps.as_ptr(), audio.as_ptr(), audio.len(), 0, 0) };
        check(rc, "decode")
    }

    /// Ends the live utterance and returns its final hypothesis.
    pub(crate) fn finish_live(&mut self) -> Result<String, SttError> {
        check(self.end_utt(), "end")?;
        Ok(self.hypothesis())
    }

    /// The best hypothesis so far, words separated by single spaces ("" for none).
    pub(crate) fn hypothesis(&self) -> String {
        let mut score = 0i32;
        // SAFETY: live decoder; the string is owned by it and copied before the next call.
        let hyp = unsafe { ffi::ps_get_hyp(self.ps.as_ptr(), &mut score) };
        if hyp.is_null() {
            return String::new();
        }
        // SAFETY: non-NULL, NUL-terminated, valid until the next decoder call.
        let text = unsafe { CStr::from_ptr(hyp) }.to_string_lossy();
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// The words of the best hypothesis with their frames (10 ms each), fillers (`<sil>`,
    /// `[NOISE]`) left out and alternate pronunciations (`hours(2)`) folded.
    pub(crate) fn segments(&self) -> Vec<Segment> {
        let mut out = Vec::new();
        // SAFETY: live decoder, after an utterance; the iterator is run to its end (which
        // frees it) and each word is copied before the next call.
        let mut seg = unsafe { ffi::ps_seg_iter(self.ps.as_ptr()) };
        while !seg.is_null() {
            let (mut start, mut end) = (0, 0);
            // SAFETY: `seg` is a live iterator; the word is NUL-terminated.
            let word = unsafe {
                ffi::ps_seg_frames(seg, &mut start, &mut end);
                CStr::from_ptr(ffi::ps_seg_word(seg)).to_string_lossy()
            };
            // Null transitions of a grammar come as "(NULL)": empty once folded.
            let folded = word.split('(').next().unwrap_or(&word);
            if !(folded.is_empty() || folded.starts_with('<') || folded.starts_with('[')) {
                out.push(Segment {
                    word: folded.to_owned(),
                    start,
                    end,
                });
            }
            // SAFETY: advances (and at the end frees) the live iterator.
            seg = unsafe { ffi::ps_seg_next(seg) };
        }
        out
    }

    /// Starts an utterance as a new stream, so the front end's noise estimate (used to drop
    /// silent frames) is not carried over from another call's audio.
    fn start_utt(&mut self) -> c_int {
        // SAFETY: live decoder, not inside an utterance (every start is paired with an end).
        let rc = unsafe { ffi::ps_start_stream(self.ps.as_ptr()) };
        if rc < 0 {
            return rc;
        }
        // SAFETY: as above.
        unsafe { ffi::ps_start_utt(self.ps.as_ptr()) }
    }

    fn end_utt(&mut self) -> c_int {
        // SAFETY: live decoder inside an utterance.
        unsafe { ffi::ps_end_utt(self.ps.as_ptr()) }
    }
}

/// Turns a negative library return code into an error.
fn check(rc: c_int, what: &str) -> Result<(), SttError> {
    if rc < 0 {
        Err(SttError::Decode(format!(
            "pocketsphinx {what} failed (error {rc})"
        )))
    } else {
        Ok(())
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        // SAFETY: we own the only reference; nothing uses the decoder afterwards.
        unsafe { ffi::ps_free(self.ps.as_ptr()) };
    }
}
