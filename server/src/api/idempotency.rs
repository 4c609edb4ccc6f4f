//! `Idempotency-Key` on the provisioning API's changes: the same key (per API key, kept a
//! day) with the same method, path and body replays the first response; with another
//! request it is 422 `idempotency_key_reused`; while the first is still being answered,
//! 409 `idempotency_key_in_use`. Every answer is kept, a server error too (the change may
//! have been made before it failed), except 429: a call refused before it ran is
//! forgotten, so that its retry is made. The call and the keeping of its answer run to
//! the end even when the client goes away.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::{ApiError, BODY_LIMIT};
use app::ssr::AppState;
use app::store::provisioning::idempotency::{Claim, StoredResponse};

/// The header.
pub const HEADER: &str = "idempotency-key";
/// Set on a replayed response.
pub const REPLAYED: &str = "idempotent-replayed";
/// The headers a replay carries again.
const KEPT_HEADERS: [&str; 3] = ["content-type", "etag", "location"];

/// The middleware: does nothing for reads, for calls without the header, or for a
/// credential that is not a vendor API key (the handler refuses those).
pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let Some(key) = req.headers().get(HEADER) else { return next.run(req).await };
    // Without a valid key the handler answers 401 (or 403) before anything is kept.
    let Some(api_key) = vendor_key(&state, req.headers()) else { return next.run(req).await };
    let visible = |k: &&[u8]| (1..=255).contains(&k.len()) && k.iter().all(|b| (b'!'..=b'~').contains(b));
    let Some(key) = Some(key.as_bytes()).filter(visible).and_then(|k| std::str::from_utf8(k).ok()) else {
        return ApiError::bad_request("`Idempotency-Key` must be 1 to 255 visible ASCII characters.").into_response();
    };
    let key = key.to_owned();
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("The body is larger than the {} MiB this API accepts.", BODY_LIMIT >> 20),
            )
            .into_response()
        }
    };
    let mut hash = Sha256::new();
    // The request as the key stands for it: method, address, the version it expects, body.
    let if_match = parts.headers.get(axum::http::header::IF_MATCH).map_or(&b""[..], |v| v.as_bytes());
    for part in [parts.method.as_str().as_bytes(), parts.uri.path().as_bytes(), parts.uri.query().unwrap_or("").as_bytes(), if_match, &body]
    {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    let fingerprint = app::engine::licensing::hex(&hash.finalize());
    let now = app::store::now();
    let claim = match state.store.claim_idempotency_key(api_key, &key, &fingerprint, now).await {
        Err(e) => return ApiError::internal(e).into_response(),
        Ok(Claim::Reused) => {
            return ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "This Idempotency-Key was used for another request in the last 24 hours; use a new key for a new request.",
            )
            .into_response()
        }
        Ok(Claim::InFlight) => {
            let mut e = ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_key_in_use",
                "A request with this Idempotency-Key is still being answered; retry shortly for its response.",
            );
            e.retry_after = Some(1);
            return e.into_response();
        }
        Ok(Claim::Replay(stored)) => return replay(stored),
        Ok(Claim::Fresh(claim)) => claim,
    };
    let request = Request::from_parts(parts, Body::from(body));
    // Spawned, so that a client going away mid-call cancels neither the change nor the
    // keeping of its answer.
    let run = tokio::spawn(async move {
        let response = next.run(request).await;
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            if let Err(e) = state.store.release_idempotency_key(api_key, &key, claim).await {
                tracing::warn!(error = %e, "forgetting an idempotency key failed");
            }
            return response;
        }
        let (parts, body) = response.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
            return ApiError::internal("reading a response to keep it").into_response();
        };
        let stored = StoredResponse {
            status: status.as_u16(),
            headers: KEPT_HEADERS
                .iter()
                .filter_map(|name| parts.headers.get(*name).and_then(|v| v.to_str().ok()).map(|v| ((*name).to_owned(), v.to_owned())))
                .collect(),
            body: String::from_utf8_lossy(&bytes).into_owned(),
        };
        if let Err(e) = state.store.answer_idempotency_key(api_key, &key, claim, &stored).await {
            tracing::warn!(error = %e, "keeping an idempotent response failed");
        }
        Response::from_parts(parts, Body::from(bytes))
    });
    run.await.unwrap_or_else(|e| ApiError::internal(format!("an idempotent call failed: {e}")).into_response())
}

/// The vendor API key in `Authorization`, if it is one that is valid.
fn vendor_key(state: &AppState, headers: &HeaderMap) -> Option<i64> {
    state.enforcer.api_key(super::bearer(headers)?).map(|k| k.id)
}

fn replay(stored: StoredResponse) -> Response {
    let mut response = Response::new(Body::from(stored.body));
    *response.status_mut() = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    for (name, value) in stored.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            response.headers_mut().insert(name, value);
        }
    }
    response.headers_mut().insert(REPLAYED, HeaderValue::from_static("true"));
    response
}
