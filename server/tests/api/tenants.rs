//! Tenant isolation and roles: every server function, called by someone who must not.

use reqwest::StatusCode;

use crate::helpers::{json, new_client, spawn_app};

#[tokio::test]
async fn a_customer_reads_only_their_own_entitlements() {
    let app = spawn_app().await;
    let ada = app.client_for("ada@initech.example").await;
    let own = json(app.call_as(&ada, "list_entitlements", &[]).await).await;
    assert_eq!(own[0]["customer"], "Initech");
    assert_eq!(own[0]["plan"], "Team");
    assert_eq!(own[0]["seats_used"], 2);
    assert_eq!(own[0]["seats_cap"], 10);
    let named = json(app.call_as(&ada, "list_entitlements", &[("customer", "initech")]).await).await;
    assert_eq!(named, own);
}

#[tokio::test]
async fn every_customer_function_refuses_another_tenant() {
    let app = spawn_app().await;
    for (email, other) in [("grace@globex.example", "initech"), ("ada@initech.example", "globex"), ("bob@initech.example", "umbrella")] {
        let client = app.client_for(email).await;
        let r = app.call_as(&client, "list_entitlements", &[("customer", other)]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{email} reading {other}");
        let body = r.text().await.unwrap_or_default();
        assert!(!body.contains("Team") && !body.contains("Business") && !body.contains("Enterprise"), "{body}");
        // An unknown customer looks the same as another tenant's: no probing for names.
        let r = app.call_as(&client, "list_entitlements", &[("customer", "no-such-customer")]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = app.call_as(&client, "list_customers", &[]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{email} listing customers");
    }
}

#[tokio::test]
async fn signed_out_callers_are_refused_everywhere() {
    let app = spawn_app().await;
    let anonymous = new_client();
    for (name, form) in [("list_entitlements", vec![]), ("list_entitlements", vec![("customer", "initech")]), ("list_customers", vec![])] {
        let r = app.call_as(&anonymous, name, &form).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{name}");
    }
    assert_eq!(json(app.call_as(&anonymous, "whoami", &[]).await).await, serde_json::Value::Null);
}

#[tokio::test]
async fn vendor_admins_and_staff_list_customers_and_read_any_customer() {
    let app = spawn_app().await;
    // Sales see only the demo customer: sales_see_the_demo_customer_and_nothing_of_real_ones.
    for email in ["admin@tessera.example", "staff@tessera.example"] {
        let client = app.client_for(email).await;
        let list = json(app.call_as(&client, "list_customers", &[]).await).await;
        assert_eq!(list["next_after"], serde_json::Value::Null, "one page");
        let slugs: Vec<_> = list["customers"].as_array().map(|a| a.iter().map(|c| c["slug"].clone()).collect()).unwrap_or_default();
        assert_eq!(slugs, ["demo", "globex", "initech", "umbrella"]);
        let globex = json(app.call_as(&client, "list_entitlements", &[("customer", "globex")]).await).await;
        assert_eq!(globex[0]["status"], "trial");
        let r = app.call_as(&client, "list_entitlements", &[("customer", "no-such-customer")]).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let r = app.call_as(&client, "list_entitlements", &[]).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "a vendor must name the customer");
    }
}

#[tokio::test]
async fn sales_see_the_demo_customer_and_nothing_of_real_ones() {
    let app = crate::helpers::spawn_app().await;
    let sales = app.client_for("sales@tessera.example").await;
    let listed = crate::helpers::json(app.call_as(&sales, "list_customers", &[]).await).await;
    let slugs: Vec<_> = listed["customers"].as_array().map(|c| c.iter().map(|c| c["slug"].clone()).collect()).unwrap_or_default();
    assert_eq!(slugs, ["demo"]);
    let demo = app.call_as(&sales, "list_entitlements", &[("customer", "demo")]).await;
    assert_eq!(demo.status(), reqwest::StatusCode::OK);
    let demo = crate::helpers::json(demo).await;
    for slug in ["initech", "globex", "umbrella"] {
        let r = app.call_as(&sales, "list_entitlements", &[("customer", slug)]).await;
        assert_eq!(r.status(), reqwest::StatusCode::FORBIDDEN, "{slug}");
    }
    // Nor an entitlement of a real customer by its id.
    let ada = app.client_for("ada@initech.example").await;
    let initech = crate::helpers::json(app.call_as(&ada, "list_entitlements", &[]).await).await[0]["id"].to_string();
    assert_ne!(demo[0]["id"].to_string(), initech);
    let r = app.call_as(&sales, "get_license_key", &[("entitlement", &initech)]).await;
    assert_eq!(r.status(), reqwest::StatusCode::FORBIDDEN);
    // Staff still see everyone.
    let staff = app.client_for("staff@tessera.example").await;
    let all = crate::helpers::json(app.call_as(&staff, "list_customers", &[]).await).await;
    assert!(all["customers"].as_array().is_some_and(|c| c.len() >= 4));
}
