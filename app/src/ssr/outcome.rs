//! The server's half of [`crate::components::outcome`]: a form posted without the page's
//! code (a browser that asks for a page back) is answered with a redirect to the page it
//! came from, its answer kept in the session for that page to show once.

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_sessions::Session;

use crate::components::outcome::FormOutcome;

/// The session's key for the answer waiting to be shown.
const KEY: &str = "form_outcome";
/// The largest form or answer kept (a form's documents are a few kilobytes).
const LIMIT: usize = 2 * 1024 * 1024;

/// The layer over pages and server functions (inside the session layer).
pub async fn keep(session: Session, req: Request, next: Next) -> Response {
    let wants_page = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"));
    let path = req.uri().path().to_owned();
    let server_fn = path.starts_with("/api/");
    if !wants_page {
        return next.run(req).await;
    }
    if req.method() == Method::GET && !server_fn && !path.starts_with("/pkg/") {
        return page(session, req, next).await;
    }
    if req.method() != Method::POST || !server_fn {
        return next.run(req).await;
    }

    let form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let (parts, body) = req.into_parts();
    let Ok(sent) = to_bytes(body, LIMIT).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "The form is too large.").into_response();
    };
    let fields: Vec<(String, String)> = if form {
        form_urlencoded::parse(&sent).filter(|(name, _)| FormOutcome::keeps(name)).map(|(n, v)| (n.into_owned(), v.into_owned())).collect()
    } else {
        Vec::new()
    };
    let response = next.run(Request::from_parts(parts, Body::from(sent))).await;
    if !response.status().is_redirection() {
        return response;
    }

    let (mut parts, body) = response.into_parts();
    let Ok(answer) = to_bytes(body, LIMIT).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let failed = parts.headers.remove("serverfnerror").is_some();
    let outcome =
        FormOutcome { path, fields: if failed { fields } else { Vec::new() }, answer: if failed { Err(answer) } else { Ok(answer) } };
    if let Err(e) = session.insert(KEY, &outcome).await {
        tracing::warn!("a form's answer could not be kept for its page: {e}");
    }
    // The error travels in the session, not in the address the browser shows.
    if let Some(to) = parts.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).map(without_error_info) {
        if let Ok(value) = HeaderValue::from_str(&to) {
            parts.headers.insert(header::LOCATION, value);
        }
    }
    parts.status = StatusCode::SEE_OTHER;
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Response::from_parts(parts, Body::empty())
}

/// A page: the answer to the form posted just before it, if any, is handed to its drawing
/// and forgotten.
async fn page(session: Session, mut req: Request, next: Next) -> Response {
    match session.remove::<FormOutcome>(KEY).await {
        Ok(Some(outcome)) => {
            req.extensions_mut().insert(outcome);
        }
        Ok(None) => {}
        Err(e) => tracing::warn!("a form's answer could not be read: {e}"),
    }
    next.run(req).await
}

/// `to` without the `__path` and `__err` pairs server functions add for a failed form (and
/// without an empty query).
fn without_error_info(to: &str) -> String {
    let Some((base, query)) = to.split_once('?') else { return to.to_owned() };
    let kept: Vec<&str> =
        query.split('&').filter(|pair| !pair.is_empty() && !pair.starts_with("__path=") && !pair.starts_with("__err=")).collect();
    if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::without_error_info;

    #[test]
    fn error_info_is_taken_out_of_the_address() {
        assert_eq!(without_error_info("http://h/seats?__path=%2Fapi%2Fx&__err=abc"), "http://h/seats");
        assert_eq!(without_error_info("http://h/i?customer=acme&__path=p&__err=e"), "http://h/i?customer=acme");
        assert_eq!(without_error_info("/a?b=1&c=2"), "/a?b=1&c=2");
        assert_eq!(without_error_info("/a"), "/a");
        assert_eq!(without_error_info("http://h/seats?"), "http://h/seats", "an empty query goes too");
    }
}
