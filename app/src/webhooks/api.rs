//! Webhook endpoints and their delivery logs, as server functions for the console: vendor
//! admins only, reads too, for an endpoint's address and log belong to the vendor's own
//! systems. Each change goes through the store, which audits it; the REST API
//! (`/api/v1/webhooks`) offers the same to the vendor's systems.

use leptos::prelude::*;

use super::{DeliveryDetail, DeliveryLog, IssuedSecret, WebhooksView};
use crate::error::AppError;

/// Every endpoint, oldest first, with how many of its deliveries are pending, delivered
/// and failed; and the event types an endpoint may ask for. Vendor admins only.
#[server(prefix = "/api", endpoint = "get_webhooks")]
pub async fn get_webhooks() -> Result<WebhooksView, AppError> {
    let state = ssr_webhooks::admin().await?.state;
    let mut endpoints = Vec::new();
    for found in state.store.list_webhook_endpoints(None).await? {
        endpoints.push(ssr_webhooks::view(&state, found).await?);
    }
    Ok(WebhooksView { endpoints, event_types: ssr_webhooks::published_types() })
}

/// Adds an endpoint at `url` (`https://` or `http://`, on a private network only where the
/// deployment allows it), described as `description`, that receives the events of the
/// types in `event_types` (none: every published type) committed from now on. The answer
/// holds its signing secret, which is not shown again. Vendor admins only; audited.
/// Errors: `Invalid` on `url`, `description` or `event_types`.
#[server(prefix = "/api", endpoint = "create_webhook")]
pub async fn create_webhook(url: String, description: Option<String>, event_types: Option<Vec<String>>) -> Result<IssuedSecret, AppError> {
    use crate::store::webhooks::NewEndpoint;
    let caller = ssr_webhooks::admin().await?;
    let settings = ssr_webhooks::settings(&caller.state, &url, description.as_deref(), event_types)?;
    let new = NewEndpoint { product_id: None, url: &settings.url, description: &settings.description, event_types: &settings.event_types };
    let (made, secret) = caller.state.store.create_webhook_endpoint(&caller.actor, &new, crate::store::now()).await?;
    Ok(IssuedSecret { endpoint: made.id, url: made.url, secret, rotated: false, previous_until: None })
}

/// Sets endpoint `id`'s address, description and event types (none ticked: every
/// published type), as [`create_webhook`] takes them. Vendor admins only; audited when
/// something changed. Errors: `NotFound` for an unknown endpoint; `Invalid` on the field
/// at fault.
#[server(prefix = "/api", endpoint = "update_webhook")]
pub async fn update_webhook(id: i64, url: String, description: Option<String>, event_types: Option<Vec<String>>) -> Result<(), AppError> {
    use crate::ssr::StoreResultExt;
    use crate::store::webhooks::EndpointChange;
    let caller = ssr_webhooks::admin().await?;
    let settings = ssr_webhooks::settings(&caller.state, &url, description.as_deref(), event_types)?;
    let change = EndpointChange {
        url: Some(settings.url),
        description: Some(settings.description),
        event_types: Some(settings.event_types),
        enabled: None,
    };
    caller.state.store.update_webhook_endpoint(&caller.actor, id, &change, crate::store::now()).await.or_not_found("Webhook endpoint")?;
    Ok(())
}

/// Enables (`enabled` is `1`) or disables (`0`) endpoint `id`. A disabled endpoint is sent
/// nothing; enabled again, it goes on from the event it had reached, its failures
/// forgotten. Vendor admins only; audited. Errors: `NotFound` for an unknown endpoint;
/// `Invalid` on `enabled` for anything but `1` or `0`.
#[server(prefix = "/api", endpoint = "set_webhook_enabled")]
pub async fn set_webhook_enabled(id: i64, enabled: String) -> Result<(), AppError> {
    use crate::ssr::StoreResultExt;
    use crate::store::webhooks::EndpointChange;
    let caller = ssr_webhooks::admin().await?;
    let enabled = ssr_webhooks::switch(&enabled)?;
    let change = EndpointChange { enabled: Some(enabled), ..EndpointChange::default() };
    caller.state.store.update_webhook_endpoint(&caller.actor, id, &change, crate::store::now()).await.or_not_found("Webhook endpoint")?;
    Ok(())
}

/// Removes endpoint `id` with its delivery log. Vendor admins only; audited. Errors:
/// `NotFound` for an unknown endpoint.
#[server(prefix = "/api", endpoint = "remove_webhook")]
pub async fn remove_webhook(id: i64) -> Result<(), AppError> {
    use crate::ssr::StoreResultExt;
    let caller = ssr_webhooks::admin().await?;
    caller.state.store.remove_webhook_endpoint(&caller.actor, id, crate::store::now()).await.or_not_found("Webhook endpoint")
}

/// Gives endpoint `id` a new signing secret, in the answer and never shown again; the
/// secret before it keeps signing too for `overlap_hours` (0 to 168; 24 when empty), so
/// that the receiver can move to the new one without missing a delivery. Vendor admins
/// only; audited. Errors: `NotFound` for an unknown endpoint; `Invalid` on
/// `overlap_hours`.
#[server(prefix = "/api", endpoint = "rotate_webhook_secret")]
pub async fn rotate_webhook_secret(id: i64, overlap_hours: Option<String>) -> Result<IssuedSecret, AppError> {
    use crate::ssr::StoreResultExt;
    use crate::store::webhooks::{DEFAULT_OVERLAP, MAX_OVERLAP};
    let caller = ssr_webhooks::admin().await?;
    let most = MAX_OVERLAP / 3600;
    let message = format!("The secret before may keep signing for 0 to {most} hours.");
    let hours = crate::ssr::forms::number("overlap_hours", overlap_hours.as_deref(), 0..=most, &message)?;
    let overlap = hours.map_or(DEFAULT_OVERLAP, |h| h * 3600);
    let endpoint = ssr_webhooks::find_endpoint(&caller.state, id).await?;
    let (secret, previous_until) =
        caller.state.store.rotate_webhook_secret(&caller.actor, id, overlap, crate::store::now()).await.or_not_found("Webhook endpoint")?;
    Ok(IssuedSecret { endpoint: id, url: endpoint.url, secret, rotated: true, previous_until })
}

/// Endpoint `id` and a page of its delivery log, newest first: of `status` (`pending`,
/// `delivered`, `failed`) when given, older than delivery `before` when given. Vendor
/// admins only. Errors: `NotFound` for an unknown endpoint; `Invalid` on `status`.
#[server(prefix = "/api", endpoint = "get_webhook_deliveries")]
pub async fn get_webhook_deliveries(id: i64, status: Option<String>, before: Option<i64>) -> Result<DeliveryLog, AppError> {
    use crate::store::webhooks::deliveries::STATUSES;
    let state = ssr_webhooks::admin().await?.state;
    let status = crate::ssr::forms::optional(status.as_deref());
    if status.is_some_and(|s| !STATUSES.contains(&s)) {
        return Err(AppError::invalid("status", "Choose pending, delivered or failed."));
    }
    let endpoint = ssr_webhooks::find_endpoint(&state, id).await?;
    // One more than a page: whether there is an older page.
    let mut found = state.store.list_webhook_deliveries(id, status, before, super::PAGE + 1).await?;
    let page = usize::try_from(super::PAGE).unwrap_or(usize::MAX);
    let next_before = if found.len() > page {
        found.truncate(page);
        found.last().map(|d| d.id)
    } else {
        None
    };
    Ok(DeliveryLog {
        endpoint: ssr_webhooks::view(&state, endpoint).await?,
        event_types: ssr_webhooks::published_types(),
        status: status.map(str::to_owned),
        deliveries: found.into_iter().map(ssr_webhooks::delivery).collect(),
        next_before,
    })
}

/// Delivery `id` of endpoint `endpoint` with each of its attempts. Vendor admins only.
/// Errors: `NotFound` for an unknown endpoint, or a delivery it does not have.
#[server(prefix = "/api", endpoint = "get_webhook_delivery")]
pub async fn get_webhook_delivery(endpoint: i64, id: i64) -> Result<DeliveryDetail, AppError> {
    use crate::ssr::StoreResultExt;
    let state = ssr_webhooks::admin().await?.state;
    let found = ssr_webhooks::find_endpoint(&state, endpoint).await?;
    let (delivery, attempts) = state.store.webhook_delivery(endpoint, id).await.or_not_found("Delivery")?;
    Ok(DeliveryDetail {
        endpoint: ssr_webhooks::view(&state, found).await?,
        delivery: ssr_webhooks::delivery(delivery),
        attempts: attempts.into_iter().map(ssr_webhooks::attempt).collect(),
    })
}

/// Sends delivery `id` of endpoint `endpoint` again, at once and with a new retry window,
/// whatever became of it; its earlier attempts stay in the log, and the receiver is sent
/// the same `webhook-id`, so that it can tell a repeat. Vendor admins only; audited.
/// Errors: `NotFound` for an unknown endpoint, or a delivery it does not have.
#[server(prefix = "/api", endpoint = "resend_webhook_delivery")]
pub async fn resend_webhook_delivery(endpoint: i64, id: i64) -> Result<(), AppError> {
    use crate::ssr::StoreResultExt;
    let caller = ssr_webhooks::admin().await?;
    ssr_webhooks::find_endpoint(&caller.state, endpoint).await?;
    let now_ms = chrono::Utc::now().timestamp_millis();
    caller.state.store.resend_webhook_delivery(&caller.actor, endpoint, id, now_ms).await.or_not_found("Delivery")?;
    Ok(())
}

#[cfg(feature = "ssr")]
mod ssr_webhooks {
    use crate::error::AppError;
    use crate::ssr::auth::{Caller, Guard, Roles};
    use crate::ssr::{AppState, StoreResultExt};
    use crate::store::webhooks::deliveries::{AttemptRow, DeliveryRow};
    use crate::store::webhooks::Endpoint;
    use crate::store::EventKind;
    use crate::webhooks::{AttemptView, DeliveryCounts, DeliveryView, EventTypeView, WebhookView};

    /// The most event types a form may name.
    const MAX_TYPES: usize = 100;

    /// The signed-in vendor admin: only they see and change webhooks. `Unauthenticated` or
    /// `Forbidden` for anyone else.
    pub async fn admin() -> Result<Caller, AppError> {
        Guard::new().role(Roles::VENDOR_ADMIN).caller().await
    }

    /// Endpoint `id`; `NotFound` when there is none.
    pub async fn find_endpoint(state: &AppState, id: i64) -> Result<Endpoint, AppError> {
        state.store.webhook_endpoint(id).await.or_not_found("Webhook endpoint")
    }

    /// The published kinds of the event catalog, in its order: what an endpoint may ask for.
    pub fn published_types() -> Vec<EventTypeView> {
        EventKind::ALL
            .iter()
            .filter(|k| k.published())
            .map(|k| EventTypeView { name: k.as_str().to_owned(), description: k.description().to_owned() })
            .collect()
    }

    /// `e` as the console shows it, with its delivery counts.
    pub async fn view(state: &AppState, e: Endpoint) -> Result<WebhookView, AppError> {
        let counts = state.store.webhook_delivery_counts(e.id).await?;
        let now = crate::store::now();
        Ok(WebhookView {
            id: e.id,
            url: e.url,
            description: e.description,
            event_types: e.event_types,
            enabled: e.enabled,
            disabled_reason: e.disabled_reason,
            failing_since: e.failing_since,
            previous_until: e.previous_until.filter(|until| *until > now),
            created_at: e.created_at,
            counts: DeliveryCounts { pending: counts.pending, delivered: counts.delivered, failed: counts.failed },
        })
    }

    pub fn delivery(d: DeliveryRow) -> DeliveryView {
        DeliveryView {
            id: d.id,
            event_id: d.event_seq,
            kind: d.kind,
            next_attempt_at: (d.status == "pending").then(|| d.next_attempt_ms.div_euclid(1000)),
            status: d.status,
            attempts: d.attempts,
            last_attempt_at: d.last_attempt_at,
            last_status: d.last_status,
            last_error: d.last_error,
            created_at: d.created_at,
        }
    }

    pub fn attempt(a: AttemptRow) -> AttemptView {
        AttemptView { attempt: a.attempt, at: a.at, duration_ms: a.duration_ms, status: a.status, error: a.error, response: a.response }
    }

    /// An endpoint's settings as a form sends them, checked.
    pub struct Settings {
        pub url: String,
        pub description: String,
        pub event_types: Vec<EventKind>,
    }

    /// Checks a form's `url` (see [`crate::ssr::webhooks::endpoint_url`]; private networks
    /// only where the deployment allows them), `description` (at most
    /// [`crate::ssr::webhooks::MAX_DESCRIPTION`] characters, may be empty) and
    /// `event_types` (published kinds, at most [`MAX_TYPES`]). `Invalid` on the field at fault.
    pub fn settings(
        state: &AppState,
        url: &str,
        description: Option<&str>,
        event_types: Option<Vec<String>>,
    ) -> Result<Settings, AppError> {
        use crate::ssr::webhooks::{endpoint_url, event_types as kinds, MAX_DESCRIPTION};
        let url = endpoint_url("url", url, state.webhooks.allow_private)?;
        let description = description.unwrap_or_default().trim().to_owned();
        if description.chars().count() > MAX_DESCRIPTION {
            return Err(AppError::invalid("description", format!("A description is at most {MAX_DESCRIPTION} characters.")));
        }
        let names = event_types.unwrap_or_default();
        if names.len() > MAX_TYPES {
            return Err(AppError::invalid("event_types", format!("Tick at most {MAX_TYPES} event types.")));
        }
        let event_types = kinds("event_types", names.iter().map(String::as_str))?;
        Ok(Settings { url, description, event_types })
    }

    /// The state a form's `enabled` asks for: `1` on, `0` off; `Invalid` on `enabled` otherwise.
    pub fn switch(raw: &str) -> Result<bool, AppError> {
        match raw.trim() {
            "1" => Ok(true),
            "0" => Ok(false),
            _ => Err(AppError::invalid("enabled", "Enable (1) or disable (0) the endpoint.")),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn a_switch_is_one_or_zero() {
            assert_eq!(switch(" 1 ").ok(), Some(true));
            assert_eq!(switch("0").ok(), Some(false));
            for other in ["", "on", "yes", "2"] {
                assert!(matches!(switch(other), Err(AppError::Invalid { .. })), "{other:?}");
            }
        }

        #[test]
        fn only_published_kinds_are_offered() {
            let offered = published_types();
            assert!(offered.iter().any(|t| t.name == "entitlement.suspended"));
            assert!(offered.iter().all(|t| EventKind::parse(&t.name).is_some_and(EventKind::published)));
            assert!(!offered.iter().any(|t| t.name == "user.signed_in"), "sign-ins are not published");
        }
    }
}
