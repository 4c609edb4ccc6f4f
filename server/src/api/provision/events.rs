//! `GET /api/v1/events`: every change as a typed event of the catalog, in the order it was
//! committed, a page at a time after a cursor, waiting a while for new ones if asked.

use std::time::Duration;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::{time, MAX_PAGE};
use crate::api::{ApiError, ApiQuery, Caller, Problem};
use app::ssr::AppState;
use app::store::events::EventKind;
use app::store::provisioning::feed::FeedEvent;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/events", get(feed))
}

/// The longest wait for new events.
pub const MAX_WAIT_SECS: u64 = 30;
/// How often a waiting feed looks for events written by other replicas.
const POLL: Duration = Duration::from_secs(1);

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// The cursor: the `next` of the page before, or `0` for the first event ever; the
    /// newest event's id (from now on) when absent.
    #[param(max_length = 20, pattern = "^[0-9]+$")]
    pub after: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// Only these types, comma-separated (`entitlement.suspended,seat.assigned`); every
    /// type the feed publishes when absent.
    #[param(max_length = 2000)]
    pub types: Option<String>,
    /// Only this customer's (id or slug).
    #[param(max_length = 64)]
    pub customer: Option<String>,
    /// Seconds to wait for an event when there is none yet (0–30).
    #[param(minimum = 0, maximum = 30)]
    pub wait: Option<u64>,
}

/// One change.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Event {
    /// Its place in the feed: increasing, never reused.
    pub id: String,
    /// From the event catalog (`entitlement.suspended`).
    pub r#type: String,
    /// RFC 3339.
    pub timestamp: String,
    pub customer: Option<EventCustomer>,
    /// What it happened to: `entitlement:7`, `user:3`.
    pub subject: String,
    /// Who did it: a user's email, `api-key:<id>`, `license-key:<id>`, `system:<what>`.
    pub actor: String,
    pub data: EventData,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventCustomer {
    pub id: i64,
    pub slug: Option<String>,
}

/// What changed: before and after, as the audit log records them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventData {
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
}

impl From<FeedEvent> for Event {
    fn from(e: FeedEvent) -> Event {
        let parse = |j: Option<String>| j.and_then(|j| serde_json::from_str(&j).ok());
        Event {
            id: e.seq.to_string(),
            r#type: e.kind,
            timestamp: time(e.at),
            customer: e.customer_id.map(|id| EventCustomer { id, slug: e.customer_slug }),
            subject: e.subject,
            actor: e.actor,
            data: EventData { before: parse(e.before_json), after: parse(e.after_json) },
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventPage {
    pub data: Vec<Event>,
    /// The cursor to ask from next (`after`): the last event's id, or the one asked
    /// from when there were none.
    pub next: String,
}

/// Events after a cursor, oldest first; with `wait`, an empty answer waits up to that
/// many seconds for the next event.
#[utoipa::path(get, path = "/api/v1/events", tag = "provisioning", params(FeedQuery), security(("api_key" = [])),
    responses((status = 200, body = EventPage), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, description = "A type outside the catalog", body = Problem), (status = 429, body = Problem)))]
pub async fn feed(caller: Caller, State(state): State<AppState>, ApiQuery(q): ApiQuery<FeedQuery>) -> Result<Json<EventPage>, ApiError> {
    caller.reader()?;
    let after = match super::cursor(q.after.as_deref())? {
        None => state.store.last_event_seq().await?,
        Some(a) => a,
    };
    let limit = q.limit.unwrap_or(100);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad_request("`limit` is 1 to 200."));
    }
    let mut kinds = Vec::new();
    for name in super::param("types", q.types.as_deref(), 2000)?.unwrap_or("").split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let kind = EventKind::parse(name)
            .filter(|k| k.published())
            .ok_or_else(|| ApiError::invalid("types", format!("{name:?} is not an event type the feed publishes.")))?;
        kinds.push(kind.as_str());
    }
    if kinds.is_empty() {
        kinds = EventKind::ALL.iter().filter(|k| k.published()).map(|k| k.as_str()).collect();
    }
    let customer = match super::param("customer", q.customer.as_deref(), 64)? {
        Some(c) => Some(super::customers::find(&state, c).await?.id),
        None => None,
    };
    let wait = q.wait.unwrap_or(0);
    if wait > MAX_WAIT_SECS {
        return Err(ApiError::bad_request("`wait` is 0 to 30 seconds."));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
    loop {
        // Listen before reading, so that an event committed in between wakes this wait.
        let committed = state.store.committed().notified();
        let events = state.store.events_after(after, &kinds, customer, limit).await?;
        if !events.is_empty() || tokio::time::Instant::now() >= deadline {
            let next = events.last().map_or(after, |e| e.seq).to_string();
            return Ok(Json(EventPage { data: events.into_iter().map(Event::from).collect(), next }));
        }
        let _ = tokio::time::timeout_at(deadline.min(tokio::time::Instant::now() + POLL), committed).await;
    }
}
