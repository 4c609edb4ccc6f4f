//! Prometheus metrics: `GET /metrics` in the Prometheus text format, to
//! `Authorization: Bearer <TESSERA_METRICS_TOKEN>` (not served without the setting), and
//! `GET /readyz`: the database answers and its migrations are all applied.
//!
//! Requests are counted and timed per route by [`track`]; checks per reason code, engine
//! time, usage, snapshot reloads, sign-in failures and committed events where they
//! happen, through the `metrics` facade; the database pool is read at each scrape.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use sha2::{Digest, Sha256};

use app::ssr::AppState;

/// Histogram buckets, in seconds: 50 µs to 10 s.
const BUCKETS: &[f64] = &[0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The process's recorder, installed at its first use.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new();
        let recorder = match builder.set_buckets(BUCKETS) {
            Ok(b) => b.build_recorder(),
            Err(_) => PrometheusBuilder::new().build_recorder(),
        };
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder was installed first; /metrics shows only what reaches this one");
        }
        handle
    })
}

/// Counts and times every request by method, route pattern (never the path, so that ids
/// make no series of their own) and status.
pub async fn track(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(req).await;
    let seconds = started.elapsed().as_secs_f64();
    let status = response.status().as_u16().to_string();
    metrics::histogram!("tessera_http_request_duration_seconds", "method" => method.clone(), "route" => route.clone()).record(seconds);
    metrics::counter!("tessera_http_requests_total", "method" => method, "route" => route, "status" => status).increment(1);
    response
}

/// What `/metrics` needs: the token it asks for (as its digest) and the state whose pool
/// it reads.
#[derive(Clone)]
pub struct Scrape {
    token: [u8; 32],
    state: AppState,
}

impl Scrape {
    pub fn new(token: &str, state: AppState) -> Scrape {
        handle();
        Scrape { token: Sha256::digest(token.as_bytes()).into(), state }
    }
}

/// `GET /metrics`: 401 without the token; the text format otherwise.
pub async fn scrape(State(scrape): State<Scrape>, headers: HeaderMap) -> Response {
    let sent = crate::api::bearer(&headers).map(|t| Sha256::digest(t.as_bytes()));
    // Digests are compared, so that the time taken says nothing of the token.
    if sent.map(<[u8; 32]>::from) != Some(scrape.token) {
        let mut refused = (StatusCode::UNAUTHORIZED, "Send the metrics token as `Authorization: Bearer <token>`.\n").into_response();
        refused.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return refused;
    }
    let (size, idle) = scrape.state.store.pool_state();
    metrics::gauge!("tessera_db_pool_connections", "state" => "idle").set(idle as f64);
    metrics::gauge!("tessera_db_pool_connections", "state" => "in_use").set(size.saturating_sub(idle as u32) as f64);
    let handle = handle();
    handle.run_upkeep();
    let mut response = handle.render().into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    response
}

/// `GET /readyz`: 200 `{"status": "ready"}` when the database answers and every
/// migration of this build is applied; 503 with the reason otherwise.
pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.pending_migrations().await {
        Ok(0) => Json(serde_json::json!({"status": "ready"})).into_response(),
        Ok(n) => not_ready(format!("{n} migration(s) of this build are not applied to the database")),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: the database did not answer");
            not_ready("the database does not answer".to_owned())
        }
    }
}

fn not_ready(reason: String) -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({"status": "not_ready", "reason": reason}))).into_response()
}
