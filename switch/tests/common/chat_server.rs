//! A local server speaking the OpenAI chat-completions wire format (SSE streaming), for the
//! tests of language-model agents: each request body is kept, and `answer` turns it into the
//! streamed chunks of the reply.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::response::IntoResponse;
use axum::routing::post;
use serde_json::{Value, json};

/// Every request body the server got, in order.
pub type Requests = Arc<Mutex<Vec<Value>>>;

/// One SSE chunk of a streamed chat completion: `delta`, and the finish reason if it is the
/// last.
pub fn sse_chunk(delta: Value, finish: Option<&str>) -> String {
    let choice = json!({"index": 0, "delta": delta, "finish_reason": finish});
    format!("data: {}\n\n", json!({"choices": [choice]}))
}

/// Serves `/v1/chat/completions` on loopback, answering each request with the chunks
/// `answer` makes of it (then `[DONE]`); its base URL, and the requests it gets.
pub async fn chat_server<F>(answer: F) -> (String, Requests)
where
    F: Fn(&Value) -> String + Clone + Send + Sync + 'static,
{
    let seen: Requests = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        post(move |Json(body): Json<Value>| {
            let (log, answer) = (log.clone(), answer.clone());
            async move {
                let chunks = answer(&body);
                log.lock().unwrap().push(body);
                let body = chunks + "data: [DONE]\n\n";
                ([("content-type", "text/event-stream")], body).into_response()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}
