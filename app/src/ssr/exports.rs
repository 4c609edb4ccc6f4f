//! CSV exports of entitlements, seats and daily usage, streamed: the header row, then a
//! page of rows at a time, read from the store as the client takes them, so that an export
//! of any size is served in bounded memory. The portal's downloads
//! (`/exports/entitlements.csv`, `/exports/seats.csv`, `/exports/usage.csv`) are here, for
//! the session's user: a customer admin gets their own organisation's rows, vendor admins
//! and staff every customer's or the one they name. The provisioning API serves the same
//! files to a vendor API key, for its product.
//!
//! A page is read after the last row of the one before (keyset paging), not in one
//! snapshot: a row changed while an export streams may show as it was or as it is.

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::NaiveDate;
use serde::Deserialize;
use tower_sessions::Session;

use super::auth::{Guard, Roles};
use super::csv::{Cell, Csv};
use super::{forms, AppState};
use crate::engine::dates::{day_of, start_of_day};
use crate::error::AppError;
use crate::exports::{ENTITLEMENTS_PATH, SEATS_PATH, USAGE_PATH};
use crate::store::exports::{EntitlementExport, ExportScope, SeatExport, UsageExport, UsageKey};
use crate::store::{Store, StoreError};

/// Rows read from the store for each page of a streamed export.
pub const PAGE: i64 = 500;

/// The columns of the entitlements export.
pub const ENTITLEMENT_COLUMNS: [&str; 19] = [
    "entitlement_id",
    "customer",
    "customer_name",
    "product",
    "plan",
    "plan_name",
    "plan_version",
    "status",
    "seats_cap",
    "seats_used",
    "instances_cap",
    "instances_active",
    "starts_on",
    "ends_on",
    "renews_on",
    "trial_ends_on",
    "auto_renew",
    "regions",
    "external_id",
];

/// The columns of the seats export.
pub const SEAT_COLUMNS: [&str; 7] = ["entitlement_id", "customer", "product", "email", "name", "role", "assigned_at"];

/// The columns of the usage export.
pub const USAGE_COLUMNS: [&str; 6] = ["entitlement_id", "customer", "product", "feature", "day", "quantity"];

/// What an export holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    Entitlements,
    Seats,
    /// Units used per entitlement, feature and day, over a range of days.
    Usage(UsageRange),
}

impl Export {
    /// Its name in file names: `entitlements`, `seats` or `usage`.
    pub fn name(self) -> &'static str {
        match self {
            Export::Entitlements => "entitlements",
            Export::Seats => "seats",
            Export::Usage(_) => "usage",
        }
    }

    /// Its header row.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Export::Entitlements => &ENTITLEMENT_COLUMNS,
            Export::Seats => &SEAT_COLUMNS,
            Export::Usage(_) => &USAGE_COLUMNS,
        }
    }
}

/// The days a usage export covers, `from` and `to` both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// Why a range of days is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RangeRefusal {
    /// The last day comes before the first.
    #[error("The last day (`to`) comes before the first (`from`).")]
    Backwards,
    /// More days than one export covers.
    #[error("A usage export covers at most 366 days.")]
    TooLong,
}

impl RangeRefusal {
    /// The query parameter at fault.
    pub fn field(self) -> &'static str {
        match self {
            RangeRefusal::Backwards => "to",
            RangeRefusal::TooLong => "from",
        }
    }
}

impl UsageRange {
    /// The most days one export covers.
    pub const MAX_DAYS: i64 = 366;
    /// The days covered when `from` is not given: the 30 days that end with `to`.
    pub const DEFAULT_DAYS: u64 = 30;

    /// The range from `from` to `to` (today when absent; the 30 days that end with `to`
    /// when `from` is absent). Refused when `to` is before `from` or it spans more than
    /// [`UsageRange::MAX_DAYS`] days.
    pub fn new(from: Option<NaiveDate>, to: Option<NaiveDate>, today: NaiveDate) -> Result<UsageRange, RangeRefusal> {
        let to = to.unwrap_or(today);
        let from = from.unwrap_or_else(|| to.checked_sub_days(chrono::Days::new(Self::DEFAULT_DAYS - 1)).unwrap_or(NaiveDate::MIN));
        let days = (to - from).num_days() + 1;
        if days < 1 {
            Err(RangeRefusal::Backwards)
        } else if days > Self::MAX_DAYS {
            Err(RangeRefusal::TooLong)
        } else {
            Ok(UsageRange { from, to })
        }
    }
}

/// The file name of `export` made on `today`, of one customer (its slug) or of every one:
/// `tessera-entitlements-2026-12-03.csv`, `tessera-initech-seats-2026-12-03.csv`.
pub fn file_name(export: Export, customer: Option<&str>, today: NaiveDate) -> String {
    let customer: String = match customer {
        Some(slug) => slug.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').chain(['-']).collect(),
        None => String::new(),
    };
    format!("tessera-{customer}{}-{today}.csv", export.name())
}

/// The download of `export` of `scope`, saved as `file`: streamed CSV, never cached.
pub fn download(store: Store, export: Export, scope: ExportScope, file: &str) -> Response {
    let mut response = Response::new(body(store, export, scope));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(disposition) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    response
}

/// The body of `export` of `scope`: the header row with the first page, then a page at a
/// time. A store failure midway is logged and ends the body with an error, so that the
/// client sees a broken download rather than a short one.
pub fn body(store: Store, export: Export, scope: ExportScope) -> Body {
    let pager = Pager { store, export, scope, started: false, after_id: 0, after_usage: UsageKey::default() };
    let pages = futures::stream::unfold(Some(pager), |pager| async move {
        let mut pager = pager?;
        match pager.page().await {
            Ok((csv, _)) if csv.is_empty() => None,
            Ok((csv, rows)) => {
                let more = rows as i64 == PAGE;
                Some((Ok(Bytes::from(csv.into_string())), more.then_some(pager)))
            }
            Err(e) => {
                tracing::error!(error = %e, export = pager.export.name(), "an export failed midway");
                Some((Err(std::io::Error::other("the export could not be read")), None))
            }
        }
    });
    Body::from_stream(pages)
}

/// A streamed export: what it reads, whose, and where its next page starts.
struct Pager {
    store: Store,
    export: Export,
    scope: ExportScope,
    /// Whether the header row was written.
    started: bool,
    /// The last entitlement or seat written.
    after_id: i64,
    /// The last usage row written.
    after_usage: UsageKey,
}

impl Pager {
    /// The next page as CSV (the header row first, on the first page) and how many rows
    /// it read.
    async fn page(&mut self) -> Result<(Csv, usize), StoreError> {
        let mut csv = Csv::new();
        if !self.started {
            csv.header(self.export.columns());
            self.started = true;
        }
        let rows = match self.export {
            Export::Entitlements => {
                let rows = self.store.export_entitlements(&self.scope, self.after_id, PAGE).await?;
                rows.iter().for_each(|r| write_entitlement(&mut csv, r));
                self.after_id = rows.last().map_or(self.after_id, |r| r.id);
                rows.len()
            }
            Export::Seats => {
                let rows = self.store.export_seats(&self.scope, self.after_id, PAGE).await?;
                rows.iter().for_each(|r| write_seat(&mut csv, r));
                self.after_id = rows.last().map_or(self.after_id, |r| r.id);
                rows.len()
            }
            Export::Usage(range) => {
                let (first, last) = (start_of_day(range.from), start_of_day(range.to));
                let rows = self.store.export_usage(&self.scope, first, last, self.after_usage, PAGE).await?;
                rows.iter().for_each(|r| write_usage(&mut csv, r));
                self.after_usage = rows.last().map_or(self.after_usage, UsageExport::key);
                rows.len()
            }
        };
        Ok((csv, rows))
    }
}

/// A Unix second's UTC day, `2026-12-03`.
fn date(secs: i64) -> String {
    day_of(secs).to_string()
}

/// A Unix second as RFC 3339 in UTC, `2026-12-03T09:30:00Z`.
fn time(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn write_entitlement(csv: &mut Csv, e: &EntitlementExport) {
    let (ends, renews, trial_ends) = (e.ends_at.map(date), e.renews_at.map(date), e.trial_ends_at.map(date));
    csv.row([
        Cell::Number(e.id),
        Cell::from(&e.customer_slug),
        Cell::from(&e.customer_name),
        Cell::from(&e.product),
        Cell::from(&e.plan_key),
        Cell::from(&e.plan_name),
        Cell::Number(e.plan_version),
        Cell::from(&e.status),
        Cell::Number(e.seats_cap),
        Cell::Number(e.seats_used),
        Cell::Number(e.instances_cap),
        Cell::Number(e.instances_active),
        Cell::from(&date(e.starts_at)),
        Cell::from(ends.as_ref()),
        Cell::from(renews.as_ref()),
        Cell::from(trial_ends.as_ref()),
        Cell::Text(if e.auto_renew { "true" } else { "false" }),
        Cell::from(e.regions.as_deref()),
        Cell::from(e.external_id.as_deref()),
    ]);
}

fn write_seat(csv: &mut Csv, s: &SeatExport) {
    csv.row([
        Cell::Number(s.entitlement_id),
        Cell::from(&s.customer_slug),
        Cell::from(&s.product),
        Cell::from(&s.email),
        Cell::from(&s.name),
        Cell::from(&s.role),
        Cell::from(&time(s.assigned_at)),
    ]);
}

fn write_usage(csv: &mut Csv, u: &UsageExport) {
    csv.row([
        Cell::Number(u.entitlement_id),
        Cell::from(&u.customer_slug),
        Cell::from(&u.product),
        Cell::from(&u.feature),
        Cell::from(&date(u.day)),
        Cell::Number(u.quantity),
    ]);
}

/// The portal's downloads, for the session's user.
pub fn router() -> Router<AppState> {
    Router::new().route(ENTITLEMENTS_PATH, get(entitlements)).route(SEATS_PATH, get(seats)).route(USAGE_PATH, get(usage))
}

/// `GET /exports/entitlements.csv`.
async fn entitlements(state: State<AppState>, session: Session, query: Query<DownloadQuery>) -> Response {
    portal_download(state, session, query, Kind::Entitlements).await
}

/// `GET /exports/seats.csv`.
async fn seats(state: State<AppState>, session: Session, query: Query<DownloadQuery>) -> Response {
    portal_download(state, session, query, Kind::Seats).await
}

/// `GET /exports/usage.csv?from=…&to=…`.
async fn usage(state: State<AppState>, session: Session, query: Query<DownloadQuery>) -> Response {
    portal_download(state, session, query, Kind::Usage).await
}

/// What a download link may say: the customer (a slug; vendor staff only name one), and
/// for usage the first and last day (`2026-11-01`).
#[derive(Debug, Default, Deserialize)]
pub struct DownloadQuery {
    pub customer: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Entitlements,
    Seats,
    Usage,
}

/// A download from the portal: customer admins get their own organisation's rows;
/// vendor admins and staff every customer's, or the one `customer` names. Refused with
/// 401 when nobody is signed in, 403 for sales, customer members and another
/// organisation's admin, 404 for an unknown customer and 400 for a range of days it does
/// not take. Nothing is recorded in the audit log: an export changes nothing.
async fn portal_download(State(state): State<AppState>, session: Session, Query(query): Query<DownloadQuery>, kind: Kind) -> Response {
    match prepare(&state, &session, &query, kind).await {
        Ok(response) => response,
        Err(error) => refusal(&error),
    }
}

async fn prepare(state: &AppState, session: &Session, query: &DownloadQuery, kind: Kind) -> Result<Response, AppError> {
    let today = crate::store::day_of(crate::store::now());
    let export = match kind {
        Kind::Entitlements => Export::Entitlements,
        Kind::Seats => Export::Seats,
        Kind::Usage => {
            let from = forms::date("from", query.from.as_deref(), "Give the first day as 2026-11-01.")?;
            let to = forms::date("to", query.to.as_deref(), "Give the last day as 2026-11-30.")?;
            Export::Usage(UsageRange::new(from, to, today).map_err(|r| AppError::invalid(r.field(), r.to_string()))?)
        }
    };
    let caller = Guard::new().role(Roles::MANAGERS).caller_on(session, state.clone()).await?;
    let caller = caller.customer_or_all(forms::optional(query.customer.as_deref())).await?;
    let customer = caller.scope.as_ref();
    tracing::info!(user.id = caller.user.id, export = export.name(), customer.id = ?customer.map(|c| c.id), "a CSV export");
    let scope = ExportScope { customer_id: customer.map(|c| c.id), product_id: None };
    let file = file_name(export, customer.map(|c| c.slug.as_str()), today);
    Ok(download(state.store.clone(), export, scope, &file))
}

/// A refused download: the error's status and its words, as plain text.
fn refusal(error: &AppError) -> Response {
    let status = StatusCode::from_u16(error.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, error.to_string()).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn a_range_defaults_to_the_30_days_that_end_today() {
        let today = day("2026-12-03");
        assert_eq!(UsageRange::new(None, None, today), Ok(UsageRange { from: day("2026-11-04"), to: today }));
        let to = day("2026-06-30");
        assert_eq!(UsageRange::new(None, Some(to), today), Ok(UsageRange { from: day("2026-06-01"), to }));
        let from = day("2026-12-01");
        assert_eq!(UsageRange::new(Some(from), None, today), Ok(UsageRange { from, to: today }));
    }

    #[test]
    fn a_range_is_one_to_366_days_in_order() {
        let today = day("2026-12-03");
        let one = UsageRange::new(Some(today), Some(today), today);
        assert_eq!(one, Ok(UsageRange { from: today, to: today }));
        assert!(UsageRange::new(Some(day("2025-12-03")), Some(day("2026-12-03")), today).is_ok(), "366 days");
        assert_eq!(UsageRange::new(Some(day("2025-12-02")), Some(day("2026-12-03")), today), Err(RangeRefusal::TooLong));
        assert_eq!(UsageRange::new(Some(day("2026-12-04")), Some(day("2026-12-03")), today), Err(RangeRefusal::Backwards));
        assert_eq!(RangeRefusal::TooLong.field(), "from");
        assert_eq!(RangeRefusal::Backwards.field(), "to");
        assert!(UsageRange::new(None, Some(NaiveDate::MIN), today).is_ok(), "no overflow at the calendar's edge");
    }

    #[test]
    fn file_names_say_what_whose_and_when() {
        let today = day("2026-12-03");
        assert_eq!(file_name(Export::Entitlements, None, today), "tessera-entitlements-2026-12-03.csv");
        assert_eq!(file_name(Export::Seats, Some("initech"), today), "tessera-initech-seats-2026-12-03.csv");
        let range = UsageRange { from: today, to: today };
        assert_eq!(file_name(Export::Usage(range), Some("a\"b;c"), today), "tessera-abc-usage-2026-12-03.csv");
    }

    #[test]
    fn every_export_has_its_columns() {
        let range = UsageRange { from: day("2026-12-01"), to: day("2026-12-03") };
        assert_eq!(Export::Entitlements.columns().len(), 19);
        assert_eq!(Export::Seats.columns(), &SEAT_COLUMNS);
        assert_eq!(Export::Usage(range).columns().first(), Some(&"entitlement_id"));
    }
}
