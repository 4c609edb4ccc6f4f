//! The vendor dashboard and the console's lists over HTTP: what needs the staff counted
//! and each count leading to its list, customers searched, filtered and paged, the queue's
//! overdue filter.

use reqwest::StatusCode;
use serde_json::{json as j, Value};

use crate::helpers::{json, spawn_app, TestApp};

async fn dashboard(app: &TestApp, client: &reqwest::Client) -> Value {
    let r = app.call_as(client, "get_dashboard", &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    json(r).await
}

fn slugs(page: &Value) -> Vec<String> {
    page["customers"].as_array().map(|a| a.iter().filter_map(|c| c["slug"].as_str().map(str::to_owned)).collect()).unwrap_or_default()
}

#[tokio::test]
async fn the_dashboard_counts_what_needs_the_staff_and_each_count_lists_them() {
    let app = spawn_app().await;
    let staff = app.client_for("staff@tessera.example").await;
    let ada = app.client_for("ada@initech.example").await;

    // The demo: Globex's trial (its term too) ends in 10 days; nothing waits; no one is near a limit.
    let d = dashboard(&app, &staff).await;
    let counts = |d: &Value| ["pending", "overdue", "trials_ending", "terms_ending", "renewing", "near_limit"].map(|k| d[k].as_i64());
    assert_eq!(counts(&d), [0, 0, 1, 1, 0, 0].map(Some), "{d}");
    for (show, expected) in
        [("trial-ending", vec!["globex"]), ("term-ending", vec!["globex"]), ("renewing", vec![]), ("near-limit", vec![])]
    {
        let listed = json(app.call_as(&staff, "list_customers", &[("show", show)]).await).await;
        assert_eq!(slugs(&listed), expected, "{show}");
    }
    // Both charts drawn, with accessible names; the latest change is the seed's last.
    let activity = &d["activity"];
    assert!(
        activity["entitlements_chart"].as_str().is_some_and(|s| s.contains("role=\"img\"") && s.contains("Live entitlements")),
        "{activity}"
    );
    assert!(activity["usage_chart"].as_str().is_some_and(|s| s.contains("Usage metered")), "{activity}");
    assert_eq!(activity["live_today"], 4, "Initech, Globex, Umbrella and the demo customer");

    // Ada asks for a bigger plan and Initech's API calls pass 80 % of the month's 10,000.
    let entitlement = json(app.call_as(&ada, "list_entitlements", &[]).await).await[0]["id"].to_string();
    let form = [("entitlement", entitlement.as_str()), ("kind", "plan"), ("plan", "business"), ("reason", "We need SSO")];
    assert_eq!(app.call_as(&ada, "file_request", &form).await.status(), StatusCode::OK);
    let used: i64 = json(app.call_as(&ada, "get_usage", &[("days", "30")]).await).await["features"][0]["used"].as_i64().unwrap_or(0);
    let r = app
        .client
        .post(app.url("/api/v1/usage"))
        .bearer_auth("tsk_demo_acme")
        .json(&j!({"events": [{"event_id": "dash-1", "customer": "initech", "feature": "api.calls", "quantity": 8_000 - used}]}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(r.status().is_success(), "{}", r.status());

    // The customers near a limit are read again in the background once a snapshot changed:
    // the dashboard shows the change a moment later.
    let mut d = dashboard(&app, &staff).await;
    for _ in 0..100 {
        if d["near_limit"] == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        d = dashboard(&app, &staff).await;
    }
    assert_eq!(counts(&d), [1, 0, 1, 1, 0, 1].map(Some), "{d}");
    // The latest changes, newest first: the usage recorded and crossing 80 %, after the request.
    let latest: Vec<_> = d["latest"].as_array().into_iter().flatten().take(3).map(|e| (e["kind"].clone(), e["customer"].clone())).collect();
    let initech = |kind: &str| (j!(kind), j!("Initech"));
    assert_eq!(latest, [initech("quota.threshold_reached"), initech("usage.recorded"), initech("request.filed")], "{d}");
    let near = json(app.call_as(&staff, "list_customers", &[("show", "near-limit")]).await).await;
    assert_eq!(slugs(&near), ["initech"]);
    let queue = json(app.call_as(&staff, "list_pending_requests", &[]).await).await;
    assert_eq!(queue["requests"].as_array().map(Vec::len), Some(1));
    // Not overdue yet; filed three days ago, it is.
    let overdue = json(app.call_as(&staff, "list_pending_requests", &[("overdue", "true")]).await).await;
    assert_eq!(overdue, j!({"requests": [], "next_after": null}));
    app.sql("UPDATE change_requests SET created_at = created_at - $1", &[3 * 86_400]).await;
    let overdue = json(app.call_as(&staff, "list_pending_requests", &[("overdue", "true")]).await).await;
    assert_eq!(overdue["requests"][0]["overdue"], true, "{overdue}");
    assert_eq!(dashboard(&app, &staff).await["overdue"], 1);

    // The page: each figure a link to its list.
    let html = staff.get(app.url("/dashboard")).send().await.unwrap_or_else(|e| panic!("{e}")).text().await.unwrap_or_default();
    for href in ["/approvals", "/approvals?overdue=true", "/customers?show=trial-ending", "/customers?show=near-limit", "/audit"] {
        assert!(html.contains(&format!("href=\"{href}\"")), "{href} in {html}");
    }
    // Only vendor admins and staff: not sales, not a customer's admin.
    for who in ["sales@tessera.example", "ada@initech.example"] {
        let client = app.client_for(who).await;
        assert_eq!(app.call_as(&client, "get_dashboard", &[]).await.status(), StatusCode::FORBIDDEN, "{who}");
    }
}

#[tokio::test]
async fn customers_are_searched_filtered_and_paged_by_name() {
    let app = spawn_app().await;
    let staff = app.client_for("staff@tessera.example").await;
    let list = |form: Vec<(&'static str, String)>| {
        let staff = staff.clone();
        let app = &app;
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.call_as(&staff, "list_customers", &form).await
        }
    };
    assert_eq!(slugs(&json(list(vec![("search", "GLOB".into())]).await).await), ["globex"]);
    assert_eq!(slugs(&json(list(vec![("search", "bob@initech.example".into())]).await).await), ["initech"]);
    let r = list(vec![("show", "everyone-rich".into())]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap_or_default().contains("No such list of customers"));

    // 120 more customers: three pages of 50, each customer once, in the order of names.
    for i in 0..120 {
        app.sql(&format!("INSERT INTO customers (slug, name, created_at) VALUES ('bulk-{i:03}', 'Bulk {:03}', $1)", (i * 7) % 120), &[0])
            .await;
    }
    let mut seen = Vec::new();
    let mut after: Option<i64> = None;
    let mut pages = 0;
    loop {
        let form = after.map(|a| vec![("after", a.to_string())]).unwrap_or_default();
        let page = json(list(form).await).await;
        pages += 1;
        seen.extend(page["customers"].as_array().into_iter().flatten().filter_map(|c| c["name"].as_str().map(str::to_owned)));
        match page["next_after"].as_i64() {
            Some(a) => after = Some(a),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 124);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen, sorted, "by name, none twice");

    // The page carries the search into its next-page link, and stays small.
    let html = staff.get(app.url("/customers?search=bulk")).send().await.unwrap_or_else(|e| panic!("{e}")).text().await.unwrap_or_default();
    assert!(html.contains("href=\"/customers?search=bulk&amp;after=") || html.contains("href=\"/customers?search=bulk&after="), "{html}");
    assert_eq!(html.matches("href=\"/customers/bulk-").count(), 50);
}

#[tokio::test]
async fn the_catalog_counts_entitlements_per_plan_only_when_asked() {
    let app = spawn_app().await;
    let staff = app.client_for("staff@tessera.example").await;
    let on_plans = |catalog: &Value| -> i64 {
        catalog["products"][0]["plans"].as_array().into_iter().flatten().filter_map(|p| p["on_this_version"].as_i64()).sum()
    };
    let counted = json(app.call_as(&staff, "get_catalog", &[]).await).await;
    assert!(on_plans(&counted) >= 3, "{counted}");
    let offered = json(app.call_as(&staff, "get_catalog", &[("counts", "false")]).await).await;
    assert_eq!(on_plans(&offered), 0);
    assert_eq!(offered["products"][0]["plans"].as_array().map(Vec::len), counted["products"][0]["plans"].as_array().map(Vec::len));
}
