//! The CSV downloads as pages link to them: their addresses and the links. The files are
//! made and streamed on the server (`ssr::exports`), for customer admins (their own
//! organisation's) and vendor admins and staff (every customer's, or one's).

use chrono::NaiveDate;
use leptos::prelude::*;

/// Every entitlement the user may see.
pub const ENTITLEMENTS_PATH: &str = "/exports/entitlements.csv";
/// Every seat the user may see.
pub const SEATS_PATH: &str = "/exports/seats.csv";
/// Units used per entitlement, feature and day (`from`, `to`: the days, both included).
pub const USAGE_PATH: &str = "/exports/usage.csv";

/// The address of the download at `path`: of customer `customer` (a slug, for vendor
/// staff) or of all the user may see, and for usage of the days `days` (first, last).
pub fn link(path: &str, customer: Option<&str>, days: Option<(NaiveDate, NaiveDate)>) -> String {
    let mut query: Vec<String> = Vec::new();
    if let Some(slug) = customer {
        query.push(format!("customer={}", crate::components::format::encode_query_value(slug)));
    }
    if let Some((from, to)) = days {
        query.push(format!("from={from}"));
        query.push(format!("to={to}"));
    }
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

/// "Download CSV" links: entitlements, seats and usage (of `days`, the last 30 when
/// `None`), of `customer` (a slug) or of all the user may see. Plain links with the
/// `download` attribute, so that the browser saves the file rather than the router
/// looking for a page.
#[component]
pub fn Downloads(customer: Option<String>, days: Option<(NaiveDate, NaiveDate)>) -> impl IntoView {
    let customer = customer.as_deref();
    let entitlements = link(ENTITLEMENTS_PATH, customer, None);
    let seats = link(SEATS_PATH, customer, None);
    let usage = link(USAGE_PATH, customer, days);
    view! {
        <nav class="page-links downloads" aria-label="Download CSV">
            <a class="button secondary small" href=entitlements download="">"Entitlements CSV"</a>
            <a class="button secondary small" href=seats download="">"Seats CSV"</a>
            <a class="button secondary small" href=usage download="">"Usage CSV"</a>
        </nav>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_name_the_customer_and_the_days_when_given() {
        assert_eq!(link(ENTITLEMENTS_PATH, None, None), "/exports/entitlements.csv");
        assert_eq!(link(SEATS_PATH, Some("initech"), None), "/exports/seats.csv?customer=initech");
        let (from, to) = (NaiveDate::from_ymd_opt(2026, 11, 4), NaiveDate::from_ymd_opt(2026, 12, 3));
        let days = from.zip(to);
        assert_eq!(link(USAGE_PATH, None, days), "/exports/usage.csv?from=2026-11-04&to=2026-12-03");
        assert_eq!(link(USAGE_PATH, Some("globex"), days), "/exports/usage.csv?customer=globex&from=2026-11-04&to=2026-12-03");
    }
}
