//! `GET /api/v1/openapi.json`: the OpenAPI 3 document of the enforcement API, generated
//! from the handlers and types themselves.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{check, instances, tokens, usage, Problem};

#[derive(OpenApi)]
#[openapi(
    info(title = "Tessera enforcement API", version = "1", description = "Checks, instances, usage and signed license tokens. Authenticate with `Authorization: Bearer <api key>`."),
    paths(check::check, check::checks, instances::activate, instances::heartbeat, instances::deactivate, usage::record, tokens::issue, tokens::jwks),
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
