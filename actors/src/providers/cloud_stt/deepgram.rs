//! `DeepgramStt`: Deepgram's live transcription over a WebSocket
//! (`{base}/v1/listen?encoding=linear16&sample_rate=8000&channels=1&interim_results=true&…`,
//! `Authorization: Token <key>`), one socket per call.
//!
//! Opening the socket is retried with backoff under the circuit breaker; when it cannot be
//! opened the fallback provider (if any) serves the call instead. The session itself lives in
//! `deepgram_session`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::net::TcpStream;
use tokio::time::timeout_at;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tracing::warn;

use super::deepgram_session;
use super::deepgram_wire::query_value;
use crate::providers::resilience::http::{api_key, check_base_url, error_text, install_crypto};
use crate::providers::resilience::{
    AttemptError, BreakerState, Guard, GuardError, ProviderStats, Resilience, retryable_status,
};
use crate::providers::stt::{SttError, SttOptions, SttProvider, SttSession};

pub(crate) const NAME: &str = "deepgram";

/// A connected Deepgram socket.
pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Settings of a [`DeepgramStt`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeepgramConfig {
    /// Server root, normally `wss://api.deepgram.com` (`ws://` for local servers).
    pub base_url: String,
    /// Environment variable holding the API key (sent as `Authorization: Token <key>`).
    pub api_key_env: Option<String>,
    /// Model, e.g. `nova-3` (keywords are sent as `keyterm`) or `nova-2-phonecall` (as
    /// `keywords`).
    pub model: String,
    /// Deepgram's endpointing (silence, in ms, that finalizes a segment); `None` turns it off.
    pub endpointing_ms: Option<u32>,
    /// Longest WebSocket handshake, per attempt.
    pub timeout_connect: Duration,
    /// Longest time to open a session, retries included.
    pub timeout_start: Duration,
    /// Longest wait for the final text after `Finalize`; then the utterance ends with what was
    /// heard so far.
    pub finalize_timeout: Duration,
    /// A `KeepAlive` goes out when nothing was sent for this long (Deepgram closes an idle
    /// socket after about 10 s).
    pub keepalive_interval: Duration,
    /// Frames queued for the socket at most; more are dropped and counted.
    pub max_queued_frames: usize,
    /// Retries and circuit breaker for opening sockets.
    pub resilience: Resilience,
}

impl DeepgramConfig {
    /// Settings for `model` at `base_url`: 300 ms endpointing, 3 s handshake, 8 s to start,
    /// 2 s finalize limit, keep-alive every 4 s, 5 s of queued audio at most.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            api_key_env: None,
            model: model.into(),
            endpointing_ms: Some(300),
            timeout_connect: Duration::from_secs(3),
            timeout_start: Duration::from_secs(8),
            finalize_timeout: Duration::from_secs(2),
            keepalive_interval: Duration::from_secs(4),
            max_queued_frames: 250,
            resilience: Resilience::default(),
        }
    }

    /// The listen URL for a session with `options`.
    fn listen_url(&self, options: &SttOptions) -> String {
        let mut url = format!(
            "{}/v1/listen?model={}&encoding=linear16&sample_rate=8000&channels=1&interim_results=true&endpointing={}",
            self.base_url.trim_end_matches('/'),
            query_value(&self.model),
            self.endpointing_ms
                .map_or("false".to_owned(), |ms| ms.to_string()),
        );
        if !options.language.is_empty() {
            url.push_str(&format!("&language={}", query_value(&options.language)));
        }
        let param = if self.model.starts_with("nova-3") {
            "keyterm"
        } else {
            "keywords"
        };
        for keyword in &options.keywords {
            url.push_str(&format!("&{param}={}", query_value(keyword)));
        }
        url
    }
}

/// The provider's parts shared with its sessions (which reconnect through them).
pub(crate) struct Deepgram {
    pub(crate) config: DeepgramConfig,
    pub(crate) guard: Guard,
}

/// Deepgram streaming recognition. Cheap to share between calls.
pub struct DeepgramStt {
    shared: Arc<Deepgram>,
    fallback: Option<Arc<dyn SttProvider>>,
}

impl std::fmt::Debug for DeepgramStt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeepgramStt")
            .field("base_url", &self.shared.config.base_url)
            .field("model", &self.shared.config.model)
            .finish_non_exhaustive()
    }
}

impl DeepgramStt {
    /// A provider with these settings; [`SttError::InvalidConfig`] for a bad URL or limits.
    pub fn new(config: DeepgramConfig) -> Result<Self, SttError> {
        check_base_url(&config.base_url, &["ws", "wss"]).map_err(SttError::InvalidConfig)?;
        let durations = [
            config.timeout_connect,
            config.timeout_start,
            config.finalize_timeout,
            config.keepalive_interval,
        ];
        if durations.iter().any(Duration::is_zero) || config.max_queued_frames == 0 {
            return Err(SttError::InvalidConfig(
                "timeouts, keep-alive interval and queue size must be above zero".into(),
            ));
        }
        install_crypto();
        Ok(Self {
            shared: Arc::new(Deepgram {
                guard: Guard::new(config.resilience),
                config,
            }),
            fallback: None,
        })
    }

    /// Serves calls with `fallback` when no Deepgram session can be opened.
    pub fn with_fallback(mut self, fallback: Arc<dyn SttProvider>) -> Self {
        self.fallback = Some(fallback);
        self
    }

    /// Usage (audio sent) and health counters since the provider was built.
    pub fn stats(&self) -> ProviderStats {
        self.shared.guard.stats()
    }

    /// Where the circuit breaker stands.
    pub fn breaker_state(&self) -> BreakerState {
        self.shared.guard.breaker_state()
    }
}

#[async_trait]
impl SttProvider for DeepgramStt {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn start(&self, options: SttOptions) -> Result<Box<dyn SttSession>, SttError> {
        let url = self.shared.config.listen_url(&options);
        match self.shared.connect(&url).await {
            Ok(socket) => Ok(Box::new(deepgram_session::spawn(
                self.shared.clone(),
                url,
                socket,
            ))),
            Err(error) => match &self.fallback {
                Some(fallback) => {
                    warn!(%error, fallback = fallback.name(), "no Deepgram session; using the fallback");
                    self.shared.guard.count(|c| &c.fallbacks, 1);
                    fallback.start(options).await
                }
                None => Err(error),
            },
        }
    }
}

impl Deepgram {
    /// Opens a socket to `url`, with retries, under the circuit breaker.
    pub(crate) async fn connect(&self, url: &str) -> Result<Socket, SttError> {
        let deadline = Instant::now() + self.config.timeout_start;
        let ms = self.config.timeout_start.as_millis();
        let timeout = || SttError::Unavailable(format!("{NAME}: no connection within {ms} ms"));
        match self
            .guard
            .run(deadline, timeout, |_| self.connect_once(url))
            .await
        {
            Ok(socket) => Ok(socket),
            Err(GuardError::Open(open)) => Err(SttError::Unavailable(format!("{NAME}: {open}"))),
            Err(GuardError::Failed(e)) => Err(e),
        }
    }

    async fn connect_once(&self, url: &str) -> Result<Socket, AttemptError<SttError>> {
        let unavailable = |m: String| SttError::Unavailable(format!("{NAME}: {m}"));
        let key = api_key(self.config.api_key_env.as_deref())
            .map_err(|e| AttemptError::permanent(unavailable(e)))?;
        let mut request = url.into_client_request().map_err(|e| {
            AttemptError::permanent(SttError::InvalidConfig(format!("{NAME} URL: {e}")))
        })?;
        if let Some(key) = key {
            let value = HeaderValue::from_str(&format!("Token {key}")).map_err(|_| {
                AttemptError::permanent(unavailable(
                    "the API key is not a valid header value".into(),
                ))
            })?;
            request.headers_mut().insert("authorization", value);
        }
        let by = Instant::now() + self.config.timeout_connect;
        let ms = self.config.timeout_connect.as_millis();
        match timeout_at(by.into(), tokio_tungstenite::connect_async(request)).await {
            Err(_) => Err(AttemptError::timeout(
                unavailable(format!("no handshake within {ms} ms")),
                true,
            )),
            Ok(Ok((socket, _))) => Ok(socket),
            Ok(Err(WsError::Http(response))) => {
                let status = response.status().as_u16();
                let body = response.body().as_deref().unwrap_or_default();
                let error = unavailable(error_text(status, body));
                Err(if retryable_status(status) {
                    AttemptError::transient(error)
                } else {
                    AttemptError::permanent(error)
                })
            }
            Ok(Err(WsError::Url(e))) => Err(AttemptError::permanent(SttError::InvalidConfig(
                format!("{NAME} URL: {e}"),
            ))),
            Ok(Err(e)) => Err(AttemptError::transient(unavailable(format!(
                "connection failed: {e}"
            )))),
        }
    }
}
