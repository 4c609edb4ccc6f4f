//! Request tracing: every request gets an id (the caller's `X-Request-Id` when it is a
//! sane one, else a new UUID), echoed in the response, and one span named for its matched
//! route that every log line of the request carries.

use axum::body::Body;
use axum::extract::MatchedPath;
use axum::http::{HeaderName, HeaderValue, Request};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::{DefaultOnRequest, DefaultOnResponse, MakeSpan, TraceLayer};
use tracing::Level;

/// The header that carries a request's id, both ways.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest request id taken from a caller.
const MAX_ID_LEN: usize = 64;

/// A request's id, as put into the request's extensions by [`request_id`].
#[derive(Debug, Clone)]
pub struct RequestId(pub HeaderValue);

/// Gives the request its id and echoes it in the response. An id sent by the caller (a
/// proxy or a client correlating its own logs) is kept when it is short and made of
/// letters, digits, `-`, `_`, `.` and `:`; anything else is replaced, so that log lines
/// cannot be forged through it.
pub async fn request_id(mut req: Request<Body>, next: Next) -> Response {
    let id = req.headers().get(&REQUEST_ID).filter(|v| is_sane(v.as_bytes())).cloned().unwrap_or_else(new_id);
    req.headers_mut().insert(REQUEST_ID.clone(), id.clone());
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(req).await;
    response.headers_mut().insert(REQUEST_ID.clone(), id);
    response
}

fn is_sane(id: &[u8]) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_LEN && id.iter().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
}

fn new_id() -> HeaderValue {
    let id = uuid::Uuid::new_v4().hyphenated().to_string();
    // A hyphenated UUID is always a valid header value.
    HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}

/// The span of one request: method, matched route (the route's pattern, not the path, so
/// that ids in paths do not make every request its own kind) and request id.
#[derive(Debug, Clone, Copy)]
pub struct RequestSpan;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, req: &Request<B>) -> tracing::Span {
        let route = req.extensions().get::<MatchedPath>().map(MatchedPath::as_str).unwrap_or("-");
        let id = req.extensions().get::<RequestId>().and_then(|id| id.0.to_str().ok()).unwrap_or("-");
        tracing::info_span!("request", method = %req.method(), route = %route, request_id = %id)
    }
}

/// `router` with a request id and a traced span around every request.
pub fn traced<S: Clone + Send + Sync + 'static>(router: axum::Router<S>) -> axum::Router<S> {
    router.layer(layer()).layer(axum::middleware::from_fn(request_id))
}

/// The tracing layer: a [`RequestSpan`] per request, a line when it starts (debug) and
/// one when it ends (info, with status and latency).
pub fn layer() -> TraceLayer<SharedClassifier<ServerErrorsAsFailures>, RequestSpan, DefaultOnRequest, DefaultOnResponse> {
    TraceLayer::new_for_http()
        .make_span_with(RequestSpan)
        .on_request(DefaultOnRequest::new().level(Level::DEBUG))
        .on_response(DefaultOnResponse::new().level(Level::INFO))
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::routing::post;
    use tower::ServiceExt;

    use super::*;

    /// Log output kept in memory.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Captured {
            self.clone()
        }
    }

    async fn handler(axum::extract::Path(id): axum::extract::Path<String>) -> &'static str {
        tracing::info!(thing = %id, "handling a thing");
        tokio::task::yield_now().await;
        tracing::warn!("still handling it");
        "done"
    }

    async fn send(router: &axum::Router, id: Option<&str>) -> Response {
        let mut req = Request::post("/things/42").body(Body::empty()).unwrap_or_default();
        if let Some(id) = id {
            req.headers_mut().insert(REQUEST_ID.clone(), HeaderValue::from_str(id).unwrap_or(HeaderValue::from_static("bad")));
        }
        router.clone().oneshot(req).await.unwrap_or_else(|e| match e {})
    }

    #[tokio::test(flavor = "current_thread")]
    async fn every_log_line_of_a_request_carries_its_id_and_route_and_the_id_is_echoed() {
        let logs = Captured::default();
        let subscriber = tracing_subscriber::fmt().with_writer(logs.clone()).with_ansi(false).with_max_level(Level::DEBUG).finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let router = traced(axum::Router::new().route("/things/{id}", post(handler)));

        let response = send(&router, None).await;
        let id = response.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "a new request gets a UUID, got {id:?}");
        let kept = send(&router, Some("edge-7:abc")).await;
        assert_eq!(kept.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()), Some("edge-7:abc"));
        let replaced = send(&router, Some("x\" y=\"1")).await;
        assert_ne!(replaced.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()), Some("x\" y=\"1"));

        let text = String::from_utf8(logs.0.lock().map(|l| l.clone()).unwrap_or_default()).unwrap_or_default();
        let handled: Vec<&str> = text.lines().filter(|l| l.contains("handling")).collect();
        assert_eq!(handled.len(), 6, "two lines per request:\n{text}");
        for line in &handled[..2] {
            assert!(line.contains(&format!("request_id={id}")), "{line}");
            assert!(line.contains("route=/things/{id}"), "the route's pattern, not the path: {line}");
        }
        assert!(handled[2].contains("request_id=edge-7:abc"), "{}", handled[2]);
        let finished: Vec<&str> = text.lines().filter(|l| l.contains("finished processing request")).collect();
        assert_eq!(finished.len(), 3, "{text}");
        assert!(finished[0].contains("status=200") && finished[0].contains(&id), "{}", finished[0]);
    }

    #[test]
    fn a_callers_id_is_kept_only_when_it_is_short_and_plain() {
        assert!(is_sane(b"7f1c2a0e-3b9d-4c51-9a11-0d5e2b7c9f10"));
        assert!(is_sane(b"lb:edge-1.req_42"));
        assert!(!is_sane(b""));
        assert!(!is_sane(b"a b"));
        assert!(!is_sane(b"id\" forged=\"1"));
        assert!(!is_sane(&[b'a'; MAX_ID_LEN + 1]));
    }

    #[test]
    fn a_new_id_is_a_uuid() {
        let id = new_id();
        let text = id.to_str().unwrap_or_default();
        assert!(uuid::Uuid::parse_str(text).is_ok(), "{text}");
    }
}
