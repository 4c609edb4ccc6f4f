//! `POST /api/v1/orders`: a purchase relayed by the vendor's CRM or billing, turned by the
//! catalog's SKUs into a new or changed entitlement.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use serde::{Deserialize, Serialize};

use super::customers::{external_id, Customer};
use super::entitlements::Entitlement;
use super::{answer, reason, Invitation};
use crate::api::{ApiError, ApiJson, Caller, Problem, Scope};
use app::ssr::{forms, AppState};
use app::store::provisioning::orders::{Order, OrderRefusal};
use app::store::provisioning::{NewAdmin, NewOrganisation};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/orders", post(place))
}

/// The customer an order is for, by the CRM's id; the rest creates it when no customer
/// has that id yet.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderCustomer {
    #[schema(max_length = 200)]
    pub external_id: String,
    /// Needed to create it.
    #[schema(max_length = 120)]
    pub name: Option<String>,
    /// Its address in the portal; made from the name when absent.
    #[schema(max_length = 40)]
    pub slug: Option<String>,
    /// Its first admin, invited when the customer is created.
    pub admin: Option<super::customers::NewAdminBody>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderBody {
    pub customer: OrderCustomer,
    /// A SKU of the catalog (`GET /api/v1/skus`).
    #[schema(max_length = 64)]
    pub sku: String,
    /// Seats for a plan's SKU (1–1,000,000); 1 for an add-on's.
    #[schema(minimum = 1, maximum = 1_000_000)]
    #[serde(deserialize_with = "crate::api::whole")]
    pub quantity: i64,
    /// Months paid for: a new entitlement renews after them, an existing one is renewed
    /// for them. No term: no renewal date, nothing renewed.
    #[schema(minimum = 1, maximum = 120)]
    #[serde(default, deserialize_with = "crate::api::whole_or_none")]
    pub term_months: Option<i64>,
    /// The entitlement's id in the CRM or billing (a subscription, a contract).
    #[schema(max_length = 200)]
    pub external_id: Option<String>,
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PlacedOrder {
    pub customer: Customer,
    pub entitlement: Entitlement,
    /// The new customer's admin's invitation, when the order created the customer.
    pub invitation: Option<Invitation>,
    /// The events the order recorded, in order (`customer.created`, `entitlement.granted`, …).
    pub events: Vec<String>,
}

/// A slug made from a name: lower-case letters and digits, other runs as one dash.
fn slug_from(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug: String = slug.trim_end_matches('-').chars().take(40).collect();
    slug.trim_end_matches('-').to_owned()
}

/// Places an order: creates the customer when it is new, then grants the SKU's plan
/// (the quantity as seats, renewing after the term), moves an existing entitlement to it
/// and renews it for the term, or adds the SKU's add-on. One transaction.
#[utoipa::path(post, path = "/api/v1/orders", tag = "provisioning", request_body = OrderBody,
    security(("api_key" = [])),
    responses((status = 201, description = "A new entitlement", body = PlacedOrder), (status = 200, description = "An entitlement changed", body = PlacedOrder),
              (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 409, description = "The customer's entitlement is cancelled, or a new customer's slug or admin is taken", body = Problem),
              (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn place(caller: Caller, State(state): State<AppState>, ApiJson(body): ApiJson<OrderBody>) -> Result<Response, ApiError> {
    let key = caller.vendor(Scope::Provision)?;
    let customer_external =
        external_id(&body.customer.external_id).map_err(|e| ApiError { field: Some("customer.external_id".into()), ..e })?;
    let term_days = match body.term_months {
        None => None,
        Some(m) if (1..=120).contains(&m) => Some(m * 30 + m * 5 / 12),
        Some(_) => return Err(ApiError::invalid("term_months", "A term is 1 to 120 months.")),
    };
    let external = body.external_id.as_deref().map(external_id).transpose()?;
    let reason = reason(body.reason.as_deref(), "order through the provisioning API")?;
    let name = body.customer.name.as_deref().map(|n| forms::text("customer.name", n, 120, "A name is 1 to 120 characters.")).transpose()?;
    let slug = match (&body.customer.slug, &name) {
        (Some(s), _) => Some(forms::slug("customer.slug", s)?.into_inner()),
        (None, Some(n)) => Some(forms::slug("customer.slug", &slug_from(n))?.into_inner()),
        (None, None) => None,
    };
    let admin = match &body.customer.admin {
        None => None,
        Some(a) => Some((
            forms::email("customer.admin.email", &a.email)?.into_inner(),
            forms::text("customer.admin.name", &a.name, 120, "A name is 1 to 120 characters.")?,
        )),
    };
    let (token, hash) = app::ssr::new_token();
    let now = app::store::now();
    let expires_at = now + app::seats::api::INVITATION_DAYS * 86_400;
    let new_customer = match (&slug, &name) {
        (Some(slug), Some(name)) => Some(NewOrganisation {
            slug,
            name,
            external_id: None,
            admin: admin.as_ref().map(|(email, name)| NewAdmin { email, name, token_hash: &hash, expires_at }),
        }),
        _ => None,
    };
    let order = Order {
        product_id: key.product_id,
        customer_external_id: &customer_external,
        new_customer,
        sku: body.sku.trim(),
        quantity: body.quantity,
        term_days,
        external_id: external.as_deref(),
        reason: &reason,
    };
    let taken = |field: &str, message: &str| ApiError { status: StatusCode::CONFLICT, ..ApiError::invalid(field, message) };
    let placed = match state.store.place_order(&caller.actor(), &order, now).await {
        Err(app::store::StoreError::Duplicate(app::store::Unique::UserEmail)) => {
            return Err(taken("customer.admin.email", "This email belongs to another user already."))
        }
        Err(app::store::StoreError::Duplicate(app::store::Unique::CustomerSlug)) => {
            return Err(taken("customer.slug", "Another customer has this address already: send a slug of its own."))
        }
        other => other?,
    };
    let placed = placed.map_err(|refusal| match refusal {
        OrderRefusal::UnknownSku => ApiError::invalid("sku", "No SKU of this product's catalog is called that."),
        OrderRefusal::UnknownCustomer => {
            ApiError::invalid("customer.name", "No customer has this external id: send its name to create it.")
        }
        OrderRefusal::NoEntitlement => ApiError::invalid("sku", "An add-on is ordered for a customer that has the product already."),
        OrderRefusal::Quantity => ApiError::invalid("quantity", "A plan's quantity is its seats (1 to 1,000,000); an add-on's is 1."),
        OrderRefusal::Cancelled => ApiError::new(
            StatusCode::CONFLICT,
            "entitlement_cancelled",
            "The customer's entitlement is cancelled; a new one is granted by staff.",
        ),
    })?;
    let customer = state.store.customer_record(&placed.customer_id.to_string()).await?;
    let invitation = match (placed.created_customer, admin) {
        (Some(Some(_)), Some((email, _))) => Some(Invitation::new(&state, &email, &token, expires_at)),
        _ => None,
    };
    let version = placed.entitlement.version;
    let body = PlacedOrder {
        customer: customer.into(),
        entitlement: placed.entitlement.into(),
        invitation,
        events: placed.events.iter().map(|e| e.as_str().to_owned()).collect(),
    };
    Ok(answer(if placed.granted { StatusCode::CREATED } else { StatusCode::OK }, &body, Some(version)))
}

#[cfg(test)]
mod tests {
    use super::slug_from;

    #[test]
    fn a_slug_is_made_from_a_name() {
        assert_eq!(slug_from("Hooli, Inc."), "hooli-inc");
        assert_eq!(slug_from("  Pied   Piper  "), "pied-piper");
        assert_eq!(slug_from("Ünïcode Straße"), "n-code-stra-e", "send a slug for a name that is not ASCII");
        assert_eq!(slug_from("!!!"), "");
    }
}
