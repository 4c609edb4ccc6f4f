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

    /// The vendor's back office calling with API key `id`.
    pub fn api_key(id: i64) -> Actor {
        Actor { user_id: None, label: format!("{API_KEY_PREFIX}{id}") }
    }

    /// The API key acting, when it is one.
    pub fn api_key_id(&self) -> Option<i64> {
        self.label.strip_prefix(API_KEY_PREFIX).filter(|_| self.user_id.is_none()).and_then(|id| id.parse().ok())
    }

    /// Who gives an approval: a person (`user:<id>`), or the vendor's systems (`api`),
    /// one approver however many API keys they hold.
    pub fn approver(&self) -> String {
        match (self.user_id, self.api_key_id()) {
            (Some(user), _) => format!("user:{user}"),
            (None, Some(_)) => "api".to_owned(),
            (None, None) => self.label.clone(),
        }
    }
}

/// How an API key is named in the audit log.
const API_KEY_PREFIX: &str = "api-key:";

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

/// One event's fields as its link in the chain covers them.
#[derive(Debug, Clone, Copy)]
pub struct Link<'a> {
    pub prev_hash: &'a str,
    pub seq: i64,
    pub at: i64,
    pub actor_id: Option<i64>,
    pub actor: &'a str,
    pub customer_id: Option<i64>,
    pub kind: &'a str,
    pub subject: &'a str,
    pub before: Option<&'a str>,
    pub after: Option<&'a str>,
}

/// How links are computed; every event records the one it was written with, and a chain
/// never goes back to an older one.
pub const CHAIN_UNKEYED: i64 = 1;
/// HMAC-SHA-256 under a key derived from the deployment's secret, over the actor's id too:
/// without the secret, no one can write a link that verifies.
pub const CHAIN_KEYED: i64 = 2;

/// Feeds `parts` to `update`, each length-prefixed (an absent one marked as such), so that
/// no two different events hash alike.
fn feed(mut update: impl FnMut(&[u8]), parts: &[Option<&str>]) {
    for part in parts {
        match part {
            Some(p) => {
                update(&(p.len() as u64).to_be_bytes());
                update(p.as_bytes());
            }
            None => update(&u64::MAX.to_be_bytes()),
        }
    }
}

impl Link<'_> {
    /// This link's hash as `version` computes it (`secret` keys [`CHAIN_KEYED`]); `None`
    /// for a version this build does not know.
    pub fn hash(&self, version: i64, secret: &super::secret::Secret) -> Option<String> {
        use hmac::Mac;
        let (seq, at) = (self.seq.to_string(), self.at.to_string());
        let customer = self.customer_id.map(|c| c.to_string());
        let common = [
            Some(self.prev_hash),
            Some(&*seq),
            Some(&*at),
            Some(self.actor),
            customer.as_deref(),
            Some(self.kind),
            Some(self.subject),
            self.before,
            self.after,
        ];
        match version {
            CHAIN_UNKEYED => {
                let mut h = Sha256::new();
                feed(|b| h.update(b), &common);
                Some(crate::engine::licensing::hex(&h.finalize()))
            }
            CHAIN_KEYED => {
                let actor_id = self.actor_id.map(|a| a.to_string());
                let mut mac = secret.audit_mac();
                feed(|b| mac.update(b), &common);
                feed(|b| mac.update(b), &[actor_id.as_deref()]);
                Some(crate::engine::licensing::hex(&mac.finalize().into_bytes()))
            }
            _ => None,
        }
    }
}

/// Appends `event` inside `tx`. Moving the chain's head first takes the write lock on
/// both engines, so concurrent writers chain one after another.
pub async fn record(tx: &mut Write<'_>, event: NewAuditEvent<'_>, at: i64) -> Result<i64, StoreError> {
    let head = sqlx::query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash").fetch_one(&mut **tx).await?;
    let seq: i64 = head.try_get("seq")?;
    let prev: String = head.try_get("hash")?;
    let before = event.before.map(|v| v.to_string());
    let after = event.after.map(|v| v.to_string());
    let link = Link {
        prev_hash: &prev,
        seq,
        at,
        actor_id: event.actor.user_id,
        actor: &event.actor.label,
        customer_id: event.customer_id,
        kind: event.kind.as_str(),
        subject: &event.subject,
        before: before.as_deref(),
        after: after.as_deref(),
    };
    let hash = link.hash(CHAIN_KEYED, tx.store().secret()).unwrap_or_default();
    sqlx::query(
        "INSERT INTO audit_events (seq, at, actor_id, actor, customer_id, kind, subject, before_json, after_json, prev_hash, hash, chain)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
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
    .bind(CHAIN_KEYED)
    .execute(&mut **tx)
    .await?;
    sqlx::query("INSERT INTO audit_actors (actor) VALUES ($1) ON CONFLICT (actor) DO NOTHING")
        .bind(&event.actor.label)
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

/// A search by actor matching at most this many of those who have acted reads a page of
/// each one's events by the index, newest first, and merges them.
const ACTORS_EACH: usize = 32;
/// One matching more, up to this many, whose events are fewer than one in [`SPARSE`] of the
/// log, reads all their events by the index and sorts them (at most a hundredth of the log);
/// any other reads the log from the newest event down, meeting a match every hundred events
/// or sooner.
const ACTORS_SORTED: usize = 2_000;
const SPARSE: i64 = 100;

/// How a search by actor reads the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditPlan {
    /// From the newest event down, matching each event's actor.
    Scan,
    /// A page of each of these actors' events by the index, merged.
    Each(Vec<String>),
    /// Every event of these actors by the index, sorted.
    Sorted(Vec<String>),
}

impl AuditPlan {
    /// The quicker way to read the events of `actors`, who acted `events` times (counted
    /// up to a hundredth of the log and no further), out of a log of `log` events.
    pub fn choose(actors: Vec<String>, events: i64, log: i64) -> AuditPlan {
        if actors.len() <= ACTORS_EACH {
            AuditPlan::Each(actors)
        } else if actors.len() <= ACTORS_SORTED && events.saturating_mul(SPARSE) < log {
            AuditPlan::Sorted(actors)
        } else {
            AuditPlan::Scan
        }
    }
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
    /// Audit events matching `filter`, newest first, at most `limit`. Only the conditions
    /// given are written into the query, so the customer's index serves a customer's page.
    /// A search by actor first reads who has ever acted: none matching is an empty page at
    /// once; otherwise [`AuditPlan::choose`] picks how to read them.
    pub async fn search_audit_events(&self, filter: &AuditFilter, limit: i64) -> Result<Vec<AuditRow>, StoreError> {
        let plan = match super::console::like_pattern(filter.actor.as_deref(), false) {
            None => AuditPlan::Scan,
            Some(pattern) => {
                let actors: Vec<String> =
                    sqlx::query_scalar("SELECT actor FROM audit_actors WHERE LOWER(actor) LIKE $1 ESCAPE '\\' LIMIT $2")
                        .bind(pattern)
                        .bind(ACTORS_SORTED as i64 + 1)
                        .fetch_all(self.pool())
                        .await?;
                if actors.is_empty() {
                    return Ok(Vec::new());
                }
                let log: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM audit_events").fetch_one(self.pool()).await?;
                // Their events counted by the index, no further than the hundredth of the
                // log that decides: nothing is counted as events are written.
                let events: i64 = if actors.len() > ACTORS_EACH && actors.len() <= ACTORS_SORTED {
                    let sql = format!(
                        "SELECT COUNT(*) FROM (SELECT 1 FROM audit_events WHERE actor IN ({}) LIMIT $2) AS hits",
                        self.actors_among("$1")
                    );
                    sqlx::query_scalar(&sql)
                        .bind(serde_json::to_string(&actors).unwrap_or_default())
                        .bind(log / SPARSE + 1)
                        .fetch_one(self.pool())
                        .await?
                } else {
                    0
                };
                AuditPlan::choose(actors, events, log)
            }
        };
        self.read_audit_events(filter, &plan, limit).await
    }

    /// A list of names given as one JSON array parameter, for `actor IN (…)`.
    fn actors_among(&self, param: &str) -> String {
        match self.engine() {
            super::Engine::Sqlite => format!("SELECT value FROM json_each({param})"),
            super::Engine::Postgres => format!("SELECT jsonb_array_elements_text(CAST({param} AS jsonb))"),
        }
    }

    /// Audit events matching `filter`, newest first, at most `limit`, read as `plan` says
    /// (every plan finds the same events; the tests compare them).
    pub async fn read_audit_events(&self, filter: &AuditFilter, plan: &AuditPlan, limit: i64) -> Result<Vec<AuditRow>, StoreError> {
        use super::console::like_pattern;
        const COLUMNS: &str =
            "SELECT seq, at, actor, customer_id, kind, subject, before_json, after_json, prev_hash, hash FROM audit_events
             WHERE seq < $1 AND ($2 = $2 AND $3 = $3 AND $4 = $4 AND $5 = $5 AND $6 = $6)";
        let actor = like_pattern(filter.actor.as_deref(), false);
        let kind = like_pattern(filter.kind.as_deref(), true);
        let mut conditions = String::new();
        if filter.customer_id.is_some() {
            conditions.push_str(" AND customer_id = $2");
        }
        if kind.is_some() {
            conditions.push_str(" AND kind LIKE $4 ESCAPE '\\'");
        }
        if filter.from.is_some() {
            conditions.push_str(" AND at >= $5");
        }
        if filter.to.is_some() {
            conditions.push_str(" AND at < $6");
        }
        let names: &[String] = match plan {
            AuditPlan::Each(names) | AuditPlan::Sorted(names) => names,
            AuditPlan::Scan => &[],
        };
        let sql = match plan {
            AuditPlan::Scan if actor.is_some() => {
                format!("{COLUMNS}{conditions} AND LOWER(actor) LIKE $3 ESCAPE '\\' ORDER BY seq DESC LIMIT $7")
            }
            AuditPlan::Scan => format!("{COLUMNS}{conditions} ORDER BY seq DESC LIMIT $7"),
            AuditPlan::Each(_) => {
                let each: Vec<String> = (0..names.len())
                    .map(|i| format!("SELECT * FROM ({COLUMNS}{conditions} AND actor = ${} ORDER BY seq DESC LIMIT $7) AS by{i}", i + 8))
                    .collect();
                format!("{} ORDER BY seq DESC LIMIT $7", each.join(" UNION ALL "))
            }
            // Materialised, so that no plan walks the log from the newest event down in the
            // hope of meeting these actors soon: their events are read by the index, then the
            // newest taken.
            AuditPlan::Sorted(_) => {
                let among = self.actors_among("$8");
                format!(
                    "WITH picked AS MATERIALIZED (SELECT seq FROM audit_events WHERE seq < $1{conditions} AND actor IN ({among}))
                     {COLUMNS} AND seq IN (SELECT seq FROM picked ORDER BY seq DESC LIMIT $7) ORDER BY seq DESC"
                )
            }
        };
        let mut query = sqlx::query_as::<_, AuditRow>(&sql)
            .bind(filter.before_seq.unwrap_or(i64::MAX))
            .bind(filter.customer_id.unwrap_or(0))
            .bind(actor.unwrap_or_default())
            .bind(kind.unwrap_or_default())
            .bind(filter.from.unwrap_or(0))
            .bind(filter.to.unwrap_or(0))
            .bind(limit);
        match plan {
            AuditPlan::Scan => {}
            AuditPlan::Each(names) => {
                for name in names {
                    query = query.bind(name);
                }
            }
            AuditPlan::Sorted(names) => query = query.bind(serde_json::to_string(names).unwrap_or_default()),
        }
        Ok(query.fetch_all(self.pool()).await?)
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
        let mut newest_version = CHAIN_UNKEYED;
        let mut last_seq = 0;
        let mut events = 0;
        loop {
            let rows = sqlx::query(
                "SELECT seq, at, actor_id, actor, customer_id, kind, subject, before_json, after_json, prev_hash, hash, chain
                 FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .bind(last_seq)
            .bind(PAGE)
            .fetch_all(self.pool())
            .await?;
            let done = (rows.len() as i64) < PAGE;
            for r in rows {
                events += 1;
                let seq: i64 = r.try_get("seq")?;
                let version: i64 = r.try_get("chain")?;
                let (actor, kind, subject): (String, String, String) = (r.try_get("actor")?, r.try_get("kind")?, r.try_get("subject")?);
                let (before, after): (Option<String>, Option<String>) = (r.try_get("before_json")?, r.try_get("after_json")?);
                let link = Link {
                    prev_hash: &prev,
                    seq,
                    at: r.try_get("at")?,
                    actor_id: r.try_get("actor_id")?,
                    actor: &actor,
                    customer_id: r.try_get("customer_id")?,
                    kind: &kind,
                    subject: &subject,
                    before: before.as_deref(),
                    after: after.as_deref(),
                };
                let (prev_hash, hash): (String, String) = (r.try_get("prev_hash")?, r.try_get("hash")?);
                // Sequence numbers have no gaps (a missing one is a removed event), and a
                // chain never goes back to an older way of computing links.
                let intact = seq == last_seq + 1
                    && version >= newest_version
                    && prev_hash == prev
                    && link.hash(version, self.secret()).is_some_and(|expect| expect == hash);
                if !intact {
                    return Ok(AuditReport { events, broken_at: Some(seq), head_matches: false });
                }
                newest_version = version;
                last_seq = seq;
                prev = hash;
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

impl super::Store {
    /// The chain's tip: the newest event's sequence number and hash (0 and zeros before the first).
    pub async fn audit_tip(&self) -> Result<(i64, String), StoreError> {
        let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1").fetch_one(self.pool()).await?;
        Ok((head.try_get("seq")?, head.try_get("hash")?))
    }

    /// The hash recorded for event `seq`, if the event is there.
    pub async fn audit_event_hash(&self, seq: i64) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT hash FROM audit_events WHERE seq = $1").bind(seq).fetch_optional(self.pool()).await?)
    }

    /// Keeps a signed checkpoint of the chain at event `seq` (once per event).
    pub async fn record_audit_checkpoint(&self, seq: i64, hash: &str, at: i64, token: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO audit_checkpoints (seq, hash, at, token) VALUES ($1, $2, $3, $4) ON CONFLICT (seq) DO NOTHING")
            .bind(seq)
            .bind(hash)
            .bind(at)
            .bind(token)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The newest checkpoint's event and when it was written, if any.
    pub async fn latest_audit_checkpoint(&self) -> Result<Option<(i64, i64)>, StoreError> {
        let row = sqlx::query("SELECT seq, at FROM audit_checkpoints ORDER BY seq DESC LIMIT 1").fetch_optional(self.pool()).await?;
        row.map(|r| Ok((r.try_get("seq")?, r.try_get("at")?))).transpose()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::secret::Secret;

    #[test]
    fn a_keyed_link_covers_the_actor_id_and_needs_the_secret() {
        let secret = Secret::from_bytes(Secret::generate());
        let link = Link {
            prev_hash: "00",
            seq: 7,
            at: 1_700_000_000,
            actor_id: Some(3),
            actor: "ada@initech.example",
            customer_id: Some(1),
            kind: "seat.assigned",
            subject: "seat:9",
            before: None,
            after: Some("{}"),
        };
        let keyed = link.hash(CHAIN_KEYED, &secret);
        assert!(keyed.is_some());
        assert_ne!(Link { actor_id: Some(4), ..link }.hash(CHAIN_KEYED, &secret), keyed, "the actor's id is covered");
        assert_ne!(link.hash(CHAIN_KEYED, &Secret::from_bytes(Secret::generate())), keyed, "another secret, another link");
        assert_eq!(
            Link { actor_id: Some(4), ..link }.hash(CHAIN_UNKEYED, &secret),
            link.hash(CHAIN_UNKEYED, &secret),
            "the old, unkeyed links left the id out"
        );
        assert_eq!(link.hash(99, &secret), None);
    }
}
