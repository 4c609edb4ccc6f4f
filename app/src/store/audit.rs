//! The append-only, hash-chained audit log. Every state change writes its event in the
//! same transaction as the change itself.

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::events::EventKind;
use super::write::Write;
use super::StoreError;

/// Who did something: a user, or the system itself (seeding, background jobs).
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<i64>,
    /// An email or `system:<what>`.
    pub label: String,
}

impl Actor {
    /// The system acting on its own, e.g. `system:seed`.
    pub fn system(what: &str) -> Actor {
        Actor { user_id: None, label: format!("system:{what}") }
    }

    /// A signed-in user.
    pub fn user(id: i64, email: &str) -> Actor {
        Actor { user_id: Some(id), label: email.to_owned() }
    }
}

/// One event to append.
#[derive(Debug, Clone)]
pub struct NewAuditEvent<'a> {
    pub actor: &'a Actor,
    pub customer_id: Option<i64>,
    /// What happened, from the event catalog.
    pub kind: EventKind,
    /// What it happened to: `user:3`, `entitlement:7`.
    pub subject: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// Serialises `value` for an event's before/after; `None` if it cannot be.
pub fn snapshot<T: Serialize>(value: &T) -> Option<serde_json::Value> {
    serde_json::to_value(value).ok()
}

/// The chain hash of one event: SHA-256 over the previous hash and the event's fields,
/// each length-prefixed so that no two different events hash alike.
#[allow(clippy::too_many_arguments)]
pub fn chain_hash(
    prev_hash: &str,
    seq: i64,
    at: i64,
    actor: &str,
    customer_id: Option<i64>,
    kind: &str,
    subject: &str,
    before: Option<&str>,
    after: Option<&str>,
) -> String {
    let mut h = Sha256::new();
    let customer = customer_id.map(|c| c.to_string());
    for part in [
        Some(prev_hash),
        Some(&*seq.to_string()),
        Some(&*at.to_string()),
        Some(actor),
        customer.as_deref(),
        Some(kind),
        Some(subject),
        before,
        after,
    ] {
        match part {
            Some(p) => {
                h.update((p.len() as u64).to_be_bytes());
                h.update(p.as_bytes());
            }
            None => h.update(u64::MAX.to_be_bytes()),
        }
    }
    crate::engine::licensing::hex(&h.finalize())
}

/// Appends `event` inside `tx`. Moving the chain's head first takes the write lock on
/// both engines, so concurrent writers chain one after another.
pub async fn record(tx: &mut Write<'_>, event: NewAuditEvent<'_>, at: i64) -> Result<i64, StoreError> {
    let head = sqlx::query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash").fetch_one(&mut **tx).await?;
    let seq: i64 = head.try_get("seq")?;
    let prev: String = head.try_get("hash")?;
    let before = event.before.map(|v| v.to_string());
    let after = event.after.map(|v| v.to_string());
    let hash = chain_hash(
        &prev,
        seq,
        at,
        &event.actor.label,
        event.customer_id,
        event.kind.as_str(),
        &event.subject,
        before.as_deref(),
        after.as_deref(),
    );
    sqlx::query(
        "INSERT INTO audit_events (seq, at, actor_id, actor, customer_id, kind, subject, before_json, after_json, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(seq)
    .bind(at)
    .bind(event.actor.user_id)
    .bind(&event.actor.label)
    .bind(event.customer_id)
    .bind(event.kind.as_str())
    .bind(&event.subject)
    .bind(before)
    .bind(after)
    .bind(&prev)
    .bind(&hash)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1").bind(&hash).execute(&mut **tx).await?;
    tx.note(event.kind, event.customer_id);
    Ok(seq)
}

/// A stored audit event.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    pub customer_id: Option<i64>,
    pub kind: String,
    pub subject: String,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

/// Which audit events to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub customer_id: Option<i64>,
    /// Part of the actor's email or label, any case.
    pub actor: Option<String>,
    /// A kind or the start of one (`seat.`, `request.approved`).
    pub kind: Option<String>,
    /// From this Unix second, inclusive.
    pub from: Option<i64>,
    /// Before this Unix second.
    pub to: Option<i64>,
    /// Only events older than this sequence number (the next page).
    pub before_seq: Option<i64>,
}

impl super::Store {
    /// Audit events matching `filter`, newest first, at most `limit`.
    pub async fn search_audit_events(&self, filter: &AuditFilter, limit: i64) -> Result<Vec<AuditRow>, StoreError> {
        let like = |s: &Option<String>, prefix_only: bool| {
            s.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(|v| {
                let v = v.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                if prefix_only {
                    format!("{v}%")
                } else {
                    format!("%{v}%")
                }
            })
        };
        Ok(sqlx::query_as::<_, AuditRow>(
            "SELECT seq, at, actor, customer_id, kind, subject, before_json, after_json, prev_hash, hash FROM audit_events
             WHERE ($1 < 0 OR customer_id = $1)
               AND ($2 = '' OR LOWER(actor) LIKE $2 ESCAPE '\\')
               AND ($3 = '' OR kind LIKE $3 ESCAPE '\\')
               AND at >= $4 AND at < $5 AND seq < $6
             ORDER BY seq DESC LIMIT $7",
        )
        .bind(filter.customer_id.unwrap_or(-1))
        .bind(like(&filter.actor, false).unwrap_or_default())
        .bind(like(&filter.kind, true).unwrap_or_default())
        .bind(filter.from.unwrap_or(i64::MIN))
        .bind(filter.to.unwrap_or(i64::MAX))
        .bind(filter.before_seq.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }

    /// The audit events of one customer (or all when `None`), newest first, at most `limit`.
    pub async fn list_audit_events(&self, customer_id: Option<i64>, limit: i64) -> Result<Vec<AuditRow>, StoreError> {
        const COLUMNS: &str =
            "SELECT seq, at, actor, customer_id, kind, subject, before_json, after_json, prev_hash, hash FROM audit_events";
        let rows = match customer_id {
            Some(id) => {
                sqlx::query_as::<_, AuditRow>(&format!("{COLUMNS} WHERE customer_id = $1 ORDER BY seq DESC LIMIT $2"))
                    .bind(id)
                    .bind(limit)
                    .fetch_all(self.pool())
                    .await?
            }
            None => {
                sqlx::query_as::<_, AuditRow>(&format!("{COLUMNS} ORDER BY seq DESC LIMIT $1")).bind(limit).fetch_all(self.pool()).await?
            }
        };
        Ok(rows)
    }

    /// Recomputes the chain from the start; returns the first event whose link is broken.
    pub async fn verify_audit_chain(&self) -> Result<Option<i64>, StoreError> {
        let report = self.audit_report().await?;
        Ok(report.broken_at.or((!report.head_matches).then_some(report.events + 1)))
    }

    /// Recomputes the whole chain, a page at a time: how many events there are, the first
    /// whose link is broken (edited, inserted or removed), and whether the chain's tip is
    /// the one recorded in `audit_head` (events removed from the end show there).
    pub async fn audit_report(&self) -> Result<AuditReport, StoreError> {
        const PAGE: i64 = 5_000;
        let mut prev = "0".repeat(64);
        let mut last_seq = 0;
        let mut events = 0;
        loop {
            let rows = sqlx::query_as::<_, AuditRow>(
                "SELECT seq, at, actor, customer_id, kind, subject, before_json, after_json, prev_hash, hash
                 FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .bind(last_seq)
            .bind(PAGE)
            .fetch_all(self.pool())
            .await?;
            let done = (rows.len() as i64) < PAGE;
            for r in rows {
                events += 1;
                let expect = chain_hash(
                    &prev,
                    r.seq,
                    r.at,
                    &r.actor,
                    r.customer_id,
                    &r.kind,
                    &r.subject,
                    r.before_json.as_deref(),
                    r.after_json.as_deref(),
                );
                // Sequence numbers have no gaps: a missing one is a removed event.
                if r.seq != last_seq + 1 || r.prev_hash != prev || r.hash != expect {
                    return Ok(AuditReport { events, broken_at: Some(r.seq), head_matches: false });
                }
                last_seq = r.seq;
                prev = r.hash;
            }
            if done {
                break;
            }
        }
        let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1").fetch_one(self.pool()).await?;
        let head_matches = head.try_get::<i64, _>("seq")? == last_seq && head.try_get::<String, _>("hash")? == prev;
        Ok(AuditReport { events, broken_at: None, head_matches })
    }
}

/// What recomputing the audit chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    /// Events read (up to the first broken one).
    pub events: i64,
    /// The sequence number of the first event whose link is broken.
    pub broken_at: Option<i64>,
    /// The last event is the tip recorded in `audit_head` (false when events were cut off the end).
    pub head_matches: bool,
}
