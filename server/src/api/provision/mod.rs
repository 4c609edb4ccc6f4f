//! The provisioning API: the vendor's CRM and billing create and change customers, their
//! people and entitlements, place orders by SKU, decide change requests and read usage,
//! the event feed and CSV exports, with a vendor API key (`provision` to change, `read` or
//! `provision` to read). Every change is audited in the API key's name; changes take an
//! `Idempotency-Key`; an entitlement's `ETag` is its version, and `If-Match` guards a
//! change against a stale read.

pub mod customers;
pub mod entitlements;
pub mod events;
pub mod exports;
pub mod orders;
pub mod requests;
pub mod webhooks;

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::ApiError;
use app::ssr::AppState;

/// Every route of the provisioning API, with `Idempotency-Key` handled for its changes.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .merge(customers::router())
        .merge(entitlements::router())
        .merge(orders::router())
        .merge(requests::router())
        .merge(webhooks::router())
        .route_layer(axum::middleware::from_fn_with_state(state, super::idempotency::layer))
        .merge(events::router())
        .merge(exports::router())
}

/// The most items a page of a list holds.
pub const MAX_PAGE: i64 = 200;

/// A page of a list: `after` is the `next` of the page before (absent for the first),
/// `limit` how many at most (1–200, 50 when absent).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The cursor: the `next` of the page before.
    #[param(max_length = 20, pattern = "^[0-9]+$")]
    pub after: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

impl PageQuery {
    /// The id to list after and the page's size.
    pub fn bounds(&self) -> Result<(i64, i64), ApiError> {
        let after = cursor(self.after.as_deref())?.unwrap_or(0);
        let limit = self.limit.unwrap_or(50);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(ApiError::bad_request("`limit` is 1 to 200."));
        }
        Ok((after, limit))
    }
}

/// A cursor as sent (`after`): up to 20 digits; `None` when absent or empty.
pub fn cursor(raw: Option<&str>) -> Result<Option<i64>, ApiError> {
    match param("after", raw, 20)? {
        None if raw.is_some() => Err(ApiError::bad_request("`after` is not a cursor this API gave.")),
        None => Ok(None),
        Some(a) if a.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(Some(a.parse::<u128>().map_or(i64::MAX, |n| i64::try_from(n).unwrap_or(i64::MAX))))
        }
        Some(_) => Err(ApiError::bad_request("`after` is not a cursor this API gave.")),
    }
}

/// A query parameter as sent, trimmed: `None` when absent or empty; 400 when it is
/// longer than the document allows (`max` characters).
pub fn param<'a>(name: &str, raw: Option<&'a str>, max: usize) -> Result<Option<&'a str>, ApiError> {
    match raw {
        Some(r) if r.chars().count() > max => Err(ApiError::bad_request(format!("`{name}` is at most {max} characters."))),
        Some(r) => Ok(Some(r.trim()).filter(|r| !r.is_empty())),
        None => Ok(None),
    }
}

/// The cursor of the page after `items`, when the page was full.
pub fn next_cursor<T>(items: &[T], limit: i64, id: impl Fn(&T) -> i64) -> Option<String> {
    (items.len() as i64 == limit).then(|| items.last().map(|last| id(last).to_string())).flatten()
}

/// A Unix second as RFC 3339 (UTC).
pub fn time(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// As [`time`], for a time that may be absent.
pub fn time_opt(secs: Option<i64>) -> Option<String> {
    secs.map(time)
}

/// A date (`2027-01-31`, the start of that day in UTC) or an RFC 3339 time, as a Unix
/// second; 422 `invalid` on `field` otherwise.
pub fn when(field: &str, raw: &str) -> Result<i64, ApiError> {
    let raw = raw.trim();
    if let Ok(day) = chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        return Ok(app::engine::dates::start_of_day(day));
    }
    chrono::DateTime::parse_from_rfc3339(raw)
        .map(|t| t.timestamp())
        .map_err(|_| ApiError::invalid(field, "Give a date like 2027-01-31 or an RFC 3339 time like 2027-01-31T12:00:00Z."))
}

/// The reason recorded in the audit log: the caller's, or what the call was.
pub fn reason(given: Option<&str>, default: &str) -> Result<String, ApiError> {
    match given.map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(default.to_owned()),
        Some(r) => Ok(app::ssr::forms::reason(r)?.as_str().to_owned()),
    }
}

/// The version `If-Match` names (`"7"`, or `W/"7"`); `None` without the header or for
/// `*`. 400 when it is not a version this API gave.
pub fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get(axum::http::header::IF_MATCH) else { return Ok(None) };
    let text = value.to_str().unwrap_or("").trim();
    if text == "*" {
        return Ok(None);
    }
    text.trim_start_matches("W/")
        .trim_matches('"')
        .parse::<i64>()
        .map(Some)
        .map_err(|_| ApiError::new(StatusCode::PRECONDITION_FAILED, "version_mismatch", "`If-Match` names no version of this entitlement."))
}

/// The `ETag` of an entitlement at `version`.
pub fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// A JSON answer with `status` and, for an entitlement, its `ETag`.
pub fn answer<T: Serialize>(status: StatusCode, body: &T, version: Option<i64>) -> Response {
    let mut response = (status, Json(body)).into_response();
    if let Some(v) = version {
        response.headers_mut().insert(axum::http::header::ETAG, etag(v));
    }
    response
}

/// An invitation link made for someone: where they set a password or sign in.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Invitation {
    pub email: String,
    /// The link to send them; whoever holds it can join as them until it expires.
    pub url: String,
    /// RFC 3339.
    pub expires_at: String,
}

impl Invitation {
    fn new(state: &AppState, email: &str, token: &str, expires_at: i64) -> Invitation {
        Invitation {
            email: email.to_owned(),
            url: format!("{}/invite/{token}", state.public_url.trim_end_matches('/')),
            expires_at: time(expires_at),
        }
    }
}
