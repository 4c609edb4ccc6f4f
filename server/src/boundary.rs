//! The browser boundary: a request that would change something and comes from another
//! site is refused before it reaches a handler, and every page and file carries the
//! headers that keep it from being framed, sniffed or scripted by anyone else.
//!
//! Cross-site requests are told apart as browsers tell them: `Sec-Fetch-Site` when the
//! browser sends it, else `Origin`. A request with neither comes from no browser (curl, a
//! script) and carries no one's cookie by accident, so it is let through as it is.

use std::net::SocketAddr;

use app::ssr::auth::ClientAddress;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// This deployment's own origin and whether it is served over https.
#[derive(Debug, Clone)]
pub struct Boundary {
    /// `scheme://host[:port]` of the public URL.
    origin: String,
    https: bool,
    /// Take the client's address from `X-Forwarded-For` (set by a proxy the deployment trusts).
    forwarded: bool,
}

/// The nonce of this response's Content-Security-Policy: the page's own scripts carry it.
#[derive(Debug, Clone)]
pub struct CspNonce(pub String);

impl Boundary {
    /// The boundary of a deployment reached at `public_url`, behind a trusted proxy when
    /// `forwarded`.
    pub fn new(public_url: &str, forwarded: bool) -> Boundary {
        let https = public_url.starts_with("https://");
        let rest = public_url.split_once("://").map_or(public_url, |(_, rest)| rest);
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let scheme = if https { "https" } else { "http" };
        Boundary { origin: format!("{scheme}://{}", host.to_ascii_lowercase()), https, forwarded }
    }

    /// Whether a request with `method` and `headers` comes from this site (or from no
    /// browser at all). Safe methods always pass: they change nothing.
    pub fn same_site(&self, method: &Method, headers: &HeaderMap) -> bool {
        if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
            return true;
        }
        if let Some(site) = headers.get("sec-fetch-site") {
            // `none`: the user's own doing (typed, bookmarked), never another site's.
            return matches!(site.as_bytes(), b"same-origin" | b"none");
        }
        let Some(origin) = headers.get(header::ORIGIN) else {
            return true;
        };
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        let origin = origin.trim_end_matches('/').to_ascii_lowercase();
        if origin == self.origin {
            return true;
        }
        // Reached under another name than the public URL's (a test's port, a proxy that
        // keeps Host): the browser's Origin then names the Host it sent the request to.
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_ascii_lowercase);
        match (origin.split_once("://"), host) {
            (Some(("http" | "https", origin_host)), Some(host)) => origin_host == host,
            _ => false,
        }
    }

    /// The client's address: the last hop of `X-Forwarded-For` behind a trusted proxy,
    /// else the connection's peer; empty when neither is known.
    pub fn client_address(&self, req: &Request) -> String {
        if self.forwarded {
            let last = req.headers().get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).last();
            if let Some(ip) = last.map(str::trim).and_then(|a| a.parse::<std::net::IpAddr>().ok()) {
                return ip.to_string();
            }
        }
        req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string()).unwrap_or_default()
    }

    /// The Content-Security-Policy of a page whose own scripts carry `nonce`.
    pub fn content_security_policy(&self, nonce: &str) -> String {
        format!(
            "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; \
             font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        )
    }
}

/// Refuses a state-changing request from another site with 403, and gives every response
/// its security headers (a page also its CSP, with a nonce fresh for the request).
pub async fn guard(State(boundary): State<Boundary>, mut req: Request, next: Next) -> Response {
    if !boundary.same_site(req.method(), req.headers()) {
        tracing::info!(method = %req.method(), path = %req.uri().path(), "cross-site request refused");
        return cross_site_refusal(req.headers());
    }
    let nonce = CspNonce(nonce());
    let address = ClientAddress(boundary.client_address(&req));
    req.extensions_mut().insert(nonce.clone());
    req.extensions_mut().insert(address);
    let mut res = next.run(req).await;
    let is_page = res.headers().get(header::CONTENT_TYPE).is_some_and(|t| t.as_bytes().starts_with(b"text/html"));
    let headers = res.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    if boundary.https {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    if is_page {
        if let Ok(csp) = HeaderValue::from_str(&boundary.content_security_policy(&nonce.0)) {
            headers.insert(header::CONTENT_SECURITY_POLICY, csp);
        }
        // Pages are made for the one who asked (and hold their data): never kept.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// 403 with a message that says what happened: a page's words for a browser that asked
/// for a page (a form posted from elsewhere), else a JSON problem.
fn cross_site_refusal(headers: &HeaderMap) -> Response {
    const MESSAGE: &str = "Refused: this request came from another site. Changes can only be made from Tessera's own pages.";
    let wants_page = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"));
    let mut res = if wants_page {
        (StatusCode::FORBIDDEN, MESSAGE).into_response()
    } else {
        (StatusCode::FORBIDDEN, axum::Json(serde_json::json!({"code": "cross_site", "message": MESSAGE}))).into_response()
    };
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// 128 random bits, base64url.
fn nonce() -> String {
    use base64::Engine as _;
    use rand::RngCore as _;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Hands the request's nonce to the page being rendered, so that Leptos's own scripts
/// carry the one the CSP names. Called in the render's context.
pub fn provide_nonce() {
    use leptos::prelude::{provide_context, use_context};
    if let Some(nonce) = use_context::<axum::http::request::Parts>().and_then(|parts| parts.extensions.get::<CspNonce>().cloned()) {
        provide_context(leptos::nonce::Nonce::from_value(nonce.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn only_writes_from_another_site_are_refused() {
        let b = Boundary::new("https://licences.example.com/", false);
        let post = Method::POST;
        assert!(b.same_site(&Method::GET, &headers(&[("sec-fetch-site", "cross-site")])));
        assert!(b.same_site(&post, &headers(&[("sec-fetch-site", "same-origin")])));
        assert!(!b.same_site(&post, &headers(&[("sec-fetch-site", "cross-site")])));
        assert!(!b.same_site(&post, &headers(&[("sec-fetch-site", "same-site")])));
        assert!(b.same_site(&post, &headers(&[("origin", "https://licences.example.com")])));
        assert!(!b.same_site(&post, &headers(&[("origin", "https://evil.example")])));
        assert!(!b.same_site(&post, &headers(&[("origin", "null")])));
        assert!(!b.same_site(&post, &headers(&[("origin", "https://licences.example.com.evil.example")])));
        assert!(b.same_site(&post, &headers(&[("origin", "http://127.0.0.1:4000"), ("host", "127.0.0.1:4000")])));
        assert!(!b.same_site(&post, &headers(&[("origin", "http://127.0.0.1:4001"), ("host", "127.0.0.1:4000")])));
        assert!(b.same_site(&post, &headers(&[])), "no browser, no ambient cookie");
    }
}
