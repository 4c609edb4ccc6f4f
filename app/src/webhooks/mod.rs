//! Webhooks in the vendor's console: the endpoints every published event is posted to,
//! their signing secrets (shown once, rotated with an overlap) and each endpoint's
//! delivery log with the attempts of each delivery. Vendor admins only. The store keeps
//! them (`store::webhooks`); the server's dispatcher sends the deliveries.

pub mod api;
pub mod pages;

use serde::{Deserialize, Serialize};

/// How many deliveries a page of the log shows.
pub const PAGE: i64 = 50;

/// The states a delivery may be in, with their words: the log's filter.
pub const DELIVERY_STATUSES: [(&str, &str); 3] = [("pending", "Pending"), ("delivered", "Delivered"), ("failed", "Failed")];

/// The words for a delivery's state (`pending`, `delivered`, `failed`); the state itself
/// for one this console does not know.
pub fn status_label(status: &str) -> &str {
    DELIVERY_STATUSES.iter().find(|(s, _)| *s == status).map_or(status, |(_, label)| *label)
}

/// An endpoint as the console shows it: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookView {
    pub id: i64,
    pub url: String,
    pub description: String,
    /// The event types it receives; empty for every published type.
    pub event_types: Vec<String>,
    pub enabled: bool,
    /// Why it is disabled, while it is: by whom, or after how long of failures.
    pub disabled_reason: Option<String>,
    /// Since when every attempt to it has failed (Unix seconds).
    pub failing_since: Option<i64>,
    /// Until when the secret before the last rotation signs too, while it still does.
    pub previous_until: Option<i64>,
    pub created_at: i64,
    pub counts: DeliveryCounts,
}

/// How many of an endpoint's deliveries are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryCounts {
    pub pending: i64,
    pub delivered: i64,
    pub failed: i64,
}

/// An event type an endpoint may ask for: a published kind of the event catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventTypeView {
    /// Its stable name, e.g. `entitlement.suspended`.
    pub name: String,
    pub description: String,
}

/// The webhooks page: every endpoint, oldest first, and the types they may ask for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhooksView {
    pub endpoints: Vec<WebhookView>,
    pub event_types: Vec<EventTypeView>,
}

/// A signing secret, shown once to the admin who made it: a new endpoint's, or the one a
/// rotation gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedSecret {
    /// The endpoint's id.
    pub endpoint: i64,
    pub url: String,
    /// `whsec_…`: what the receiver verifies each delivery's signature with.
    pub secret: String,
    /// It replaced the endpoint's secret (else the endpoint is new).
    pub rotated: bool,
    /// Until when the secret before it signs too (Unix seconds); `None` when it stopped at once.
    pub previous_until: Option<i64>,
}

/// One delivery of an event to an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryView {
    pub id: i64,
    /// The event's id in the feed (its sequence number in the audit log).
    pub event_id: i64,
    /// The event's type, e.g. `entitlement.suspended`.
    pub kind: String,
    /// `pending`, `delivered` or `failed` (given up).
    pub status: String,
    pub attempts: i64,
    /// When it is tried next, while pending (Unix seconds).
    pub next_attempt_at: Option<i64>,
    pub last_attempt_at: Option<i64>,
    /// The receiver's status code at the last attempt, when it answered.
    pub last_status: Option<i64>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    pub created_at: i64,
}

/// One attempt of a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptView {
    /// 1 for the first.
    pub attempt: i64,
    pub at: i64,
    pub duration_ms: i64,
    /// The receiver's status code, when it answered.
    pub status: Option<i64>,
    pub error: Option<String>,
    /// The start of the receiver's answer.
    pub response: Option<String>,
}

/// A page of an endpoint's delivery log, newest first, with what its settings form needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryLog {
    pub endpoint: WebhookView,
    pub event_types: Vec<EventTypeView>,
    /// The state the log is filtered by, if any.
    pub status: Option<String>,
    pub deliveries: Vec<DeliveryView>,
    /// The `before` of the next, older page; `None` on the last.
    pub next_before: Option<i64>,
}

/// A delivery with each of its attempts, first first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryDetail {
    pub endpoint: WebhookView,
    pub delivery: DeliveryView,
    pub attempts: Vec<AttemptView>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_states_read_as_words() {
        assert_eq!(status_label("delivered"), "Delivered");
        assert_eq!(status_label("pending"), "Pending");
        assert_eq!(status_label("failed"), "Failed");
        assert_eq!(status_label("lost"), "lost");
    }
}
