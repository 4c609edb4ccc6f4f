//! CSV exports over real HTTP, read back by Python's `csv` module: the portal's downloads
//! for a customer admin and for vendor staff, the provisioning API's for a key's product,
//! who is refused, what is escaped, and an export too large for one page streamed whole.

use std::collections::BTreeSet;

use reqwest::header::HeaderMap;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{audit_head, new_client, spawn_app, TestApp};

const KEY: &str = "tsk_demo_acme";

const ENTITLEMENT_COLUMNS: [&str; 19] = [
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

/// `text` parsed by Python's `csv` module in strict mode: rows of fields, the header first.
fn parse(text: &str) -> Vec<Vec<String>> {
    const SCRIPT: &str = r#"
import csv, io, json, sys
text = sys.stdin.buffer.read().decode("utf-8")
print(json.dumps(list(csv.reader(io.StringIO(text, newline=""), strict=True))))
"#;
    let out = crate::helpers::python(SCRIPT, text, "Python's csv module");
    serde_json::from_slice(&out).unwrap_or_else(|e| panic!("{e}"))
}

/// A download as it came: status, headers and text.
struct Download {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
}

impl Download {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    /// The rows after the header, checked to be CSV with `columns` as its header row.
    fn rows(&self, columns: &[&str]) -> Vec<Vec<String>> {
        assert_eq!(self.status, StatusCode::OK, "{}", self.text);
        assert_eq!(self.header("content-type"), "text/csv; charset=utf-8");
        assert_eq!(self.header("cache-control"), "no-store");
        assert!(self.text.ends_with("\r\n"), "every row ends in CRLF");
        let mut rows = parse(&self.text);
        assert!(!rows.is_empty(), "a header row at least");
        let header = rows.remove(0);
        assert_eq!(header, columns);
        assert!(rows.iter().all(|r| r.len() == columns.len()), "every row has every column");
        rows
    }

    /// The value of `column` in each row.
    fn column(&self, columns: &[&str], column: &str) -> Vec<String> {
        let at = columns.iter().position(|c| *c == column).unwrap_or_else(|| panic!("no column {column}"));
        self.rows(columns).into_iter().map(|mut r| r.swap_remove(at)).collect()
    }
}

async fn download(client: &Client, app: &TestApp, path: &str) -> Download {
    let r = client.get(app.url(path)).send().await.unwrap_or_else(|e| panic!("{path}: {e}"));
    let (status, headers) = (r.status(), r.headers().clone());
    Download { status, headers, text: r.text().await.unwrap_or_else(|e| panic!("{path}: {e}")) }
}

async fn api_download(app: &TestApp, path: &str, key: &str, accept: Option<&str>) -> Download {
    let mut req = app.client.get(app.url(path)).bearer_auth(key);
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    let r = req.send().await.unwrap_or_else(|e| panic!("{path}: {e}"));
    let (status, headers) = (r.status(), r.headers().clone());
    Download { status, headers, text: r.text().await.unwrap_or_else(|e| panic!("{path}: {e}")) }
}

fn problem(d: &Download) -> (StatusCode, String, String) {
    let body: Value = serde_json::from_str(&d.text).unwrap_or(Value::Null);
    let text = |k: &str| body[k].as_str().unwrap_or_default().to_owned();
    (d.status, text("code"), text("field"))
}

fn today() -> chrono::NaiveDate {
    app::store::day_of(app::store::now())
}

fn days_ago(n: u64) -> chrono::NaiveDate {
    today().checked_sub_days(chrono::Days::new(n)).unwrap_or_else(|| panic!("{n} days ago"))
}

/// Renames customer `slug` through the provisioning API.
async fn rename(app: &TestApp, slug: &str, name: &str) {
    let r = app
        .client
        .patch(app.url(&format!("/api/v1/customers/{slug}")))
        .bearer_auth(KEY)
        .json(&json!({ "name": name }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), StatusCode::OK, "rename {slug}: {}", r.text().await.unwrap_or_default());
}

#[tokio::test]
async fn a_customer_admin_downloads_their_own_organisation_only_and_it_parses_back() {
    let app = spawn_app().await;
    let ada = app.client_for("ada@initech.example").await;
    let seq = audit_head(&app).await;

    let entitlements = download(&ada, &app, "/exports/entitlements.csv").await;
    let rows = entitlements.rows(&ENTITLEMENT_COLUMNS);
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row: Vec<&str> = rows[0].iter().map(String::as_str).collect();
    assert_eq!(&row[1..12], ["initech", "Initech", "acme-analytics", "team", "Team", "1", "active", "10", "2", "3", "2"]);
    assert_eq!(row[16], "true");
    assert_eq!(
        entitlements.header("content-disposition"),
        format!("attachment; filename=\"tessera-initech-entitlements-{}.csv\"", today())
    );

    let seats = download(&ada, &app, "/exports/seats.csv").await;
    let columns = ["entitlement_id", "customer", "product", "email", "name", "role", "assigned_at"];
    let rows = seats.rows(&columns);
    let holders: Vec<(&str, &str, &str)> = rows.iter().map(|r| (r[1].as_str(), r[3].as_str(), r[5].as_str())).collect();
    assert_eq!(holders, [("initech", "ada@initech.example", "customer_admin"), ("initech", "bob@initech.example", "customer_member")]);
    assert!(rows.iter().all(|r| r[6].ends_with('Z') && r[6].contains('T')), "RFC 3339 times: {rows:?}");

    let usage = download(&ada, &app, "/exports/usage.csv").await;
    let columns = ["entitlement_id", "customer", "product", "feature", "day", "quantity"];
    let rows = usage.rows(&columns);
    assert_eq!(rows.len(), 30, "the last 30 days, each with the demo's use: {rows:?}");
    assert!(rows.iter().all(|r| r[1] == "initech" && r[3] == "api.calls"));
    assert_eq!(rows.last().map(|r| r[4].clone()), Some(today().to_string()));
    assert!(rows.iter().all(|r| r[5].parse::<i64>().is_ok()), "quantities are numbers");

    let named = download(&ada, &app, "/exports/seats.csv?customer=initech").await;
    assert_eq!(named.rows(&["entitlement_id", "customer", "product", "email", "name", "role", "assigned_at"]).len(), 2);
    for path in ["/exports/entitlements.csv?customer=globex", "/exports/seats.csv?customer=globex", "/exports/usage.csv?customer=globex"] {
        let other = download(&ada, &app, path).await;
        assert_eq!(other.status, StatusCode::FORBIDDEN, "{path}: {}", other.text);
        assert!(!other.text.contains("globex.example"), "{path}");
    }
    assert_eq!(audit_head(&app).await, seq, "an export records nothing");
}

#[tokio::test]
async fn a_name_with_a_comma_a_quote_and_a_line_break_round_trips_and_a_formula_stays_text() {
    let app = spawn_app().await;
    let staff = app.client_for("staff@tessera.example").await;
    let columns = ENTITLEMENT_COLUMNS;

    let awkward = "Initech, \"The Best\"\nLondon office";
    rename(&app, "initech", awkward).await;
    let d = download(&staff, &app, "/exports/entitlements.csv?customer=initech").await;
    assert_eq!(d.column(&columns, "customer_name"), [awkward]);
    assert!(d.text.contains("\"Initech, \"\"The Best\"\"\nLondon office\""), "quoted, its quotes doubled: {}", d.text);

    for (name, written) in [
        ("=HYPERLINK(\"http://evil.example\",\"Refund\")", "'=HYPERLINK(\"http://evil.example\",\"Refund\")"),
        ("+1 555 0100", "'+1 555 0100"),
        ("-Globex", "'-Globex"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("Globex = fine", "Globex = fine"),
    ] {
        rename(&app, "globex", name).await;
        let d = download(&staff, &app, "/exports/entitlements.csv?customer=globex").await;
        assert_eq!(d.column(&columns, "customer_name"), [written], "{name}");
    }
    // Numbers are ours and stay numbers, even negative-looking columns such as caps.
    let d = download(&staff, &app, "/exports/entitlements.csv?customer=globex").await;
    assert!(d.column(&columns, "seats_cap").iter().all(|c| c.parse::<i64>().is_ok()));
}

#[tokio::test]
async fn vendor_staff_get_every_customer_and_sales_members_and_visitors_are_refused() {
    let app = spawn_app().await;
    for email in ["staff@tessera.example", "admin@tessera.example"] {
        let client = app.client_for(email).await;
        let all = download(&client, &app, "/exports/entitlements.csv").await;
        let customers: BTreeSet<String> = all.column(&ENTITLEMENT_COLUMNS, "customer").into_iter().collect();
        for slug in ["initech", "globex", "umbrella", "demo"] {
            assert!(customers.contains(slug), "{email}: {slug} missing from {customers:?}");
        }
        assert_eq!(all.header("content-disposition"), format!("attachment; filename=\"tessera-entitlements-{}.csv\"", today()));
        let one = download(&client, &app, "/exports/entitlements.csv?customer=globex").await;
        assert_eq!(one.column(&ENTITLEMENT_COLUMNS, "customer"), ["globex"], "{email}");
        let seats = download(&client, &app, "/exports/seats.csv").await;
        let emails = seats.column(&["entitlement_id", "customer", "product", "email", "name", "role", "assigned_at"], "email");
        assert!(emails.contains(&"ada@initech.example".to_owned()), "{email}: {emails:?}");
        let unknown = download(&client, &app, "/exports/seats.csv?customer=nobody").await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{email}");
    }

    let sales = app.client_for("sales@tessera.example").await;
    let bob = app.client_for("bob@initech.example").await;
    let visitor = new_client();
    for path in ["/exports/entitlements.csv", "/exports/seats.csv", "/exports/usage.csv", "/exports/entitlements.csv?customer=demo"] {
        let callers = [
            ("sales", &sales, StatusCode::FORBIDDEN),
            ("a member", &bob, StatusCode::FORBIDDEN),
            ("a visitor", &visitor, StatusCode::UNAUTHORIZED),
        ];
        for (who, client, refused) in callers {
            let d = download(client, &app, path).await;
            assert_eq!(d.status, refused, "{who}: {path}");
            assert!(!d.text.contains("initech.example") && !d.text.contains("entitlement_id"), "{who}: {path}: {}", d.text);
        }
    }
}

#[tokio::test]
async fn a_usage_range_is_one_to_366_days_in_order() {
    let app = spawn_app().await;
    let ada = app.client_for("ada@initech.example").await;
    let columns = ["entitlement_id", "customer", "product", "feature", "day", "quantity"];
    let day = days_ago(3);
    let one = download(&ada, &app, &format!("/exports/usage.csv?from={day}&to={day}")).await;
    assert_eq!(one.column(&columns, "day"), [day.to_string()]);
    let year = download(&ada, &app, &format!("/exports/usage.csv?from={}&to={}", days_ago(365), today())).await;
    assert_eq!(year.rows(&columns).len(), 90, "the demo's 90 days of history");
    for query in [
        format!("from={}&to={}", days_ago(366), today()),
        format!("from={}&to={}", today(), days_ago(1)),
        "from=2026-02-30".to_owned(),
        "to=yesterday".to_owned(),
    ] {
        let d = download(&ada, &app, &format!("/exports/usage.csv?{query}")).await;
        assert_eq!(d.status, StatusCode::BAD_REQUEST, "{query}: {}", d.text);
    }
}

#[tokio::test]
async fn the_api_exports_the_key_s_product_in_csv_only() {
    use app::store::keys::api_keys::Scopes;
    let app = spawn_app().await;
    // Another product with a key of its own, and a key of this product that only enforces.
    let (other, enforce) = ("tsk_other_product_exports", "tsk_enforce_only_exports");
    let admin = app::store::audit::Actor::system("test");
    let now = app::store::now();
    let demo_product = app.state.store.list_products().await.unwrap_or_else(|e| panic!("{e}"))[0].0;
    let other_product = app.state.store.add_product(&admin, "other", "Other", "test", now).await.unwrap_or_else(|e| panic!("{e}"));
    for (product, key, scopes) in [(other_product, other, Scopes::ALL), (demo_product, enforce, Scopes::ENFORCE)] {
        app.state.store.issue_api_key(&admin, product, key, key, scopes, None, now).await.unwrap_or_else(|e| panic!("{e}"));
    }
    let seq = audit_head(&app).await;

    let all = api_download(&app, "/api/v1/exports/entitlements", KEY, None).await;
    let products: BTreeSet<String> = all.column(&ENTITLEMENT_COLUMNS, "product").into_iter().collect();
    assert_eq!(products, BTreeSet::from(["acme-analytics".to_owned()]));
    assert!(all.rows(&ENTITLEMENT_COLUMNS).len() >= 4);
    for accept in ["text/csv", "text/*", "*/*", "application/json;q=0.9, text/csv"] {
        let d = api_download(&app, "/api/v1/exports/seats", KEY, Some(accept)).await;
        assert_eq!(d.status, StatusCode::OK, "{accept}");
    }
    for accept in ["application/json", "text/html", "text/csv;q=0"] {
        let d = api_download(&app, "/api/v1/exports/entitlements", KEY, Some(accept)).await;
        assert_eq!(problem(&d), (StatusCode::NOT_ACCEPTABLE, "not_acceptable".to_owned(), String::new()), "{accept}");
        assert!(d.header("content-type").starts_with("application/json"), "{accept}");
    }

    let initech = api_download(&app, "/api/v1/exports/seats?customer=initech", KEY, None).await;
    assert_eq!(initech.header("content-disposition"), format!("attachment; filename=\"tessera-initech-seats-{}.csv\"", today()));
    let emails = initech.column(&["entitlement_id", "customer", "product", "email", "name", "role", "assigned_at"], "email");
    assert_eq!(emails, ["ada@initech.example", "bob@initech.example"]);
    let unknown = api_download(&app, "/api/v1/exports/seats?customer=nobody", KEY, None).await;
    assert_eq!(problem(&unknown).0, StatusCode::NOT_FOUND);
    assert_eq!(problem(&unknown).1, "unknown_customer");

    // Another product's key reads none of this product's rows.
    for path in ["/api/v1/exports/entitlements", "/api/v1/exports/seats", "/api/v1/exports/usage"] {
        let d = api_download(&app, path, other, None).await;
        assert_eq!(d.status, StatusCode::OK, "{path}");
        assert_eq!(d.text.matches("\r\n").count(), 1, "{path}: the header row only: {}", d.text);
    }

    // Scopes and credentials as everywhere in the provisioning API.
    let d = api_download(&app, "/api/v1/exports/usage", enforce, None).await;
    assert_eq!(problem(&d).0, StatusCode::FORBIDDEN);
    assert_eq!(problem(&d).1, "missing_scope");
    let d = api_download(&app, "/api/v1/exports/usage", "tsk_nope", None).await;
    assert_eq!(d.status, StatusCode::UNAUTHORIZED);

    // Days: the shape the document gives is a 400; a day or range the calendar refuses, 422.
    let cases = [
        ("from=2026-1-01", StatusCode::BAD_REQUEST, ""),
        ("from=", StatusCode::BAD_REQUEST, ""),
        ("to=2026-11-01T00:00:00Z", StatusCode::BAD_REQUEST, ""),
        ("from=2026-02-30", StatusCode::UNPROCESSABLE_ENTITY, "from"),
        ("from=2026-11-02&to=2026-11-01", StatusCode::UNPROCESSABLE_ENTITY, "to"),
        ("from=2025-01-01&to=2026-01-02", StatusCode::UNPROCESSABLE_ENTITY, "from"),
    ];
    for (query, status, field) in cases {
        let d = api_download(&app, &format!("/api/v1/exports/usage?{query}"), KEY, None).await;
        let (got, _, got_field) = problem(&d);
        assert_eq!((got, got_field.as_str()), (status, field), "{query}: {}", d.text);
    }
    let range = format!("/api/v1/exports/usage?customer=globex&from={}&to={}", days_ago(10), today());
    let globex = api_download(&app, &range, KEY, None).await;
    assert_eq!(globex.rows(&["entitlement_id", "customer", "product", "feature", "day", "quantity"]).len(), 5, "the trial's five days");
    assert_eq!(audit_head(&app).await, seq, "an export records nothing");
}

#[tokio::test]
async fn a_large_export_streams_every_row_once() {
    let app = spawn_app().await;
    // A year of every feature's use for every entitlement: thousands of rows, many pages.
    let today_secs = app::store::now() - app::store::now().rem_euclid(86_400);
    app.sql(
        "WITH RECURSIVE d(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM d WHERE n < 365)
         INSERT INTO usage_daily (entitlement_id, feature_id, day, quantity)
         SELECT e.id, f.id, $1 - d.n * 86400, d.n + 1 FROM entitlements e JOIN features f ON f.product_id = e.product_id, d WHERE 1 = 1
         ON CONFLICT (entitlement_id, feature_id, day) DO UPDATE SET quantity = excluded.quantity",
        &[today_secs],
    )
    .await;
    let first = today_secs - 365 * 86_400;
    let expected: i64 = app
        .sql_strings(&format!("SELECT CAST(COUNT(*) AS TEXT) FROM usage_daily WHERE day >= {first} AND day <= {today_secs}"))
        .await
        .first()
        .and_then(|n| n.parse().ok())
        .unwrap_or_default();
    assert!(expected > 3_000, "seeded {expected} rows");

    let columns = ["entitlement_id", "customer", "product", "feature", "day", "quantity"];
    let path = format!("/exports/usage.csv?from={}&to={}", days_ago(365), today());
    let staff = app.client_for("staff@tessera.example").await;
    let d = download(&staff, &app, &path).await;
    assert!(d.headers.get("content-length").is_none(), "streamed, not measured first");
    assert_eq!(d.header("transfer-encoding"), "chunked");
    let rows = d.rows(&columns);
    assert_eq!(rows.len() as i64, expected);
    let keys: BTreeSet<(String, String, String)> = rows.iter().map(|r| (r[0].clone(), r[3].clone(), r[4].clone())).collect();
    assert_eq!(keys.len(), rows.len(), "no row twice");

    let api = api_download(&app, &format!("/api/v1/exports/usage?from={}&to={}", days_ago(365), today()), KEY, None).await;
    assert_eq!(api.rows(&columns).len() as i64, expected, "the key's product is every entitlement's here");
}
