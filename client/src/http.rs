//! The calls to the licensing server, and how its answers map to [`Error`]: no connection,
//! a timeout, a 5xx or a 429 is [`Error::Offline`]; any other 4xx is [`Error::Refused`]
//! with the problem's code and message.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use tessera_engine::ReasonCode;

use crate::state::QueuedEvent;
use crate::Error;

/// The largest answer read, in bytes.
const MAX_BODY: usize = 1024 * 1024;

/// The licensing server's API, authenticated by the license key.
pub(crate) struct Api {
    http: reqwest::Client,
    /// The server's URL without trailing slash; empty when there is none (air-gapped).
    base: String,
    bearer: String,
}

/// An active instance.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct InstanceInfo {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    #[serde(default)]
    pub customer: String,
    #[serde(default)]
    pub heartbeat_ttl: i64,
    #[serde(default)]
    pub instances_cap: i64,
}

/// A licence as the server issues it.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct IssuedLicence {
    pub licence: String,
}

/// One check, as sent.
#[derive(Debug, Serialize)]
pub(crate) struct CheckBody<'a> {
    pub feature: &'a str,
    pub user: Option<&'a str>,
    pub instance: Option<&'a str>,
    pub region: Option<&'a str>,
    pub quantity: Option<i64>,
}

/// The server's answer to a check (the fields this client uses).
#[derive(Debug, Deserialize)]
pub(crate) struct CheckAnswer {
    pub allowed: bool,
    pub code: ReasonCode,
    #[serde(default)]
    pub remaining: Option<i64>,
    /// Kept as JSON so that a warning this client does not know is skipped, not fatal.
    #[serde(default)]
    pub warnings: Vec<serde_json::Value>,
}

impl CheckAnswer {
    /// The warnings this client knows.
    pub fn warnings(&self) -> Vec<ReasonCode> {
        self.warnings.iter().filter_map(|w| serde_json::from_value(w.clone()).ok()).collect()
    }
}

/// What a usage batch came to.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub(crate) struct UsageReceipt {
    #[serde(default)]
    pub accepted: i64,
    #[serde(default)]
    pub duplicates: i64,
}

#[derive(Serialize)]
struct ActivateBody<'a> {
    fingerprint: &'a str,
    name: Option<&'a str>,
}

#[derive(Serialize)]
struct UsageBody<'a> {
    events: Vec<UsageEvent<'a>>,
}

#[derive(Serialize)]
struct UsageEvent<'a> {
    event_id: &'a str,
    feature: &'a str,
    quantity: i64,
    at: Option<String>,
}

/// A JSON problem, as the server sends it.
#[derive(Deserialize)]
struct Problem {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// An id sent as a string (`ins_…`) or as a number.
fn id_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Number(i64),
    }
    Ok(match Id::deserialize(d)? {
        Id::Text(t) => t,
        Id::Number(n) => n.to_string(),
    })
}

impl Api {
    /// A client for the server at `base` (no trailing slash; empty for none), sending
    /// `bearer` as the credential and giving up on a call after `timeout`.
    pub fn new(base: &str, bearer: String, timeout: Duration) -> Result<Api, Error> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("tessera-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Http(format!("the HTTP client cannot start: {}", chain(&e))))?;
        Ok(Api { http, base: base.to_owned(), bearer })
    }

    fn url(&self, path: &str) -> Result<String, Error> {
        if self.base.is_empty() {
            return Err(Error::Offline("no server is configured".into()));
        }
        Ok(format!("{}{path}", self.base))
    }

    fn post(&self, path: &str) -> Result<reqwest::RequestBuilder, Error> {
        Ok(self.http.post(self.url(path)?).bearer_auth(&self.bearer))
    }

    /// `GET /.well-known/jwks.json`, as text.
    pub async fn jwks(&self) -> Result<String, Error> {
        let (_, body) = self.send(self.http.get(self.url("/.well-known/jwks.json")?)).await?;
        String::from_utf8(body).map_err(|_| Error::Http("the server's JWKS is not UTF-8".into()))
    }

    /// `POST /api/v1/instances`: whether the instance is new, and the instance.
    pub async fn activate(&self, fingerprint: &str, name: Option<&str>) -> Result<(bool, InstanceInfo), Error> {
        let (status, body) = self.send(self.post("/api/v1/instances")?.json(&ActivateBody { fingerprint, name })).await?;
        Ok((status == 201, parse("the activation", &body)?))
    }

    /// `POST /api/v1/instances/{id}/heartbeat`.
    pub async fn heartbeat(&self, instance: &str) -> Result<(), Error> {
        self.send(self.post(&format!("/api/v1/instances/{}/heartbeat", segment(instance)))?).await.map(|_| ())
    }

    /// `DELETE /api/v1/instances/{id}`.
    pub async fn deactivate(&self, instance: &str) -> Result<(), Error> {
        let url = self.url(&format!("/api/v1/instances/{}", segment(instance)))?;
        self.send(self.http.delete(url).bearer_auth(&self.bearer)).await.map(|_| ())
    }

    /// `POST /api/v1/instances/{id}/licence`.
    pub async fn licence(&self, instance: &str) -> Result<IssuedLicence, Error> {
        let (_, body) = self.send(self.post(&format!("/api/v1/instances/{}/licence", segment(instance)))?).await?;
        parse("the licence request", &body)
    }

    /// `POST /api/v1/check`.
    pub async fn check(&self, check: &CheckBody<'_>) -> Result<CheckAnswer, Error> {
        let (_, body) = self.send(self.post("/api/v1/check")?.json(check)).await?;
        parse("the check", &body)
    }

    /// `POST /api/v1/usage` with `events`, their ids as queued.
    pub async fn usage(&self, events: &[QueuedEvent]) -> Result<UsageReceipt, Error> {
        let events = events
            .iter()
            .map(|e| UsageEvent {
                event_id: &e.event_id,
                feature: &e.feature,
                quantity: e.quantity,
                at: chrono::DateTime::from_timestamp(e.at, 0).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            })
            .collect();
        let (_, body) = self.send(self.post("/api/v1/usage")?.json(&UsageBody { events })).await?;
        parse("the usage report", &body)
    }

    /// Sends `request` and reads the answer: its status and body when a 2xx, else the error.
    async fn send(&self, request: reqwest::RequestBuilder) -> Result<(u16, Vec<u8>), Error> {
        let mut response = request.header(reqwest::header::ACCEPT, "application/json").send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(Error::Http(format!("the server's answer is longer than {MAX_BODY} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        match status {
            200..=299 => Ok((status, body)),
            429 | 500..=599 => Err(Error::Offline(unavailable(status, &body))),
            _ => Err(refused(status, &body)),
        }
    }
}

/// The JSON answer to `what`.
fn parse<T: DeserializeOwned>(what: &str, body: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|e| Error::Http(format!("the server's answer to {what} is not what this client understands: {e}")))
}

/// A failure to send or to read: the server is out of reach, unless the request itself
/// could not be built.
fn transport(e: reqwest::Error) -> Error {
    if e.is_builder() {
        Error::Http(format!("the request cannot be made: {}", chain(&e)))
    } else {
        Error::Offline(chain(&e))
    }
}

/// A 4xx as its problem.
fn refused(status: u16, body: &[u8]) -> Error {
    match serde_json::from_slice::<Problem>(body) {
        Ok(p) if !p.code.is_empty() => Error::Refused { status, code: p.code, message: p.message },
        _ => Error::Refused { status, code: format!("http_{status}"), message: snippet(body) },
    }
}

/// A 5xx or 429, in words.
fn unavailable(status: u16, body: &[u8]) -> String {
    match serde_json::from_slice::<Problem>(body) {
        Ok(p) if !p.code.is_empty() => format!("it answered {status} ({})", p.code),
        _ => format!("it answered {status}"),
    }
}

/// The start of a body that is not a problem, for the message.
fn snippet(body: &[u8]) -> String {
    String::from_utf8_lossy(body).chars().take(200).collect::<String>().trim().to_owned()
}

/// An error and its causes, `: `-separated (reqwest's own message leaves out the cause).
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// `id` as one URL path segment: unreserved characters as they are, the rest
/// percent-encoded.
fn segment(id: &str) -> String {
    id.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { char::from(b).to_string() } else { format!("%{b:02X}") })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_maps_to_its_code_and_anything_else_keeps_the_status() {
        let e = refused(409, br#"{"code":"instance_limit","message":"All 3 instance slots are in use."}"#);
        assert_eq!(e, Error::Refused { status: 409, code: "instance_limit".into(), message: "All 3 instance slots are in use.".into() });
        let e = refused(404, b"<html>nope</html>");
        assert!(matches!(e, Error::Refused { status: 404, ref code, .. } if code == "http_404"), "{e:?}");
        assert_eq!(unavailable(503, b""), "it answered 503");
        assert_eq!(segment("ins_01/x y"), "ins_01%2Fx%20y");
    }

    #[test]
    fn an_instance_id_reads_as_text_or_number() {
        let text: InstanceInfo = serde_json::from_str(
            r#"{"id":"ins_7","customer":"initech","fingerprint":"h","name":null,"heartbeat_ttl":900,"instances_cap":3}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(text.id, "ins_7");
        let number: InstanceInfo = serde_json::from_str(r#"{"id":7}"#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(number.id, "7");
    }
}
