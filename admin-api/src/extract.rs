//! Request extractors that answer in the API's error format and name the field at fault:
//! [`ApiJson`] (a JSON body), [`ApiQuery`] (the query string) and [`ApiPath`] (path
//! parameters), plus [`from_value`] for parsing part of a body already read as JSON.
//!
//! JSON is parsed through `serde_path_to_error`, so a type error deep in a body is reported as
//! `brain.rules[0].say: invalid type: …` with `field` set to that path; missing and unknown
//! fields are named too.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON request body.
#[derive(Debug)]
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<ApiJson<T>, ApiError> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                let mime = v.split(';').next().unwrap_or("").trim();
                mime.eq_ignore_ascii_case("application/json") || mime.ends_with("+json")
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::unsupported_media_type(
                "send the body as JSON with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::invalid("", e.body_text()))?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parses a whole JSON document, naming the field of any error.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| named(e, ""))?;
    de.end()
        .map_err(|e| ApiError::invalid("", format!("body is not valid JSON: {e}")))?;
    Ok(value)
}

/// Parses a JSON value already read, naming fields relative to `base` (e.g. `"brain"`).
pub(crate) fn from_value<T: DeserializeOwned>(
    value: serde_json::Value,
    base: &str,
) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| named(e, base))
}

/// Turns a located serde error into a 400 naming the field.
fn named(err: serde_path_to_error::Error<serde_json::Error>, base: &str) -> ApiError {
    let path = err.path().to_string();
    let inner = err.into_inner();
    if inner.is_syntax() || inner.is_eof() {
        return ApiError::invalid("", format!("body is not valid JSON: {inner}"));
    }
    let message = strip_position(&inner.to_string());
    let mut field = join(base, if path == "." { "" } else { &path });
    // The path of a missing field stops at its parent (an unknown field's path names it).
    if let Some(named) = backticked(&message)
        && message.starts_with("missing field")
    {
        field = join(&field, &named);
    }
    ApiError::invalid(field, message)
}

/// `a.b`, or whichever is not empty.
fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("{a}.{b}"),
    }
}

/// Drops serde_json's ` at line 1 column 7` suffix.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// The first `` `name` `` in a serde message.
fn backticked(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(message[start..start + len].to_string())
}

/// A query string.
#[derive(Debug)]
pub(crate) struct ApiQuery<T>(pub(crate) T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<ApiQuery<T>, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => {
                let text = rejection.body_text();
                let detail = text
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&text);
                let field = match detail.split_once(": ") {
                    Some((field, _)) if !field.contains(' ') => field.to_string(),
                    _ => String::new(),
                };
                let message = match detail.split_once(": ") {
                    Some((_, rest)) if !field.is_empty() => rest.to_string(),
                    _ => detail.to_string(),
                };
                Err(ApiError::invalid(field, message))
            }
        }
    }
}

/// Path parameters.
#[derive(Debug)]
pub(crate) struct ApiPath<T>(pub(crate) T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<ApiPath<T>, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| ApiPath(value))
            .map_err(|e| ApiError::invalid("path", e.body_text()))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        say: String,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        name: String,
        amount_micros: i64,
        rules: Vec<Inner>,
    }

    fn field_of(body: &str) -> (Option<String>, String) {
        let err = parse_json::<Outer>(body.as_bytes()).expect_err("must fail");
        (err.field, err.message)
    }

    #[test]
    fn errors_name_the_field() {
        let (field, message) = field_of(r#"{"name":"a","amount_micros":"x","rules":[]}"#);
        assert_eq!(field.as_deref(), Some("amount_micros"));
        assert!(
            message.starts_with("amount_micros: invalid type"),
            "{message}"
        );
        assert!(!message.contains("line"), "{message}");
        let (field, _) = field_of(r#"{"name":"a","amount_micros":1,"rules":[{"say":1}]}"#);
        assert_eq!(field.as_deref(), Some("rules[0].say"));
        let (field, message) = field_of(r#"{"amount_micros":1,"rules":[]}"#);
        assert_eq!(field.as_deref(), Some("name"));
        assert!(message.contains("missing field `name`"), "{message}");
        let (field, _) = field_of(r#"{"name":"a","amount_micros":1,"rules":[],"colour":1}"#);
        assert_eq!(field.as_deref(), Some("colour"));
        let (field, message) = field_of("{not json");
        assert_eq!(field, None);
        assert!(message.contains("not valid JSON"), "{message}");
    }

    #[test]
    fn values_are_named_under_their_base() {
        let err =
            from_value::<Inner>(serde_json::json!({"say": 5}), "brain").expect_err("must fail");
        assert_eq!(err.field.as_deref(), Some("brain.say"));
    }
}
