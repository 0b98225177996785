//! HTTP plumbing shared by the cloud providers: the client (rustls on ring), API keys read from
//! the environment at request time (never stored), endpoint URLs, and readable error texts from
//! a provider's error answers.

use std::time::Duration;

/// Makes ring the process's rustls crypto provider, unless one was chosen already.
pub(crate) fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A reqwest client for one provider (rustls on ring).
pub(crate) fn client(connect_timeout: Duration) -> Result<reqwest::Client, String> {
    install_crypto();
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("voice-switch/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}

/// The API key in environment variable `env`, read now; `None` when no variable is configured
/// (a self-hosted server without authentication).
pub(crate) fn api_key(env: Option<&str>) -> Result<Option<String>, String> {
    let Some(name) = env.filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    match std::env::var(name) {
        Ok(key) if !key.trim().is_empty() => Ok(Some(key.trim().to_owned())),
        Ok(_) => Err(format!(
            "environment variable {name} (the API key) is empty"
        )),
        Err(_) => Err(format!(
            "environment variable {name} (the API key) is not set"
        )),
    }
}

/// `base` joined with `path` (which starts with `/v1/`); a base that already ends in `/v1`
/// (as OpenAI's own examples write it) does not get a second one.
pub(crate) fn endpoint(base: &str, path: &str) -> String {
    let base = base.trim_end_matches('/');
    match path.strip_prefix("/v1") {
        Some(rest) if base.ends_with("/v1") => format!("{base}{rest}"),
        _ => format!("{base}{path}"),
    }
}

/// Checks that `base` is an absolute URL with one of `schemes`.
pub(crate) fn check_base_url(base: &str, schemes: &[&str]) -> Result<(), String> {
    let ok = schemes.iter().any(|s| {
        base.strip_prefix(s)
            .and_then(|r| r.strip_prefix("://"))
            .is_some_and(|host| !host.is_empty())
    });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "base URL {base:?} must start with {}",
            schemes
                .iter()
                .map(|s| format!("{s}://"))
                .collect::<Vec<_>>()
                .join(" or ")
        ))
    }
}

/// Most characters of an error body kept in an error message.
const MAX_ERROR_CHARS: usize = 300;

/// A readable error for an HTTP error answer: the status and the provider's message (the
/// `error.message` or `detail` of a JSON body when there is one, else the start of the body).
pub(crate) fn error_text(status: u16, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let message = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            let candidates = [
                v.pointer("/error/message"),
                v.pointer("/detail/message"),
                v.get("detail"),
                v.get("error"),
                v.get("message"),
            ];
            candidates.into_iter().flatten().find_map(|m| match m {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Null => None,
                other if other.is_object() => None,
                other => Some(other.to_string()),
            })
        })
        .unwrap_or_else(|| text.trim().to_owned());
    let short: String = message.chars().take(MAX_ERROR_CHARS).collect();
    if short.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {short}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_do_not_double_v1() {
        assert_eq!(
            endpoint("http://h:1/", "/v1/chat/completions"),
            "http://h:1/v1/chat/completions"
        );
        assert_eq!(
            endpoint("https://api.openai.com/v1", "/v1/audio/speech"),
            "https://api.openai.com/v1/audio/speech"
        );
    }

    #[test]
    fn base_urls_are_checked() {
        assert!(check_base_url("http://127.0.0.1:80", &["http", "https"]).is_ok());
        assert!(check_base_url("wss://api.deepgram.com", &["ws", "wss"]).is_ok());
        assert!(check_base_url("api.openai.com", &["http", "https"]).is_err());
        assert!(check_base_url("http://", &["http"]).is_err());
    }

    #[test]
    fn error_texts_prefer_the_provider_message() {
        let body = br#"{"error":{"message":"Rate limit reached","type":"requests"}}"#;
        assert_eq!(error_text(429, body), "HTTP 429: Rate limit reached");
        let body = br#"{"detail":{"status":"invalid_api_key","message":"Invalid key"}}"#;
        assert_eq!(error_text(401, body), "HTTP 401: Invalid key");
        assert_eq!(
            error_text(502, b"  bad gateway \n"),
            "HTTP 502: bad gateway"
        );
        assert_eq!(error_text(500, b""), "HTTP 500");
    }

    #[test]
    fn missing_keys_name_the_variable() {
        assert_eq!(api_key(None), Ok(None));
        let err = api_key(Some("CLOUD_TEST_SURELY_UNSET_VAR_91823")).unwrap_err();
        assert!(err.contains("CLOUD_TEST_SURELY_UNSET_VAR_91823"));
    }
}
