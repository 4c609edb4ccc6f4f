//! The event feed: every recorded event, in the order it was committed, by its sequence
//! number in the audit log (the feed's cursor).

use sqlx::Row;

use crate::store::{Store, StoreError};

/// One event of the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEvent {
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    pub customer_id: Option<i64>,
    pub customer_slug: Option<String>,
    pub kind: String,
    pub subject: String,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
}

/// The columns [`feed_event`] reads, of `audit_events a` joined with `customers c`.
pub(crate) const FEED_COLUMNS: &str =
    "a.seq, a.at, a.actor, a.customer_id, c.slug AS customer_slug, a.kind, a.subject, a.before_json, a.after_json";

/// An event as [`FEED_COLUMNS`] read it.
pub(crate) fn feed_event(r: &sqlx::any::AnyRow) -> Result<FeedEvent, StoreError> {
    Ok(FeedEvent {
        seq: r.try_get("seq")?,
        at: r.try_get("at")?,
        actor: r.try_get("actor")?,
        customer_id: r.try_get("customer_id")?,
        customer_slug: r.try_get("customer_slug")?,
        kind: r.try_get("kind")?,
        subject: r.try_get("subject")?,
        before_json: r.try_get("before_json")?,
        after_json: r.try_get("after_json")?,
    })
}

impl Store {
    /// Events after sequence number `after`, oldest first, at most `limit`; only those of
    /// `kinds` when it names any, only `customer`'s when given.
    pub async fn events_after(&self, after: i64, kinds: &[&str], customer: Option<i64>, limit: i64) -> Result<Vec<FeedEvent>, StoreError> {
        let kinds_filter = if kinds.is_empty() {
            String::new()
        } else {
            let marks: Vec<String> = (0..kinds.len()).map(|i| format!("${}", i + 4)).collect();
            format!(" AND a.kind IN ({})", marks.join(", "))
        };
        let sql = format!(
            "SELECT {FEED_COLUMNS} FROM audit_events a LEFT JOIN customers c ON c.id = a.customer_id
             WHERE a.seq > $1 AND ($2 < 0 OR a.customer_id = $2){kinds_filter} ORDER BY a.seq LIMIT $3"
        );
        let mut query = sqlx::query(&sql).bind(after).bind(customer.unwrap_or(-1)).bind(limit);
        for kind in kinds {
            query = query.bind(*kind);
        }
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter().map(feed_event).collect()
    }

    /// The sequence number of the newest event (0 when there is none).
    pub async fn last_event_seq(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT seq FROM audit_head WHERE id = 1").fetch_one(self.pool()).await?)
    }
}
