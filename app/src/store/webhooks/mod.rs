//! Webhook endpoints: where the vendor's systems are told of every published event, each
//! with its signing secret (sealed under the deployment's secret, shown once, rotated
//! with an overlap) and the audit log's sequence number it has been given deliveries up
//! to. The deliveries themselves, their attempts and retries are in [`deliveries`].

pub mod deliveries;

use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::audit::{self, Actor, NewAuditEvent};
use super::events::EventKind;
use super::{Store, StoreError};

/// How deliveries are retried and when a failing endpoint is disabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookPolicy {
    /// The wait before the first retry; each wait after is three times the time since the
    /// first attempt, so the attempts come four times further apart each time (at most
    /// [`LONGEST_WAIT`] apart), give or take a tenth.
    pub first_retry: Duration,
    /// How long after its first attempt a delivery is retried before it is given up.
    pub retry_for: Duration,
    /// How long an endpoint may fail every attempt before it is disabled.
    pub disable_after: Duration,
    /// How long one attempt may take.
    pub timeout: Duration,
    /// Whether endpoints may be on loopback or private networks (a deployment's own
    /// receivers, tests); off, such addresses are refused when set and when resolved.
    pub allow_private: bool,
}

/// The longest wait between two attempts.
pub const LONGEST_WAIT: Duration = Duration::from_secs(8 * 3600);

impl Default for WebhookPolicy {
    fn default() -> WebhookPolicy {
        WebhookPolicy {
            first_retry: Duration::from_secs(5),
            retry_for: Duration::from_secs(24 * 3600),
            disable_after: Duration::from_secs(5 * 24 * 3600),
            timeout: Duration::from_secs(15),
            allow_private: false,
        }
    }
}

impl WebhookPolicy {
    /// The wait after a failed attempt made `elapsed` after the delivery's first (or its
    /// resend), before jitter: 5 s, 15 s, 60 s, 4 min, … with the defaults, so that the
    /// attempts fall at 0, 5 s, 20 s, 80 s, 5 min 20 s, … after the first.
    pub fn wait_after(&self, elapsed: Duration) -> Duration {
        elapsed.saturating_mul(3).max(self.first_retry).min(LONGEST_WAIT)
    }
}

/// The prefix of a signing secret, as the Standard Webhooks specification writes them.
pub const SECRET_PREFIX: &str = "whsec_";
/// How long the secret before a rotation still signs, when the caller does not say.
pub const DEFAULT_OVERLAP: i64 = 24 * 3600;
/// The longest overlap a rotation may ask for.
pub const MAX_OVERLAP: i64 = 7 * 24 * 3600;

/// A fresh signing secret: `whsec_` and 32 random bytes in base64.
pub fn new_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", B64.encode(bytes))
}

/// The key bytes of a `whsec_` secret; `None` when it is not one.
pub fn secret_key(secret: &str) -> Option<Vec<u8>> {
    B64.decode(secret.strip_prefix(SECRET_PREFIX)?).ok()
}

/// A webhook endpoint, without its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub id: i64,
    /// The product whose API keys manage it; `None` when made in the console.
    pub product_id: Option<i64>,
    pub url: String,
    pub description: String,
    /// The types it receives; empty for every published type.
    pub event_types: Vec<String>,
    pub enabled: bool,
    /// Why it was disabled, while it is.
    pub disabled_reason: Option<String>,
    /// Since when every attempt has failed.
    pub failing_since: Option<i64>,
    /// Until when the secret before the last rotation still signs too.
    pub previous_until: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Endpoint {
    /// Whether it receives events of `kind`.
    pub fn wants(&self, kind: &str) -> bool {
        self.event_types.is_empty() || self.event_types.iter().any(|t| t == kind)
    }

    fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "url": self.url,
            "description": self.description,
            "event_types": self.event_types,
            "enabled": self.enabled,
        })
    }
}

/// A new endpoint, its fields checked by the caller.
#[derive(Debug, Clone)]
pub struct NewEndpoint<'a> {
    /// The product of the API key that makes it; `None` in the console.
    pub product_id: Option<i64>,
    pub url: &'a str,
    pub description: &'a str,
    pub event_types: &'a [EventKind],
}

/// A change of an endpoint: what is `None` stays as it is.
#[derive(Debug, Clone, Default)]
pub struct EndpointChange {
    pub url: Option<String>,
    pub description: Option<String>,
    pub event_types: Option<Vec<EventKind>>,
    pub enabled: Option<bool>,
}

const COLUMNS: &str =
    "id, product_id, url, description, event_types, enabled, disabled_reason, failing_since, previous_until, created_at, updated_at";

fn endpoint(row: &AnyRow) -> Result<Endpoint, StoreError> {
    let types: String = row.try_get("event_types")?;
    Ok(Endpoint {
        id: row.try_get("id")?,
        product_id: row.try_get("product_id")?,
        url: row.try_get("url")?,
        description: row.try_get("description")?,
        event_types: types.split_whitespace().map(str::to_owned).collect(),
        enabled: row.try_get::<i64, _>("enabled")? != 0,
        disabled_reason: row.try_get("disabled_reason")?,
        failing_since: row.try_get("failing_since")?,
        previous_until: row.try_get("previous_until")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn types_text(types: &[EventKind]) -> String {
    types.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(" ")
}

/// Endpoint `id` inside a write, its row locked for the rest of it.
pub(crate) async fn lock_endpoint(tx: &mut super::Write<'_>, id: i64) -> Result<Endpoint, StoreError> {
    let row = sqlx::query(&format!("UPDATE webhook_endpoints SET updated_at = updated_at WHERE id = $1 RETURNING {COLUMNS}"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    endpoint(&row)
}

async fn record(
    tx: &mut super::Write<'_>,
    actor: &Actor,
    kind: EventKind,
    id: i64,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
    now: i64,
) -> Result<(), StoreError> {
    let event = NewAuditEvent { actor, customer_id: None, kind, subject: format!("webhook_endpoint:{id}"), before, after };
    audit::record(tx, event, now).await.map(|_| ())
}

impl Store {
    /// Makes an endpoint that receives events committed from now on; returns it with its
    /// signing secret, which is not shown again. Audited as `webhook.endpoint_created`.
    pub async fn create_webhook_endpoint(&self, actor: &Actor, new: &NewEndpoint<'_>, now: i64) -> Result<(Endpoint, String), StoreError> {
        let secret = new_secret();
        let mut tx = self.begin_write().await?;
        let head: i64 = sqlx::query_scalar("SELECT seq FROM audit_head WHERE id = 1").fetch_one(&mut *tx).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO webhook_endpoints (product_id, url, description, event_types, secret, enabled, cursor, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $7) RETURNING id",
        )
        .bind(new.product_id)
        .bind(new.url)
        .bind(new.description)
        .bind(types_text(new.event_types))
        .bind(self.secret().seal(secret.as_bytes()))
        .bind(head)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let made = lock_endpoint(&mut tx, id).await?;
        record(&mut tx, actor, EventKind::WebhookEndpointCreated, id, None, Some(made.snapshot()), now).await?;
        tx.commit().await?;
        Ok((made, secret))
    }

    /// Endpoint `id`; `NotFound` when there is none.
    pub async fn webhook_endpoint(&self, id: i64) -> Result<Endpoint, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM webhook_endpoints WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        endpoint(&row)
    }

    /// Every endpoint, oldest first; only those product `product`'s API keys made, when
    /// given.
    pub async fn list_webhook_endpoints(&self, product: Option<i64>) -> Result<Vec<Endpoint>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM webhook_endpoints WHERE ($1 < 0 OR product_id = $1) ORDER BY id"))
            .bind(product.unwrap_or(-1))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(endpoint).collect()
    }

    /// Changes endpoint `id`. A change of address, description or types is audited as
    /// `webhook.endpoint_updated`; disabling as `webhook.endpoint_disabled`, enabling as
    /// `webhook.endpoint_enabled` (it goes on from the event it had reached, and its
    /// failures are forgotten). Nothing is recorded when nothing changes.
    pub async fn update_webhook_endpoint(&self, actor: &Actor, id: i64, change: &EndpointChange, now: i64) -> Result<Endpoint, StoreError> {
        let mut tx = self.begin_write().await?;
        let before = lock_endpoint(&mut tx, id).await?;
        let url = change.url.clone().unwrap_or_else(|| before.url.clone());
        let description = change.description.clone().unwrap_or_else(|| before.description.clone());
        let types = change.event_types.as_deref().map(types_text).unwrap_or_else(|| before.event_types.join(" "));
        let settings_changed = url != before.url || description != before.description || types != before.event_types.join(" ");
        let enabled = change.enabled.unwrap_or(before.enabled);
        if !settings_changed && enabled == before.enabled {
            return tx.roll_back(Ok(before)).await;
        }
        let reason = (!enabled).then(|| before.disabled_reason.clone().unwrap_or_else(|| format!("disabled by {}", actor.label)));
        sqlx::query(
            "UPDATE webhook_endpoints SET url = $1, description = $2, event_types = $3, enabled = $4, disabled_reason = $5,
                 failing_since = CASE WHEN $4 = 1 AND enabled = 0 THEN NULL ELSE failing_since END, updated_at = $6
             WHERE id = $7",
        )
        .bind(&url)
        .bind(&description)
        .bind(&types)
        .bind(i64::from(enabled))
        .bind(&reason)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let after = lock_endpoint(&mut tx, id).await?;
        if settings_changed {
            record(&mut tx, actor, EventKind::WebhookEndpointUpdated, id, Some(before.snapshot()), Some(after.snapshot()), now).await?;
        }
        if enabled != before.enabled {
            let kind = if enabled { EventKind::WebhookEndpointEnabled } else { EventKind::WebhookEndpointDisabled };
            let after_json = serde_json::json!({ "enabled": enabled, "reason": reason });
            record(&mut tx, actor, kind, id, Some(serde_json::json!({ "enabled": before.enabled })), Some(after_json), now).await?;
        }
        tx.commit().await?;
        Ok(after)
    }

    /// Removes endpoint `id` with its delivery log, audited as `webhook.endpoint_removed`.
    pub async fn remove_webhook_endpoint(&self, actor: &Actor, id: i64, now: i64) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let before = lock_endpoint(&mut tx, id).await?;
        sqlx::query("DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE endpoint_id = $1)")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM webhook_deliveries WHERE endpoint_id = $1").bind(id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1").bind(id).execute(&mut *tx).await?;
        record(&mut tx, actor, EventKind::WebhookEndpointRemoved, id, Some(before.snapshot()), None, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Gives endpoint `id` a new signing secret, returned once; the one before signs too
    /// for `overlap` seconds (0: stops at once), so that a receiver can move to the new
    /// one without missing a delivery. Audited as `webhook.secret_rotated`.
    pub async fn rotate_webhook_secret(&self, actor: &Actor, id: i64, overlap: i64, now: i64) -> Result<(String, Option<i64>), StoreError> {
        let secret = new_secret();
        let mut tx = self.begin_write().await?;
        lock_endpoint(&mut tx, id).await?;
        let until = (overlap > 0).then_some(now + overlap.min(MAX_OVERLAP));
        sqlx::query(
            "UPDATE webhook_endpoints SET previous_secret = CASE WHEN $1 IS NULL THEN NULL ELSE secret END, previous_until = $1,
                 secret = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(until)
        .bind(self.secret().seal(secret.as_bytes()))
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        record(&mut tx, actor, EventKind::WebhookSecretRotated, id, None, Some(serde_json::json!({ "previous_signs_until": until })), now)
            .await?;
        tx.commit().await?;
        Ok((secret, until))
    }

    /// The secrets endpoint `id` is signed with at `now`: the current one first, then the
    /// one before a rotation while its overlap lasts. A secret sealed under another
    /// deployment secret is left out.
    pub(crate) async fn webhook_secrets(&self, conn: &mut sqlx::AnyConnection, id: i64, now: i64) -> Result<Vec<String>, StoreError> {
        let row = sqlx::query("SELECT secret, previous_secret, previous_until FROM webhook_endpoints WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(StoreError::NotFound)?;
        let current: String = row.try_get("secret")?;
        let previous: Option<String> = row.try_get("previous_secret")?;
        let until: Option<i64> = row.try_get("previous_until")?;
        let open = |sealed: &str| self.secret().open(sealed).and_then(|s| String::from_utf8(s).ok());
        let mut secrets: Vec<String> = open(&current).into_iter().collect();
        if let (Some(previous), Some(until)) = (previous, until) {
            if until > now {
                secrets.extend(open(&previous));
            }
        }
        Ok(secrets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_whsec_base64_of_32_bytes() {
        let secret = new_secret();
        assert!(secret.starts_with("whsec_"));
        assert_eq!(secret_key(&secret).map(|k| k.len()), Some(32));
        assert_ne!(secret, new_secret());
        assert_eq!(secret_key("whsec_***"), None);
        assert_eq!(secret_key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), None);
    }

    #[test]
    fn attempts_fall_four_times_further_apart_up_to_eight_hours_and_a_day_holds_ten() {
        let policy = WebhookPolicy::default();
        let (mut at, mut times) = (0u64, vec![0u64]);
        while at + policy.wait_after(Duration::from_secs(at)).as_secs() <= policy.retry_for.as_secs() {
            at += policy.wait_after(Duration::from_secs(at)).as_secs();
            times.push(at);
        }
        assert_eq!(times, vec![0, 5, 20, 80, 320, 1280, 5120, 20480, 49280, 78080]);
        assert_eq!(policy.wait_after(Duration::from_secs(1_000_000)), LONGEST_WAIT);
        assert_eq!(policy.wait_after(Duration::ZERO), policy.first_retry, "a resend starts again from the first wait");
    }
}
