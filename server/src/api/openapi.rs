//! `GET /api/v1/openapi.json`: the OpenAPI 3 document of the enforcement API, generated
//! from the handlers and types themselves.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{check, instances, tokens, usage, Problem};

#[derive(OpenApi)]
#[openapi(
    info(title = "Tessera enforcement API", version = "1", description = "Checks, instances, usage, offline licences and air-gapped activation. Authenticate with `Authorization: Bearer <key>`: a vendor API key (`tsk_…`, within its scopes `enforce`, `provision`, `read`; a call outside them is 403 `missing_scope`) or a customer's license key (`TLK-…`), which acts for its own entitlement only: checks, its instances, its usage and their licences (naming another customer is 403 `wrong_customer`)."),
    paths(check::check, check::checks, instances::activate, instances::heartbeat, instances::deactivate, instances::licence,
          instances::offline_activation, instances::offline_deactivation, usage::record, tokens::issue, tokens::jwks),
    components(schemas(Problem)),
    modifiers(&BearerKey)
)]
pub struct ApiDoc;

struct BearerKey;

impl Modify for BearerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("api_key", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
    }
}

/// The document.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
