//! CSV exports of the API key's product: `/api/v1/exports/entitlements`, `…/seats` and
//! `…/usage`, streamed a page at a time as the portal's downloads are (the files and
//! their columns are `app::ssr::exports`'). A vendor API key with `read` or `provision`;
//! answered in CSV only, so a request whose `Accept` rules CSV out is 406.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::NaiveDate;
use serde::Deserialize;

use super::customers::find;
use crate::api::{ApiError, ApiQuery, Caller, Problem};
use app::ssr::exports::{download, file_name, Export, UsageRange};
use app::ssr::AppState;
use app::store::exports::ExportScope;

/// The exports' routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/exports/entitlements", get(entitlements))
        .route("/api/v1/exports/seats", get(seats))
        .route("/api/v1/exports/usage", get(usage))
}

/// Whose rows: one customer's, or every customer's of the product.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportFilter {
    /// Only this customer's (id or slug).
    #[param(max_length = 64)]
    pub customer: Option<String>,
}

/// The days of a usage export, both included.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DayRange {
    /// The first day (UTC), `2026-11-01`; the 30 days that end with `to` when absent.
    #[param(max_length = 10, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub from: Option<String>,
    /// The last day (UTC), included; today when absent. At most 366 days from `from`.
    #[param(max_length = 10, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub to: Option<String>,
}

/// Every entitlement of the product, by id, as CSV with a header row: `entitlement_id`,
/// `customer` (slug), `customer_name`, `product`, `plan`, `plan_name`, `plan_version`,
/// `status`, `seats_cap`, `seats_used`, `instances_cap`, `instances_active`, `starts_on`,
/// `ends_on`, `renews_on`, `trial_ends_on` (days, UTC), `auto_renew` (`true`/`false`),
/// `regions` (comma-separated; empty for anywhere), `external_id`.
#[utoipa::path(get, path = "/api/v1/exports/entitlements", operation_id = "export_entitlements", tag = "provisioning",
    params(ExportFilter), security(("api_key" = [])),
    responses((status = 200, description = "CSV (RFC 4180), streamed; a text cell starting =, +, -, @, a tab or a CR gets a leading '",
               content_type = "text/csv", body = String,
               headers(("Content-Disposition" = String, description = "attachment; filename=\"…\""))),
              (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem),
              (status = 406, description = "`Accept` rules CSV out", body = Problem), (status = 429, body = Problem)))]
pub async fn entitlements(
    caller: Caller,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(filter): ApiQuery<ExportFilter>,
) -> Result<Response, ApiError> {
    acceptable(&headers)?;
    export(&caller, &state, &filter, Export::Entitlements).await
}

/// Every seat of the product's entitlements, in the order they were assigned, as CSV with a
/// header row: `entitlement_id`, `customer` (slug), `product`, `email`, `name`, `role`
/// (`customer_admin` or `customer_member`), `assigned_at` (RFC 3339, UTC).
#[utoipa::path(get, path = "/api/v1/exports/seats", operation_id = "export_seats", tag = "provisioning",
    params(ExportFilter), security(("api_key" = [])),
    responses((status = 200, description = "CSV (RFC 4180), streamed; a text cell starting =, +, -, @, a tab or a CR gets a leading '",
               content_type = "text/csv", body = String,
               headers(("Content-Disposition" = String, description = "attachment; filename=\"…\""))),
              (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem),
              (status = 406, description = "`Accept` rules CSV out", body = Problem), (status = 429, body = Problem)))]
pub async fn seats(
    caller: Caller,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(filter): ApiQuery<ExportFilter>,
) -> Result<Response, ApiError> {
    acceptable(&headers)?;
    export(&caller, &state, &filter, Export::Seats).await
}

/// Units used per entitlement, feature and day over a range of days (at most 366), as CSV
/// with a header row: `entitlement_id`, `customer` (slug), `product`, `feature`, `day`
/// (UTC), `quantity`. Days without use have no row.
#[utoipa::path(get, path = "/api/v1/exports/usage", operation_id = "export_usage", tag = "provisioning",
    params(ExportFilter, DayRange), security(("api_key" = [])),
    responses((status = 200, description = "CSV (RFC 4180), streamed; a text cell starting =, +, -, @, a tab or a CR gets a leading '",
               content_type = "text/csv", body = String,
               headers(("Content-Disposition" = String, description = "attachment; filename=\"…\""))),
              (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem),
              (status = 406, description = "`Accept` rules CSV out", body = Problem),
              (status = 422, description = "`to` before `from`, more than 366 days, or a day the calendar lacks", body = Problem),
              (status = 429, body = Problem)))]
pub async fn usage(
    caller: Caller,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(filter): ApiQuery<ExportFilter>,
    ApiQuery(range): ApiQuery<DayRange>,
) -> Result<Response, ApiError> {
    acceptable(&headers)?;
    let (from, to) = (day("from", range.from.as_deref())?, day("to", range.to.as_deref())?);
    let today = app::store::day_of(app::store::now());
    let range = UsageRange::new(from, to, today).map_err(|r| ApiError::invalid(r.field(), r.to_string()))?;
    export(&caller, &state, &filter, Export::Usage(range)).await
}

/// The export of the key's product (of one customer, when `filter` names one), once the
/// inputs are checked: 400 for a malformed `customer`, 403 without `read` or
/// `provision`, 404 for an unknown customer.
async fn export(caller: &Caller, state: &AppState, filter: &ExportFilter, what: Export) -> Result<Response, ApiError> {
    let customer = super::param("customer", filter.customer.as_deref(), 64)?;
    let key = caller.reader()?;
    let customer = match customer {
        Some(c) => Some(find(state, c).await?),
        None => None,
    };
    tracing::info!(api_key.id = key.id, export = what.name(), customer.id = ?customer.as_ref().map(|c| c.id), "a CSV export");
    let scope = ExportScope { customer_id: customer.as_ref().map(|c| c.id), product_id: Some(key.product_id) };
    let today = app::store::day_of(app::store::now());
    let file = file_name(what, customer.as_ref().map(|c| c.slug.as_str()), today);
    Ok(download(state.store.clone(), what, scope, &file))
}

/// 406 `not_acceptable` unless `Accept` allows CSV: absent (or empty), or naming
/// `text/csv`, `text/*` or `*/*` without `q=0`.
fn acceptable(headers: &HeaderMap) -> Result<(), ApiError> {
    let ranges: Vec<&str> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .collect();
    if ranges.is_empty() || ranges.iter().any(|r| allows_csv(r)) {
        Ok(())
    } else {
        Err(ApiError::new(StatusCode::NOT_ACCEPTABLE, "not_acceptable", "This export is CSV: accept `text/csv` (or send no `Accept`)."))
    }
}

/// Whether one media range of `Accept` (`text/csv;q=0.9`) takes CSV.
fn allows_csv(range: &str) -> bool {
    let mut parts = range.split(';').map(str::trim);
    let media = parts.next().unwrap_or_default().to_ascii_lowercase();
    let refused = parts.any(|p| {
        let (name, value) = p.split_once('=').unwrap_or((p, ""));
        name.trim().eq_ignore_ascii_case("q") && value.trim().parse::<f32>().is_ok_and(|q| q <= 0.0)
    });
    matches!(media.as_str(), "text/csv" | "text/*" | "*/*") && !refused
}

/// A day as the document gives it (`2026-11-01`): `None` when absent; 400 when it is not
/// of that shape (empty included); 422 `invalid` on `field` for a day the calendar lacks
/// (`2026-02-30`).
fn day(field: &str, raw: Option<&str>) -> Result<Option<NaiveDate>, ApiError> {
    let Some(raw) = raw else { return Ok(None) };
    super::param(field, Some(raw), 10)?;
    let shaped = raw.len() == 10 && raw.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    if !shaped {
        return Err(ApiError::bad_request(format!("`{field}` is a day like 2026-11-01.")));
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").map(Some).map_err(|_| ApiError::invalid(field, "No such day in the calendar."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn accept(values: &[&str]) -> Result<(), StatusCode> {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(header::ACCEPT, HeaderValue::from_str(v).unwrap_or_else(|e| panic!("{v}: {e}")));
        }
        acceptable(&headers).map_err(|e| e.status)
    }

    #[test]
    fn csv_is_answered_unless_accept_rules_it_out() {
        let answered: [&[&str]; 7] =
            [&[], &[""], &["text/csv"], &["text/*"], &["*/*"], &["application/json, text/csv;q=0.5"], &["TEXT/CSV; charset=utf-8"]];
        for ok in answered {
            assert_eq!(accept(ok), Ok(()), "{ok:?}");
        }
        let refused: [&[&str]; 5] =
            [&["application/json"], &["application/json", "text/plain"], &["text/csv;q=0"], &["text/html, */*;q=0.0"], &["application/*"]];
        for no in refused {
            assert_eq!(accept(no), Err(StatusCode::NOT_ACCEPTABLE), "{no:?}");
        }
    }

    #[test]
    fn a_day_is_of_the_documented_shape_and_in_the_calendar() {
        assert_eq!(day("from", None).map_err(|e| e.status), Ok(None));
        assert_eq!(day("from", Some("2026-11-01")).map_err(|e| e.status), Ok(NaiveDate::from_ymd_opt(2026, 11, 1)));
        for malformed in ["", " 2026-11-01", "2026-11-1", "2026/11/01", "26-11-01xx", "2026-11-01T00:00:00Z", "２０２６-11-01"] {
            assert_eq!(day("from", Some(malformed)).map_err(|e| e.status), Err(StatusCode::BAD_REQUEST), "{malformed:?}");
        }
        let invalid = day("to", Some("2026-02-30")).map_err(|e| (e.status, e.field));
        assert_eq!(invalid, Err((StatusCode::UNPROCESSABLE_ENTITY, Some("to".to_owned()))));
    }
}
