//! Several replicas on one PostgreSQL database: a change made through one is what the
//! next check on another sees.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{
    audit_head, audit_kinds_since, drop_postgres, json as body, postgres_database, published_kids, spawn_app_with, TestApp,
};

async fn check(app: &TestApp, user: &str) -> String {
    let r = app
        .client
        .post(app.url("/api/v1/check"))
        .bearer_auth("tsk_demo_acme")
        .json(&json!({"customer": "initech", "feature": "reports.export", "user": user}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    body(r).await["code"].as_str().unwrap_or_default().to_owned()
}

/// Asks `app` until the check answers `code` or five seconds pass; returns the last answer.
async fn eventually(app: &TestApp, user: &str, code: &str) -> String {
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let got = check(app, user).await;
        if got == code || Instant::now() > until {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_seat_changed_on_one_replica_changes_the_checks_of_another() {
    let Some((url, name)) = postgres_database().await else { return };
    let a = spawn_app_with(|c| c.database_url = url.clone()).await;
    let b = spawn_app_with(|c| c.database_url = url.clone()).await;
    assert_eq!(check(&b, "bob@initech.example").await, "ok");

    let ada = a.client_for("ada@initech.example").await;
    let ent = body(a.call_as(&ada, "list_entitlements", &[]).await).await[0]["id"].to_string();
    let r = a.call_as(&ada, "free_seat", &[("entitlement", &ent), ("email", "bob@initech.example")]).await;
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(check(&a, "bob@initech.example").await, "no_seat", "the replica that wrote sees it at once");
    assert_eq!(eventually(&b, "bob@initech.example", "no_seat").await, "no_seat", "the other replica follows");

    // And back, the other way round.
    let ada_b = b.client_for("ada@initech.example").await;
    let r = b.call_as(&ada_b, "assign_seat", &[("entitlement", &ent), ("email", "bob@initech.example")]).await;
    assert!(r.status().is_success());
    assert_eq!(eventually(&a, "bob@initech.example", "ok").await, "ok");
    drop(a);
    drop(b);
    drop_postgres(&name).await;
}

#[tokio::test]
async fn a_suspension_on_one_replica_is_audited_once_and_followed_by_the_checks_of_another() {
    let Some((url, name)) = postgres_database().await else { return };
    let a = spawn_app_with(|c| c.database_url = url.clone()).await;
    let b = spawn_app_with(|c| c.database_url = url.clone()).await;
    let staff_a = a.client_for("staff@tessera.example").await;
    let staff_b = b.client_for("staff@tessera.example").await;
    let ent = body(a.call_as(&staff_a, "list_entitlements", &[("customer", "initech")]).await).await[0]["id"].to_string();
    assert_eq!(check(&b, "ada@initech.example").await, "ok");

    let head = audit_head(&a).await;
    let suspend = [("entitlement", ent.as_str()), ("action", "suspend"), ("reason", "Payment overdue")];
    let r = a.call_as(&staff_a, "change_entitlement", &suspend).await;
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(check(&a, "ada@initech.example").await, "suspended", "the replica that wrote sees it at once");
    assert_eq!(eventually(&b, "ada@initech.example", "suspended").await, "suspended", "the other replica follows");
    assert_eq!(audit_kinds_since(&b, head).await, ["entitlement.suspended"], "one event, though both replicas reloaded Initech");

    // And back, the other way round.
    let head = audit_head(&b).await;
    let resume = [("entitlement", ent.as_str()), ("action", "resume"), ("reason", "Paid")];
    let r = b.call_as(&staff_b, "change_entitlement", &resume).await;
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(check(&b, "ada@initech.example").await, "ok");
    assert_eq!(eventually(&a, "ada@initech.example", "ok").await, "ok");
    assert_eq!(audit_kinds_since(&a, head).await, ["entitlement.resumed"]);
    drop(a);
    drop(b);
    drop_postgres(&name).await;
}

/// The key ids another replica publishes, once they equal `want` or five seconds pass.
async fn jwks_eventually(app: &TestApp, want: &[String]) -> Vec<String> {
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let kids = published_kids(&app.url("/.well-known/jwks.json")).await;
        if kids == want || Instant::now() > until {
            return kids;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_signing_key_rotated_and_retired_on_one_replica_is_published_by_another() {
    let Some((url, name)) = postgres_database().await else { return };
    let a = spawn_app_with(|c| c.database_url = url.clone()).await;
    let b = spawn_app_with(|c| c.database_url = url.clone()).await;
    let admin = a.client_for("admin@tessera.example").await;
    let old = jwks_eventually(&b, &[]).await;
    assert_eq!(old.len(), 1);
    let new = body(a.call_as(&admin, "rotate_signing_key", &[]).await).await.as_str().unwrap_or_default().to_owned();
    let mut both = vec![old[0].clone(), new.clone()];
    both.sort();
    assert_eq!(jwks_eventually(&b, &both).await, both, "the other replica publishes the new key");
    let r = a.call_as(&admin, "retire_signing_key", &[("kid", &old[0])]).await;
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(jwks_eventually(&b, std::slice::from_ref(&new)).await, [new], "and drops the retired one");
    drop(a);
    drop(b);
    drop_postgres(&name).await;
}
