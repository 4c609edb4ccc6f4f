//! How numbers and dates read on the page.

use chrono::NaiveDate;

/// 10000 → "10,000".
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// 2027-01-07 → "7 Jan 2027".
pub fn date(d: NaiveDate) -> String {
    d.format("%-d %b %Y").to_string()
}

/// The UTC day of a Unix time.
pub fn day_of_secs(secs: i64) -> NaiveDate {
    crate::engine::day_of(secs)
}

/// A Unix time as "24 Nov 2026, 14:05 UTC".
pub fn date_time(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0).map(|t| t.format("%-d %b %Y, %H:%M UTC").to_string()).unwrap_or_default()
}

/// How long ago `then` was at `now` (both Unix seconds): "just now", "4 minutes ago"…
pub fn ago(then: i64, now: i64) -> String {
    match now - then {
        s if s < 60 => "just now".to_owned(),
        s if s < 120 => "a minute ago".to_owned(),
        s if s < 3_600 => format!("{} minutes ago", s / 60),
        s if s < 7_200 => "an hour ago".to_owned(),
        s if s < 86_400 => format!("{} hours ago", s / 3_600),
        s => format!("{} days ago", s / 86_400),
    }
}

/// "in 45 days", "tomorrow", "today", "3 days ago".
pub fn days_left(days: i64) -> String {
    match days {
        0 => "today".to_owned(),
        1 => "tomorrow".to_owned(),
        -1 => "yesterday".to_owned(),
        d if d > 1 => format!("in {d} days"),
        d => format!("{} days ago", -d),
    }
}

/// Percent-encodes a value for a query string.
pub fn encode_query_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `path` with the query parameters that have a value, encoded (`/customers?search=a%20b&after=7`),
/// or `path` alone when none has: a list's address with its filters kept.
pub fn address_with<'a>(path: &str, params: impl IntoIterator<Item = (&'a str, Option<String>)>) -> String {
    let parts: Vec<String> = params.into_iter().filter_map(|(k, v)| v.map(|v| format!("{k}={}", encode_query_value(&v)))).collect();
    if parts.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", parts.join("&"))
    }
}

/// The address people reach this site at, for links shown to copy: the deployment's public
/// address on the server, the page's own origin in the browser.
pub fn page_origin() -> String {
    #[cfg(feature = "ssr")]
    return crate::ssr::AppState::current().map(|state| state.public_url.trim_end_matches('/').to_owned()).unwrap_or_default();
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    return leptos::prelude::window().location().origin().unwrap_or_default();
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lists_address_keeps_only_the_parameters_with_a_value_encoded() {
        assert_eq!(address_with("/customers", [("search", None), ("show", None)]), "/customers");
        let kept = [("search", Some("a&b c".to_owned())), ("show", None), ("after", Some("7".to_owned()))];
        assert_eq!(address_with("/customers", kept), "/customers?search=a%26b%20c&after=7");
    }

    #[test]
    fn thousands_groups_by_three() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(-12_345), "-12,345");
    }

    #[test]
    fn dates_and_days_read_plainly() {
        let d = NaiveDate::from_ymd_opt(2027, 1, 7).unwrap_or_default();
        assert_eq!(date(d), "7 Jan 2027");
        assert_eq!(days_left(45), "in 45 days");
        assert_eq!(days_left(1), "tomorrow");
        assert_eq!(days_left(-3), "3 days ago");
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(encode_query_value("/customers/initech?x=1&y"), "/customers/initech%3Fx%3D1%26y");
    }
}
