//! Deliveries: one per endpoint and published event, made from the audit log by moving
//! the endpoint's cursor in the same transaction, so that no event committed is missed
//! and none is given to an endpoint twice. A dispatcher takes what is due by pushing its
//! next attempt forward (no other dispatcher, on this replica or another, takes it then),
//! tries it and records the attempt: delivered, to be retried after a growing wait, or
//! given up once its retry window has passed; an endpoint whose every attempt has failed
//! for long enough is disabled, with an audited notice.

use std::time::Duration;

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{lock_endpoint, WebhookPolicy};
use crate::store::audit::{self, Actor, NewAuditEvent};
use crate::store::events::EventKind;
use crate::store::provisioning::feed::{feed_event, FeedEvent, FEED_COLUMNS};
use crate::store::{Store, StoreError};

/// How many events one fan-out transaction reads.
const FAN_OUT_BATCH: i64 = 500;
/// How much of a receiver's answer the log keeps.
pub const KEPT_RESPONSE: usize = 1024;

/// A delivery taken by a dispatcher: where to send what, signed with which secrets.
#[derive(Clone)]
pub struct Due {
    pub delivery_id: i64,
    pub endpoint_id: i64,
    pub url: String,
    /// The `whsec_` secrets to sign with: the current one first.
    pub secrets: Vec<String>,
    /// This attempt's number, 1 for the first (counted when it was taken).
    pub attempt: i64,
    /// When the first attempt of this retry window was made (Unix seconds).
    pub first_attempt_at: i64,
    /// Until when (Unix milliseconds) this dispatcher holds it: its claim, which the
    /// recording of the attempt must still find.
    pub lease_until: i64,
    pub event: FeedEvent,
}

impl std::fmt::Debug for Due {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Due")
            .field("delivery_id", &self.delivery_id)
            .field("endpoint_id", &self.endpoint_id)
            .field("url", &self.url)
            .field("secrets", &format_args!("[{} kept back]", self.secrets.len()))
            .field("attempt", &self.attempt)
            .field("event", &self.event.seq)
            .finish_non_exhaustive()
    }
}

/// What one attempt came to.
#[derive(Debug, Clone, Default)]
pub struct AttemptOutcome {
    /// The receiver's status code, when it answered.
    pub status: Option<u16>,
    /// Why there was no answer (a refused connection, a timeout), or what was wrong with it.
    pub error: Option<String>,
    /// The start of the receiver's answer.
    pub response: String,
    pub duration_ms: i64,
}

impl AttemptOutcome {
    /// A 2xx answer: the delivery is made.
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// Where a delivery stands after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    Delivered,
    /// Tried again at this Unix millisecond.
    Retrying(i64),
    /// Its retry window has passed: no more attempts unless it is resent.
    GaveUp,
    /// The endpoint or the delivery was removed while it was being tried.
    Gone,
    /// It was resent, or taken by another dispatcher after this one's lease ran out,
    /// while it was being tried: the attempt is logged, the delivery left to the other.
    Superseded,
}

/// A delivery as the log shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRow {
    pub id: i64,
    pub endpoint_id: i64,
    pub event_seq: i64,
    pub kind: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: i64,
    pub next_attempt_ms: i64,
    pub first_attempt_at: Option<i64>,
    pub last_attempt_at: Option<i64>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
}

/// One attempt of a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRow {
    pub attempt: i64,
    pub at: i64,
    pub duration_ms: i64,
    pub status: Option<i64>,
    pub error: Option<String>,
    pub response: Option<String>,
}

/// How many of an endpoint's deliveries stand where.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryCounts {
    pub pending: i64,
    pub delivered: i64,
    pub failed: i64,
}

/// The statuses a delivery may have.
pub const STATUSES: [&str; 3] = ["pending", "delivered", "failed"];

const DELIVERY_COLUMNS: &str = "id, endpoint_id, event_seq, kind, status, attempts, next_attempt_ms, first_attempt_at, last_attempt_at, \
                                last_status, last_error, created_at";

fn delivery(r: &AnyRow) -> Result<DeliveryRow, StoreError> {
    Ok(DeliveryRow {
        id: r.try_get("id")?,
        endpoint_id: r.try_get("endpoint_id")?,
        event_seq: r.try_get("event_seq")?,
        kind: r.try_get("kind")?,
        status: r.try_get("status")?,
        attempts: r.try_get("attempts")?,
        next_attempt_ms: r.try_get("next_attempt_ms")?,
        first_attempt_at: r.try_get("first_attempt_at")?,
        last_attempt_at: r.try_get("last_attempt_at")?,
        last_status: r.try_get("last_status")?,
        last_error: r.try_get("last_error")?,
        created_at: r.try_get("created_at")?,
    })
}

/// `wait` give or take a tenth, so that deliveries failed together are not retried together.
fn jittered(wait: Duration) -> i64 {
    use rand::Rng;
    let ms = i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2);
    let spread = ms / 10;
    if spread == 0 {
        return ms;
    }
    ms + rand::thread_rng().gen_range(-spread..=spread)
}

/// `text` as the log keeps it: at most `max` characters, without NUL and other control
/// characters but for tabs and line breaks (which PostgreSQL's text refuses or a log
/// reader misreads).
fn clean(text: &str, max: usize) -> String {
    text.chars().filter(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r')).take(max).collect()
}

/// `secs` as a person would say it: `36 hours`, `5 days`.
fn span(secs: i64) -> String {
    match secs {
        s if s % 86_400 == 0 && s >= 86_400 => format!("{} day{}", s / 86_400, if s == 86_400 { "" } else { "s" }),
        s if s % 3600 == 0 && s >= 3600 => format!("{} hour{}", s / 3600, if s == 3600 { "" } else { "s" }),
        s if s % 60 == 0 && s >= 60 => format!("{} minute{}", s / 60, if s == 60 { "" } else { "s" }),
        s => format!("{s} second{}", if s == 1 { "" } else { "s" }),
    }
}

impl Store {
    /// Gives every enabled endpoint a delivery for each published event of its types
    /// committed since its cursor; returns how many were made.
    pub async fn fan_out_webhooks(&self, now_ms: i64) -> Result<usize, StoreError> {
        let head = self.last_event_seq().await?;
        let behind: Vec<i64> = sqlx::query_scalar("SELECT id FROM webhook_endpoints WHERE enabled = 1 AND cursor < $1 ORDER BY id")
            .bind(head)
            .fetch_all(self.pool())
            .await?;
        let mut made = 0;
        for id in behind {
            loop {
                let (n, more) = self.fan_out_endpoint(id, now_ms).await?;
                made += n;
                if !more {
                    break;
                }
            }
        }
        Ok(made)
    }

    /// One batch of [`fan_out_webhooks`](Store::fan_out_webhooks) for endpoint `id`, in
    /// one transaction with its row locked; whether there may be more.
    async fn fan_out_endpoint(&self, id: i64, now_ms: i64) -> Result<(usize, bool), StoreError> {
        let mut tx = self.begin_write().await?;
        let endpoint = match lock_endpoint(&mut tx, id).await {
            Err(StoreError::NotFound) => return tx.roll_back(Ok((0, false))).await,
            other => other?,
        };
        if !endpoint.enabled {
            return tx.roll_back(Ok((0, false))).await;
        }
        let cursor: i64 = sqlx::query_scalar("SELECT cursor FROM webhook_endpoints WHERE id = $1").bind(id).fetch_one(&mut *tx).await?;
        let rows = sqlx::query("SELECT seq, kind FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2")
            .bind(cursor)
            .bind(FAN_OUT_BATCH)
            .fetch_all(&mut *tx)
            .await?;
        let Some(last) = rows.last().map(|r| r.try_get::<i64, _>("seq")).transpose()? else {
            return tx.roll_back(Ok((0, false))).await;
        };
        let mut wanted = Vec::new();
        for row in &rows {
            let kind: String = row.try_get("kind")?;
            if EventKind::parse(&kind).is_some_and(EventKind::published) && endpoint.wants(&kind) {
                wanted.push((row.try_get::<i64, _>("seq")?, kind));
            }
        }
        for chunk in wanted.chunks(100) {
            let values: Vec<String> =
                (0..chunk.len()).map(|i| format!("($1, ${}, ${}, 'pending', 0, $2, $3)", 4 + 2 * i, 5 + 2 * i)).collect();
            let sql = format!(
                "INSERT INTO webhook_deliveries (endpoint_id, event_seq, kind, status, attempts, next_attempt_ms, created_at)
                 VALUES {} ON CONFLICT (endpoint_id, event_seq) DO NOTHING",
                values.join(", ")
            );
            let mut insert = sqlx::query(&sql).bind(id).bind(now_ms).bind(now_ms / 1000);
            for (seq, kind) in chunk {
                insert = insert.bind(*seq).bind(kind.as_str());
            }
            insert.execute(&mut *tx).await?;
        }
        sqlx::query("UPDATE webhook_endpoints SET cursor = $1 WHERE id = $2").bind(last).bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok((wanted.len(), rows.len() as i64 == FAN_OUT_BATCH))
    }

    /// Takes up to `limit` deliveries due at `now_ms` of enabled endpoints, oldest due
    /// first, so that no endpoint has more than `per_endpoint` in flight counting those of
    /// `in_flight` (endpoint, how many): each one's next attempt is pushed `lease` ahead
    /// and its attempt counted, so that no other dispatcher takes it while this one tries
    /// it (and another does if this one stops).
    pub async fn take_due_webhooks(
        &self,
        now_ms: i64,
        lease: Duration,
        limit: i64,
        per_endpoint: i64,
        in_flight: &[(i64, i64)],
    ) -> Result<Vec<Due>, StoreError> {
        // Numbers only, written into the statement: each endpoint's room.
        let room = if in_flight.is_empty() {
            "$3".to_owned()
        } else {
            let arms: String = in_flight.iter().map(|(endpoint, n)| format!(" WHEN {endpoint} THEN $3 - {n}")).collect();
            format!("CASE endpoint_id{arms} ELSE $3 END")
        };
        let candidates = sqlx::query(&format!(
            "SELECT id, next_attempt_ms FROM (
                 SELECT d.id, d.endpoint_id, d.next_attempt_ms,
                        ROW_NUMBER() OVER (PARTITION BY d.endpoint_id ORDER BY d.next_attempt_ms, d.id) AS place
                 FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
                 WHERE d.status = 'pending' AND d.next_attempt_ms <= $1 AND e.enabled = 1
             ) due WHERE place <= {room} ORDER BY next_attempt_ms, id LIMIT $2"
        ))
        .bind(now_ms)
        .bind(limit)
        .bind(per_endpoint)
        .fetch_all(self.pool())
        .await?;
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let until = now_ms + i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 2);
        let mut tx = self.begin_write().await?;
        let mut taken = Vec::new();
        for candidate in &candidates {
            // Counted now, so that an attempt whose outcome cannot be recorded still uses up
            // its delivery's retries.
            let row = sqlx::query(
                "UPDATE webhook_deliveries SET next_attempt_ms = $1, attempts = attempts + 1,
                     first_attempt_at = COALESCE(first_attempt_at, $4)
                 WHERE id = $2 AND next_attempt_ms = $3 AND status = 'pending'
                 RETURNING endpoint_id, event_seq, attempts, first_attempt_at",
            )
            .bind(until)
            .bind(candidate.try_get::<i64, _>("id")?)
            .bind(candidate.try_get::<i64, _>("next_attempt_ms")?)
            .bind(now_ms / 1000)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = row {
                taken.push((
                    candidate.try_get::<i64, _>("id")?,
                    row.try_get::<i64, _>("endpoint_id")?,
                    row.try_get::<i64, _>("event_seq")?,
                    row.try_get::<i64, _>("attempts")?,
                    row.try_get::<Option<i64>, _>("first_attempt_at")?.unwrap_or(now_ms / 1000),
                ));
            }
        }
        let now = now_ms / 1000;
        let mut due = Vec::with_capacity(taken.len());
        for (delivery_id, endpoint_id, seq, attempt, first_attempt_at) in taken {
            let url: String =
                sqlx::query_scalar("SELECT url FROM webhook_endpoints WHERE id = $1").bind(endpoint_id).fetch_one(&mut *tx).await?;
            let secrets = self.webhook_secrets(&mut tx, endpoint_id, now).await?;
            let event = sqlx::query(&format!(
                "SELECT {FEED_COLUMNS} FROM audit_events a LEFT JOIN customers c ON c.id = a.customer_id WHERE a.seq = $1"
            ))
            .bind(seq)
            .fetch_one(&mut *tx)
            .await?;
            due.push(Due {
                delivery_id,
                endpoint_id,
                url,
                secrets,
                attempt,
                first_attempt_at,
                lease_until: until,
                event: feed_event(&event)?,
            });
        }
        tx.commit().await?;
        Ok(due)
    }

    /// Records an attempt of `due` made at `now_ms` and settles the delivery under
    /// `policy`; the second value is true when this failure disabled the endpoint (then
    /// `webhook.endpoint_disabled` is recorded with it).
    pub async fn record_webhook_attempt(
        &self,
        due: &Due,
        outcome: &AttemptOutcome,
        policy: &WebhookPolicy,
        now_ms: i64,
    ) -> Result<(Settled, bool), StoreError> {
        let now = now_ms / 1000;
        let mut tx = self.begin_write().await?;
        let endpoint = match lock_endpoint(&mut tx, due.endpoint_id).await {
            Err(StoreError::NotFound) => return tx.roll_back(Ok((Settled::Gone, false))).await,
            other => other?,
        };
        let response = clean(&outcome.response, KEPT_RESPONSE);
        let error = outcome.error.as_deref().map(|e| clean(e, KEPT_RESPONSE));
        sqlx::query(
            "INSERT INTO webhook_attempts (delivery_id, attempt, at, duration_ms, status, error, response) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (delivery_id, attempt) DO NOTHING",
        )
        .bind(due.delivery_id)
        .bind(due.attempt)
        .bind(now)
        .bind(outcome.duration_ms)
        .bind(outcome.status.map(i64::from))
        .bind(&error)
        .bind(Some(response).filter(|r| !r.is_empty()))
        .execute(&mut *tx)
        .await?;
        let settled = if outcome.succeeded() {
            Settled::Delivered
        } else {
            let elapsed = Duration::from_secs(u64::try_from(now - due.first_attempt_at).unwrap_or(0));
            let next = now_ms + jittered(policy.wait_after(elapsed));
            let window = i64::try_from(policy.retry_for.as_secs()).unwrap_or(i64::MAX / 2);
            if next / 1000 > due.first_attempt_at + window {
                Settled::GaveUp
            } else {
                Settled::Retrying(next)
            }
        };
        let (status, next) = match settled {
            Settled::Delivered => ("delivered", now_ms),
            Settled::Retrying(at) => ("pending", at),
            _ => ("failed", now_ms),
        };
        // Only while this dispatcher's claim stands: a resend, or another dispatcher that
        // took it over, decides what becomes of it now.
        let kept = sqlx::query(
            "UPDATE webhook_deliveries SET status = $1, next_attempt_ms = $2, last_attempt_at = $3, last_status = $4, last_error = $5
             WHERE id = $6 AND status = 'pending' AND next_attempt_ms = $7",
        )
        .bind(status)
        .bind(next)
        .bind(now)
        .bind(outcome.status.map(i64::from))
        .bind(&error)
        .bind(due.delivery_id)
        .bind(due.lease_until)
        .execute(&mut *tx)
        .await?;
        if kept.rows_affected() == 0 {
            tx.commit().await?;
            return Ok((Settled::Superseded, false));
        }
        let mut disabled = false;
        if outcome.succeeded() {
            sqlx::query("UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1").bind(endpoint.id).execute(&mut *tx).await?;
        } else {
            let since = endpoint.failing_since.unwrap_or(now);
            let limit = i64::try_from(policy.disable_after.as_secs()).unwrap_or(i64::MAX / 2);
            if endpoint.enabled && now - since >= limit {
                disabled = true;
                let reason = format!("every attempt failed for {}", span(limit));
                sqlx::query(
                    "UPDATE webhook_endpoints SET enabled = 0, disabled_reason = $1, failing_since = $2, updated_at = $3 WHERE id = $4",
                )
                .bind(&reason)
                .bind(since)
                .bind(now)
                .bind(endpoint.id)
                .execute(&mut *tx)
                .await?;
                let event = NewAuditEvent {
                    actor: &Actor::system("webhooks"),
                    customer_id: None,
                    kind: EventKind::WebhookEndpointDisabled,
                    subject: format!("webhook_endpoint:{}", endpoint.id),
                    before: Some(serde_json::json!({ "enabled": true })),
                    after: Some(serde_json::json!({
                        "enabled": false,
                        "reason": reason,
                        "failing_since": chrono::DateTime::from_timestamp(since, 0).map(|t| t.to_rfc3339()),
                        "last_status": outcome.status,
                        "last_error": error,
                    })),
                };
                audit::record(&mut tx, event, now).await?;
            } else {
                sqlx::query("UPDATE webhook_endpoints SET failing_since = $1 WHERE id = $2")
                    .bind(since)
                    .bind(endpoint.id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok((settled, disabled))
    }

    /// Endpoint `endpoint`'s deliveries, newest first, of `status` when given, older than
    /// delivery `before` when given, at most `limit`.
    pub async fn list_webhook_deliveries(
        &self,
        endpoint: i64,
        status: Option<&str>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries
             WHERE endpoint_id = $1 AND ($2 = '' OR status = $2) AND id < $3 ORDER BY id DESC LIMIT $4"
        ))
        .bind(endpoint)
        .bind(status.unwrap_or(""))
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(delivery).collect()
    }

    /// Delivery `id` of endpoint `endpoint` with its attempts, first first.
    pub async fn webhook_delivery(&self, endpoint: i64, id: i64) -> Result<(DeliveryRow, Vec<AttemptRow>), StoreError> {
        let row = sqlx::query(&format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1 AND endpoint_id = $2"))
            .bind(id)
            .bind(endpoint)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        let attempts = sqlx::query(
            "SELECT attempt, at, duration_ms, status, error, response FROM webhook_attempts WHERE delivery_id = $1 ORDER BY attempt",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        let attempts = attempts
            .iter()
            .map(|r| {
                Ok(AttemptRow {
                    attempt: r.try_get("attempt")?,
                    at: r.try_get("at")?,
                    duration_ms: r.try_get("duration_ms")?,
                    status: r.try_get("status")?,
                    error: r.try_get("error")?,
                    response: r.try_get("response")?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok((delivery(&row)?, attempts))
    }

    /// Sends delivery `id` of endpoint `endpoint` again, at once and with a new retry
    /// window (its earlier attempts stay in the log); audited as `webhook.delivery_resent`.
    pub async fn resend_webhook_delivery(&self, actor: &Actor, endpoint: i64, id: i64, now_ms: i64) -> Result<DeliveryRow, StoreError> {
        let now = now_ms / 1000;
        let mut tx = self.begin_write().await?;
        lock_endpoint(&mut tx, endpoint).await?;
        let row = sqlx::query(&format!(
            "UPDATE webhook_deliveries SET status = 'pending', next_attempt_ms = $1, first_attempt_at = NULL
             WHERE id = $2 AND endpoint_id = $3 RETURNING {DELIVERY_COLUMNS}"
        ))
        .bind(now_ms)
        .bind(id)
        .bind(endpoint)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return tx.roll_back(Err(StoreError::NotFound)).await };
        let resent = delivery(&row)?;
        let event = NewAuditEvent {
            actor,
            customer_id: None,
            kind: EventKind::WebhookDeliveryResent,
            subject: format!("webhook_endpoint:{endpoint}"),
            before: None,
            after: Some(serde_json::json!({ "delivery": id, "event": resent.event_seq.to_string(), "type": resent.kind })),
        };
        audit::record(&mut tx, event, now).await?;
        tx.commit().await?;
        Ok(resent)
    }

    /// How many of endpoint `endpoint`'s deliveries are pending, delivered and failed.
    pub async fn webhook_delivery_counts(&self, endpoint: i64) -> Result<DeliveryCounts, StoreError> {
        let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM webhook_deliveries WHERE endpoint_id = $1 GROUP BY status")
            .bind(endpoint)
            .fetch_all(self.pool())
            .await?;
        let mut counts = DeliveryCounts::default();
        for row in rows {
            let n: i64 = row.try_get("n")?;
            match row.try_get::<String, _>("status")?.as_str() {
                "pending" => counts.pending = n,
                "delivered" => counts.delivered = n,
                _ => counts.failed += n,
            }
        }
        Ok(counts)
    }

    /// How many deliveries stand where, for every endpoint that has any.
    pub async fn all_webhook_delivery_counts(&self) -> Result<std::collections::HashMap<i64, DeliveryCounts>, StoreError> {
        let rows = sqlx::query("SELECT endpoint_id, status, COUNT(*) AS n FROM webhook_deliveries GROUP BY endpoint_id, status")
            .fetch_all(self.pool())
            .await?;
        let mut out: std::collections::HashMap<i64, DeliveryCounts> = std::collections::HashMap::new();
        for row in rows {
            let counts = out.entry(row.try_get("endpoint_id")?).or_default();
            let n: i64 = row.try_get("n")?;
            match row.try_get::<String, _>("status")?.as_str() {
                "pending" => counts.pending = n,
                "delivered" => counts.delivered = n,
                _ => counts.failed += n,
            }
        }
        Ok(out)
    }

    /// The backlog: deliveries waiting to be made (due or not), and published events
    /// the enabled endpoints have not been given yet.
    pub async fn webhook_backlog(&self) -> Result<(i64, i64), StoreError> {
        let pending: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
             WHERE d.status = 'pending' AND e.enabled = 1",
        )
        .fetch_one(self.pool())
        .await?;
        let behind: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(h.seq - e.cursor), 0) AS BIGINT) FROM webhook_endpoints e, audit_head h WHERE h.id = 1 AND e.enabled = 1",
        )
        .fetch_one(self.pool())
        .await?;
        Ok((pending, behind))
    }

    /// Forgets settled deliveries (and their attempts) made before `before`.
    pub async fn purge_webhook_deliveries(&self, before: i64) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let old = "SELECT id FROM webhook_deliveries WHERE status <> 'pending' AND created_at < $1";
        sqlx::query(&format!("DELETE FROM webhook_attempts WHERE delivery_id IN ({old})")).bind(before).execute(&mut *tx).await?;
        let gone = sqlx::query(&format!("DELETE FROM webhook_deliveries WHERE id IN ({old})")).bind(before).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(gone.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_as_people_say_them() {
        assert_eq!(span(5 * 86_400), "5 days");
        assert_eq!(span(86_400), "1 day");
        assert_eq!(span(36 * 3600), "36 hours");
        assert_eq!(span(90), "90 seconds");
        assert_eq!(span(120), "2 minutes");
    }

    #[test]
    fn the_log_keeps_no_nul_or_control_characters() {
        assert_eq!(clean("a\0b\u{1b}[31mc\td\ne", 100), "ab[31mc\td\ne");
        assert_eq!(clean("ééé", 2), "éé");
    }

    #[test]
    fn jitter_stays_within_a_tenth() {
        for _ in 0..200 {
            let j = jittered(Duration::from_secs(100));
            assert!((90_000..=110_000).contains(&j), "{j}");
        }
        assert_eq!(jittered(Duration::from_millis(5)), 5);
    }
}
