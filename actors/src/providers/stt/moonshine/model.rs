//! One loaded Moonshine model (base, English): an encoder that turns 16 kHz audio into hidden
//! states, and a decoder that writes tokens one at a time from them, greedily, keeping its
//! attention keys and values between steps (the "merged" decoder: the first step computes the
//! cross-attention cache, `use_cache_branch` reuses it after). Used by one worker at a time.

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

use ort::memory::Allocator;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::{Session, SessionInputValue, SessionOutputs};
use ort::value::{DynValue, Tensor, ValueType};

use super::onnx_names::name_subgraphs;
use super::runtime::{self, Files, INSTALL_HINT};
use super::vocabulary::Vocabulary;
use crate::providers::stt::SttError;

/// The token the decoder starts from, and the one that ends the text.
const START_TOKEN: i64 = 1;
const END_TOKEN: i64 = 2;
/// Speech carries at most about six tokens a second; the cap stops a decoder that repeats
/// itself. A few more are allowed for very short utterances ("Goodbye." is three).
const TOKENS_PER_SECOND: usize = 6;
const EXTRA_TOKENS: usize = 4;
const SAMPLE_RATE: usize = 16_000;
/// The cache tensors of one decoder layer, in the decoder's input order.
const CACHE_PARTS: [&str; 4] = [
    "decoder.key",
    "decoder.value",
    "encoder.key",
    "encoder.value",
];
/// The parts that grow with each token (the others are computed once, at the first step).
const GROWING_PARTS: usize = 2;

/// The decoder's cache geometry and the names of its tensors, read from the model.
struct Cache {
    heads: i64,
    head_dim: i64,
    /// `past_key_values.{layer}.{part}` and `present.{layer}.{part}`, layer by layer.
    past: Vec<String>,
    present: Vec<String>,
}

impl Cache {
    fn of(decoder: &Session) -> Result<Self, SttError> {
        let first = decoder
            .inputs
            .iter()
            .find(|input| input.name.starts_with("past_key_values."))
            .ok_or_else(|| malformed("the decoder has no attention cache"))?;
        let (heads, head_dim) = match &first.input_type {
            ValueType::Tensor { shape, .. } if shape.len() == 4 => (shape[1], shape[3]),
            other => return Err(malformed(&format!("unexpected cache tensor {other:?}"))),
        };
        let layers = decoder
            .inputs
            .iter()
            .filter(|input| input.name.starts_with("past_key_values."))
            .count()
            / CACHE_PARTS.len();
        let names = |prefix: &str| {
            (0..layers)
                .flat_map(|layer| CACHE_PARTS.map(|part| format!("{prefix}.{layer}.{part}")))
                .collect::<Vec<_>>()
        };
        Ok(Cache {
            heads,
            head_dim,
            past: names("past_key_values"),
            present: names("present"),
        })
    }
}

fn malformed(why: &str) -> SttError {
    SttError::Unavailable(format!(
        "moonshine: unexpected model ({why}): {INSTALL_HINT}"
    ))
}

fn decode_error(e: impl std::fmt::Display) -> SttError {
    SttError::Decode(format!("moonshine: {e}"))
}

/// The encoder, the decoder and the vocabulary.
pub(crate) struct Model {
    encoder: Session,
    decoder: Session,
    vocabulary: Arc<Vocabulary>,
    cache: Cache,
    allocator: Allocator,
}

/// The model at `path` (an `.ort` file), with its weights expanded to floats once.
///
/// The files keep their weights as uint8 and expand them inside the graph (`Cast`, `Mul`,
/// `Add`) at every run: profiled, that was about three quarters of the decoder's time. ONNX
/// Runtime folds such constants only in ONNX models, not `.ort` ones, so the model is loaded
/// once as it is and saved by ONNX Runtime as ONNX, its subgraphs are named (`onnx_names.rs`),
/// and that ONNX is loaded with constant folding. Measured on one 3 s request: a decoder step
/// went from about 57 ms to 10 ms, for some 260 MB more memory per model.
fn session(path: &Path) -> Result<Session, SttError> {
    let unusable = |e: &dyn std::fmt::Display| {
        SttError::Unavailable(format!(
            "moonshine: cannot load {}: {e}: {INSTALL_HINT}",
            path.display()
        ))
    };
    let scratch = tempfile::Builder::new()
        .prefix("switch-moonshine-")
        .tempdir()
        .map_err(|e| unusable(&e))?;
    let saved = scratch.path().join("model.onnx");
    Session::builder()
        .and_then(|b| b.with_optimization_level(GraphOptimizationLevel::Level1))
        .and_then(|b| b.with_optimized_model_path(&saved))
        .and_then(|b| b.commit_from_file(path))
        .map_err(|e| unusable(&e))?;
    let onnx = std::fs::read(&saved).map_err(|e| unusable(&e))?;
    let named = name_subgraphs(&onnx)
        .map_err(|_| unusable(&"ONNX Runtime saved it as a malformed ONNX model"))?;
    // One thread per model: the workers are the parallelism, and calls are many and short.
    Session::builder()
        .and_then(|b| b.with_optimization_level(GraphOptimizationLevel::Level3))
        .and_then(|b| b.with_intra_threads(1))
        .and_then(|b| b.with_inter_threads(1))
        .and_then(|b| b.commit_from_memory(&named))
        .map_err(|e| unusable(&e))
}

impl Model {
    /// Loads the model in `files` (ONNX Runtime first, if this process has not yet) and runs it
    /// once on a second of quiet, so that the first caller does not pay its warm-up (about a
    /// second and a half). About 450 MB.
    pub(crate) fn load(files: &Files, vocabulary: Arc<Vocabulary>) -> Result<Self, SttError> {
        runtime::load(files)?;
        let encoder = session(&files.model("encoder_model.ort"))?;
        let decoder = session(&files.model("decoder_model_merged.ort"))?;
        let cache = Cache::of(&decoder)?;
        let mut model = Model {
            encoder,
            decoder,
            vocabulary,
            cache,
            allocator: Allocator::default(),
        };
        let quiet: Vec<f32> = (0..SAMPLE_RATE)
            .map(|n| if n % 2 == 0 { 1e-4 } else { -1e-4 })
            .collect();
        model.transcribe(quiet)?;
        Ok(model)
    }

    /// The text of `audio` (16 kHz mono, -1.0 to 1.0), as the model writes it (capitals,
    /// punctuation).
    pub(crate) fn transcribe(&mut self, audio: Vec<f32>) -> Result<String, SttError> {
        // The encoder needs some audio to work on (its convolutions take 127 samples first).
        let samples = audio.len();
        if samples < SAMPLE_RATE / 10 {
            return Ok(String::new());
        }
        let input = Tensor::from_array(([1usize, samples], audio)).map_err(decode_error)?;
        let mut encoded = self
            .encoder
            .run(ort::inputs!["input_values" => input])
            .map_err(decode_error)?;
        let hidden = encoded
            .remove("last_hidden_state")
            .ok_or_else(|| decode_error("the encoder gave no hidden states"))?;
        drop(encoded);
        let max_tokens = samples * TOKENS_PER_SECOND / SAMPLE_RATE + EXTRA_TOKENS;
        let ids = self.generate(&hidden, max_tokens)?;
        Ok(self.vocabulary.decode(&ids))
    }

    /// Greedy decoding: the most likely token at each step, until the end token or `max_tokens`.
    fn generate(&mut self, hidden: &DynValue, max_tokens: usize) -> Result<Vec<u32>, SttError> {
        let mut cache = self.empty_cache()?;
        let mut ids = Vec::new();
        let mut token = START_TOKEN;
        for step in 0..max_tokens {
            let first = step == 0;
            let mut inputs: Vec<(Cow<'_, str>, SessionInputValue<'_>)> =
                Vec::with_capacity(cache.len() + 3);
            let ids_in = Tensor::from_array(([1usize, 1], vec![token])).map_err(decode_error)?;
            inputs.push(("input_ids".into(), ids_in.into()));
            inputs.push(("encoder_hidden_states".into(), hidden.view().into()));
            for (name, value) in self.cache.past.iter().zip(&cache) {
                inputs.push((name.as_str().into(), value.view().into()));
            }
            let branch = Tensor::from_array(([1usize], vec![!first])).map_err(decode_error)?;
            inputs.push(("use_cache_branch".into(), branch.into()));
            let mut outputs = self.decoder.run(inputs).map_err(decode_error)?;
            let next = most_likely(&outputs)?;
            keep_cache(&mut outputs, &self.cache.present, &mut cache, first)?;
            if next == END_TOKEN {
                break;
            }
            ids.push(u32::try_from(next).map_err(decode_error)?);
            token = next;
        }
        Ok(ids)
    }

    /// The cache before the first token: every tensor empty along its sequence axis.
    fn empty_cache(&self) -> Result<Vec<DynValue>, SttError> {
        let shape = [1, self.cache.heads, 0, self.cache.head_dim];
        (0..self.cache.past.len())
            .map(|_| {
                Tensor::<f32>::new(&self.allocator, shape)
                    .map(Tensor::into_dyn)
                    .map_err(decode_error)
            })
            .collect()
    }
}

/// The id of the most likely next token (the last position's largest logit).
fn most_likely(outputs: &SessionOutputs<'_>) -> Result<i64, SttError> {
    let logits = outputs
        .get("logits")
        .ok_or_else(|| decode_error("the decoder gave no logits"))?;
    let (shape, values) = logits.try_extract_tensor::<f32>().map_err(decode_error)?;
    let vocabulary = usize::try_from(shape[shape.len() - 1]).map_err(decode_error)?;
    let last = &values[values.len().saturating_sub(vocabulary)..];
    last.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(id, _)| id as i64)
        .ok_or_else(|| decode_error("empty logits"))
}

/// Takes the decoder's new cache: every part after the first step, then only the growing ones.
fn keep_cache(
    outputs: &mut SessionOutputs<'_>,
    present: &[String],
    cache: &mut [DynValue],
    first: bool,
) -> Result<(), SttError> {
    for (n, name) in present.iter().enumerate() {
        if first || n % CACHE_PARTS.len() < GROWING_PARTS {
            cache[n] = outputs
                .remove(name)
                .ok_or_else(|| decode_error(format!("the decoder gave no {name}")))?;
        }
    }
    Ok(())
}
