//! The offline speech recognizer agents with `"stt": {"provider": "local"}` use, chosen by
//! `[stt] engine`: Moonshine (preferred: open vocabulary, rule words found by sound, with
//! pocketsphinx's keyword search as its second opinion) or pocketsphinx alone (keyword
//! grammars). `auto` takes Moonshine when it is installed and says so when
//! it falls back.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actors::providers::stt::{
    MoonshineConfig, MoonshineStt, PocketSphinxConfig, PocketSphinxStt, SttError, SttProvider,
};
use anyhow::Context;
use config::{SttConfig, SttEngine};
use tracing::{info, warn};

/// Starts the configured offline recognizer.
pub fn start_offline_stt(config: &SttConfig) -> anyhow::Result<Arc<dyn SttProvider>> {
    let moonshine = || {
        let stt = MoonshineStt::start(&MoonshineConfig {
            dir: PathBuf::from(&config.moonshine_dir),
            workers: config.moonshine_workers as usize,
            max_wait: Duration::from_millis(u64::from(config.moonshine_max_wait_ms)),
            ..MoonshineConfig::default()
        })?;
        // pocketsphinx's keyword search is Moonshine's second opinion for scripted agents: one
        // decoder, finals only (partials would take CPU from Moonshine while the caller talks).
        let keywords = PocketSphinxConfig {
            decoders: 1,
            partial_interval: Duration::from_secs(3_600),
            ..PocketSphinxConfig::default()
        };
        Ok::<_, SttError>(match PocketSphinxStt::start(keywords) {
            Ok(keywords) => stt.with_second_opinion(keywords),
            Err(why) => {
                warn!(%why, "moonshine runs without pocketsphinx's second opinion");
                stt
            }
        })
    };
    let pocketsphinx = || -> anyhow::Result<Arc<dyn SttProvider>> {
        let stt = PocketSphinxStt::start(PocketSphinxConfig::default())
            .context("starting offline speech-to-text (pocketsphinx)")?;
        info!("offline speech-to-text: pocketsphinx");
        Ok(Arc::new(stt))
    };
    match config.engine {
        SttEngine::Pocketsphinx => pocketsphinx(),
        SttEngine::Moonshine => {
            let stt = moonshine().with_context(|| {
                format!(
                    "starting offline speech-to-text (stt.engine = \"moonshine\", stt.moonshine_dir = {})",
                    config.moonshine_dir
                )
            })?;
            info!(
                workers = config.moonshine_workers,
                "offline speech-to-text: moonshine"
            );
            Ok(Arc::new(stt))
        }
        SttEngine::Auto => match moonshine() {
            Ok(stt) => {
                info!(
                    workers = config.moonshine_workers,
                    "offline speech-to-text: moonshine"
                );
                Ok(Arc::new(stt))
            }
            Err(SttError::Unavailable(why)) => {
                warn!(%why, "moonshine is not installed: falling back to pocketsphinx");
                pocketsphinx()
            }
            Err(other) => Err(other).context("starting offline speech-to-text (moonshine)"),
        },
    }
}
