//! Metered usage: events idempotent by their client event id, rolled up per day in the
//! same transaction. What the charts read (usage, seats and instances per day) is in
//! [`history`].

pub mod history;

use std::collections::BTreeMap;

use sqlx::Row;

use super::audit::{self, Actor, NewAuditEvent};
use super::events::EventKind;
use super::{Store, StoreError};
use crate::engine::dates::DAY;

/// One usage event, resolved to ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUsage {
    pub event_id: String,
    pub customer_id: i64,
    pub entitlement_id: i64,
    pub feature_id: i64,
    pub quantity: i64,
    /// When it happened, Unix seconds.
    pub at: i64,
}

/// What a batch came to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UsageReceipt {
    /// Events counted now.
    pub accepted: i64,
    /// Events seen before (a retry), not counted again.
    pub duplicates: i64,
    /// The counted events as (entitlement id, feature id, at, quantity).
    pub counted: Vec<(i64, i64, i64, i64)>,
}

/// Rows per INSERT statement.
const CHUNK: usize = 500;

impl Store {
    /// Appends `rows` parenthesised rows of `width` placeholders to a multi-row INSERT.
    /// SQLite gets anonymous `?`: it looks numbered ones up by name, one scan per
    /// parameter, which costs more than the insert itself in rows of hundreds.
    fn push_value_rows(&self, sql: &mut String, rows: usize, width: usize) {
        use std::fmt::Write;
        for r in 0..rows {
            sql.push_str(if r == 0 { "(" } else { ",(" });
            for c in 0..width {
                if c > 0 {
                    sql.push(',');
                }
                match self.engine() {
                    super::Engine::Sqlite => sql.push('?'),
                    super::Engine::Postgres => {
                        let _ = write!(sql, "${}", r * width + c + 1);
                    }
                }
            }
            sql.push(')');
        }
    }

    /// Records a batch in one transaction: new events are stored and added to the daily
    /// roll-up; events already recorded (same entitlement and event id) are skipped.
    /// Returns only after commit.
    pub async fn record_usage(&self, actor: &Actor, events: &[NewUsage], now: i64) -> Result<UsageReceipt, StoreError> {
        let mut tx = self.begin_write().await?;
        // Sorted: concurrent batches then lock the roll-up's rows in one order, and never
        // wait on each other in a circle (PostgreSQL would abort one as a deadlock).
        let mut rollup: BTreeMap<(i64, i64, i64), i64> = BTreeMap::new();
        let mut counted = Vec::new();
        for chunk in events.chunks(CHUNK) {
            let mut sql =
                String::from("INSERT INTO usage_events (entitlement_id, feature_id, event_id, quantity, at, received_at) VALUES ");
            self.push_value_rows(&mut sql, chunk.len(), 6);
            sql.push_str(" ON CONFLICT (entitlement_id, event_id) DO NOTHING RETURNING entitlement_id, feature_id, quantity, at");
            let mut q = sqlx::query(&sql);
            for e in chunk {
                q = q.bind(e.entitlement_id).bind(e.feature_id).bind(&e.event_id).bind(e.quantity).bind(e.at).bind(now);
            }
            for row in q.fetch_all(&mut *tx).await? {
                let (ent, feature, qty, at): (i64, i64, i64, i64) =
                    (row.try_get("entitlement_id")?, row.try_get("feature_id")?, row.try_get("quantity")?, row.try_get("at")?);
                let day = rollup.entry((ent, feature, at.div_euclid(DAY) * DAY)).or_default();
                *day = day.saturating_add(qty);
                counted.push((ent, feature, at, qty));
            }
        }
        let rows: Vec<_> = rollup.into_iter().collect();
        for chunk in rows.chunks(CHUNK) {
            let mut sql = String::from("INSERT INTO usage_daily (entitlement_id, feature_id, day, quantity) VALUES ");
            self.push_value_rows(&mut sql, chunk.len(), 4);
            sql.push_str(
                " ON CONFLICT (entitlement_id, feature_id, day) DO UPDATE SET quantity = CASE \
                 WHEN usage_daily.quantity > 9223372036854775807 - excluded.quantity THEN 9223372036854775807 \
                 ELSE usage_daily.quantity + excluded.quantity END",
            );
            let mut q = sqlx::query(&sql);
            for ((ent, feature, day), qty) in chunk {
                q = q.bind(*ent).bind(*feature).bind(*day).bind(*qty);
            }
            q.execute(&mut *tx).await?;
        }
        let accepted = counted.len() as i64;
        if accepted > 0 {
            // One event per batch: usage is a flow of facts, not a change anyone made by hand.
            let customer = events.first().map(|e| e.customer_id).filter(|c| events.iter().all(|e| e.customer_id == *c));
            audit::record(
                &mut tx,
                NewAuditEvent {
                    actor,
                    customer_id: customer,
                    kind: EventKind::UsageRecorded,
                    subject: "usage:batch".to_owned(),
                    before: None,
                    after: Some(
                        serde_json::json!({"events": events.len(), "counted": accepted, "units": counted.iter().map(|c| c.3).sum::<i64>()}),
                    ),
                },
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(UsageReceipt { accepted, duplicates: events.len() as i64 - accepted, counted })
    }
}
