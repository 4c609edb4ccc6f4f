//! `GET /api/v1/openapi.json`: the OpenAPI 3 document of the enforcement API, generated
//! from the handlers and types themselves.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::provision::{customers, entitlements, events, exports, orders, requests, webhooks};
use super::{check, instances, tokens, usage, Problem};

#[derive(OpenApi)]
#[openapi(
    info(title = "Tessera API", version = "1", description = "Enforcement (checks, instances, usage, offline licences and air-gapped activation) and provisioning (customers, their people, entitlements, orders by SKU, change requests, usage roll-ups, CSV exports and the event feed) and webhooks (endpoints, their signing secrets and delivery logs; deliveries are signed as the Standard Webhooks specification says). Authenticate with `Authorization: Bearer <key>`: a vendor API key (`tsk_…`, within its scopes `enforce`, `provision`, `read`; a call outside them is 403 `missing_scope`) or a customer's license key (`TLK-…`), which acts for its own entitlement only: checks, its instances, its usage and their licences (naming another customer is 403 `wrong_customer`). Provisioning takes a vendor API key: `provision` to change, `read` or `provision` to read. A change sent with an `Idempotency-Key` is made once: a retry with the same key and body (within 24 hours, per API key) gets the first response again, with `Idempotent-Replayed: true`; the same key with another request is 422 `idempotency_key_reused`, and while the first is being answered 409 `idempotency_key_in_use`. An entitlement's `ETag` is its version; a change sent with a stale `If-Match` is 412 `version_mismatch`."),
    paths(check::check, check::checks, instances::activate, instances::heartbeat, instances::deactivate, instances::licence,
          instances::offline_activation, instances::offline_deactivation, usage::record, tokens::issue, tokens::jwks,
          customers::list, customers::create, customers::read, customers::update, customers::list_users, customers::invite,
          customers::set_role, customers::remove, entitlements::list, entitlements::grant, entitlements::read, entitlements::change,
          entitlements::act, entitlements::license_key, entitlements::regenerate, entitlements::usage, entitlements::skus,
          entitlements::set_sku, entitlements::remove_sku, orders::place, requests::list, requests::decide, events::feed,
          webhooks::list, webhooks::create, webhooks::read, webhooks::update, webhooks::remove, webhooks::rotate, webhooks::deliveries,
          webhooks::delivery, webhooks::resend, exports::entitlements, exports::seats, exports::usage),
    components(schemas(Problem)),
    modifiers(&BearerKey, &Changes)
)]
pub struct ApiDoc;

struct BearerKey;

impl Modify for BearerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("api_key", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
    }
}

/// What every change of the provisioning API takes and may answer: `Idempotency-Key`,
/// and the answers about it (400 for a malformed key, 409 while the first call with it
/// runs, 422 for the key reused with another request).
struct Changes;

impl Modify for Changes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        use utoipa::openapi::{ContentBuilder, Ref, Required, ResponseBuilder};
        let key = ParameterBuilder::new()
            .name("Idempotency-Key")
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some("Retries with the same key and request within 24 hours get the first answer again."))
            .schema(Some(
                ObjectBuilder::new().schema_type(Type::String).min_length(Some(1)).max_length(Some(255)).pattern(Some("^[!-~]+$")),
            ))
            .build();
        let problem = |what: &str| {
            ResponseBuilder::new()
                .description(what)
                .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build())
                .build()
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            if !is_provisioning(path) {
                continue;
            }
            let changes: [&mut Option<Operation>; 4] = [&mut item.post, &mut item.put, &mut item.patch, &mut item.delete];
            for op in changes.into_iter().flatten() {
                op.parameters.get_or_insert_with(Vec::new).push(key.clone());
                let responses = &mut op.responses.responses;
                for (status, what) in [
                    ("400", "Bad input, or a malformed Idempotency-Key"),
                    ("409", "A conflict, or the first call with this Idempotency-Key is still being answered"),
                    ("422", "A value the domain refuses, or the Idempotency-Key was used for another request"),
                ] {
                    responses.entry(status.to_owned()).or_insert_with(|| problem(what).into());
                }
            }
        }
    }
}

/// Whether `path` is one of the provisioning API's.
fn is_provisioning(path: &str) -> bool {
    ["/api/v1/customers", "/api/v1/entitlements", "/api/v1/orders", "/api/v1/requests", "/api/v1/skus", "/api/v1/webhooks"]
        .iter()
        .any(|p| path.starts_with(p))
}

/// The document.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
