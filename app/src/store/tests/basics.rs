//! Store round-trips on fresh migrated databases: SQLite always, PostgreSQL when the
//! local server answers (required in CI with `TESSERA_REQUIRE_PG=1`).

use crate::auth::Role;
use crate::engine::{CustomerId, EntitlementId, EntitlementStatus, UserId};
use crate::store::testing::{self, TestDb, ALL_INSTANCES};
use crate::store::*;

const DAY: i64 = 86_400;

/// A fixed "now" so that dates are exact: 2026-11-23 12:00 UTC.
const NOW: i64 = 1_795_435_200;

async fn seeded() -> Vec<TestDb> {
    testing::seeded(NOW).await
}

fn today() -> chrono::NaiveDate {
    day_of(NOW)
}

#[tokio::test]
async fn the_demo_seed_reads_back_as_the_portal_shows_it() {
    for db in seeded().await {
        let s = &db.store;
        let initech = s.find_customer_by_slug("initech").await.unwrap_or_else(|e| panic!("{e}"));
        let list = s.list_entitlements(initech.id, today()).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(list.len(), 1, "{}", db.name);
        let e = &list[0];
        assert_eq!((e.product.as_str(), e.plan.as_str(), e.status), ("Acme Analytics", "Team", EntitlementStatus::Active));
        assert_eq!((e.seats_used, e.seats_cap, e.instances_cap), (2, 10, 3));
        assert_eq!(e.renews_on, Some(day_of(NOW + 45 * DAY)));
        assert_eq!(e.days_left, Some(45));
        let keys: Vec<_> = e.features.iter().map(|f| (f.key.as_str(), f.quota)).collect();
        assert_eq!(keys, [("dashboards", None), ("reports.export", None), ("api.calls", Some(10_000))]);

        let globex = s.find_customer_by_slug("globex").await.unwrap_or_else(|e| panic!("{e}"));
        let g = s.list_entitlements(globex.id, today()).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((g[0].plan.as_str(), g[0].status), ("Business", EntitlementStatus::Trial));
        assert_eq!(g[0].trial_ends_on, Some(day_of(NOW + 10 * DAY)));
        assert_eq!(g[0].days_left, Some(10));
        assert_eq!(g[0].features.len(), 5);

        let umbrella = s.find_customer_by_slug("umbrella").await.unwrap_or_else(|e| panic!("{e}"));
        let u = s.list_entitlements(umbrella.id, today()).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(u[0].status, EntitlementStatus::Suspended);
        assert_eq!(u[0].status_reason.as_deref(), Some("Payment overdue"));
        db.drop_db().await;
    }
}

#[tokio::test]
async fn users_are_found_by_email_in_any_case_with_their_tenant() {
    for db in seeded().await {
        let s = &db.store;
        let c = s.find_credentials(" ADA@initech.example").await.unwrap_or_else(|e| panic!("{e}"));
        let c = c.unwrap_or_else(|| panic!("{}: ada not found", db.name));
        assert_eq!(c.password_hash.as_deref(), Some("hash-of-ada@initech.example"));
        let user = s.find_current_user(c.id).await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|| panic!("ada"));
        assert_eq!(user.role, Role::CustomerAdmin);
        assert_eq!(user.customer.map(|c| c.slug).as_deref(), Some("initech"));

        let staff = s.find_credentials("staff@tessera.example").await.ok().flatten().unwrap_or_else(|| panic!("staff"));
        let staff = s.find_current_user(staff.id).await.ok().flatten().unwrap_or_else(|| panic!("staff"));
        assert_eq!((staff.role, staff.customer), (Role::VendorStaff, None));

        assert!(s.find_credentials("nobody@initech.example").await.unwrap_or_else(|e| panic!("{e}")).is_none());
        assert!(s.find_current_user(9_999).await.unwrap_or_else(|e| panic!("{e}")).is_none());
        db.drop_db().await;
    }
}

#[tokio::test]
async fn seeding_twice_conflicts_and_leaves_nothing_half_written() {
    for db in seeded().await {
        let s = &db.store;
        let before = s.search_customers(&Default::default(), 1_000).await.unwrap_or_else(|e| panic!("{e}"));
        let audit_before = s.list_audit_events(None, 100).await.unwrap_or_else(|e| panic!("{e}")).len();
        let again = seed::seed_demo(s, &vec!["h".to_owned(); seed::DEMO_USERS.len()], NOW).await;
        assert!(matches!(again, Err(StoreError::Duplicate(_))), "{}: {again:?}", db.name);
        assert_eq!(s.search_customers(&Default::default(), 1_000).await.unwrap_or_else(|e| panic!("{e}")), before);
        assert_eq!(s.list_audit_events(None, 100).await.unwrap_or_else(|e| panic!("{e}")).len(), audit_before);
        assert!(!s.is_empty().await.unwrap_or_else(|e| panic!("{e}")));
        db.drop_db().await;
    }
}

#[tokio::test]
async fn customers_are_listed_by_name_with_their_entitlements() {
    for db in seeded().await {
        let list = db.store.search_customers(&Default::default(), 1_000).await.unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<_> = list.iter().map(|c| (c.name.as_str(), c.users)).collect();
        assert_eq!(names, [("Demo Co", 1), ("Globex", 1), ("Initech", 3), ("Umbrella", 1)]);
        assert_eq!(list[2].entitlements, ["Acme Analytics · Team · active"]);
        db.drop_db().await;
    }
}

#[tokio::test]
async fn a_seat_is_never_assigned_beyond_the_cap() {
    for db in seeded().await {
        let s = &db.store;
        let globex = s.find_customer_by_slug("initech").await.unwrap_or_else(|e| panic!("{e}"));
        let ent = s.list_entitlements(globex.id, today()).await.unwrap_or_else(|e| panic!("{e}"))[0].id;
        let mut tx = s.begin_write().await.unwrap_or_else(|e| panic!("{e}"));
        sqlx::query("UPDATE entitlements SET seats_override = 3 WHERE id = $1")
            .bind(ent)
            .execute(&mut *tx)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let cy = s.find_credentials("cy@initech.example").await.ok().flatten().unwrap_or_else(|| panic!("cy")).id;
        let grace = s.find_credentials("grace@globex.example").await.ok().flatten().unwrap_or_else(|| panic!("g")).id;
        assert!(entitlements::seats::assign_seat(&mut tx, EntitlementId(ent), UserId(cy), NOW).await.unwrap_or_else(|e| panic!("{e}")));
        assert!(
            !entitlements::seats::assign_seat(&mut tx, EntitlementId(ent), UserId(grace), NOW).await.unwrap_or_else(|e| panic!("{e}")),
            "cap of 3 reached"
        );
        tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
        let e = &s.list_entitlements(globex.id, today()).await.unwrap_or_else(|e| panic!("{e}"))[0];
        assert_eq!((e.seats_used, e.seats_cap), (3, 3), "{}", db.name);
        db.drop_db().await;
    }
}

#[tokio::test]
async fn the_audit_chain_verifies_and_a_tampered_row_is_found() {
    for db in seeded().await {
        let s = &db.store;
        for email in ["ada@initech.example", "grace@globex.example", "staff@tessera.example"] {
            let c = s.find_credentials(email).await.ok().flatten().unwrap_or_else(|| panic!("{email}"));
            s.start_sign_in(c.id, &format!("h-{}", c.id), &Default::default(), NOW + 60).await.unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(s.verify_audit_chain().await.unwrap_or_else(|e| panic!("{e}")), None, "{}", db.name);
        let events = s.list_audit_events(None, 10).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(events.len(), 4);
        assert_eq!(events[0].kind, "user.signed_in");
        let globex = s.find_customer_by_slug("globex").await.unwrap_or_else(|e| panic!("{e}"));
        let own = s.list_audit_events(Some(globex.id), 10).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(own.iter().map(|e| e.actor.as_str()).collect::<Vec<_>>(), ["grace@globex.example"]);

        // The log refuses a change and a removal outright…
        let refused = sqlx::query("UPDATE audit_events SET actor = 'mallory@initech.example' WHERE seq = 3").execute(s.pool()).await;
        assert!(refused.is_err_and(|e| e.to_string().contains("append-only")), "{}", db.name);
        assert!(sqlx::query("DELETE FROM audit_events WHERE seq = 4").execute(s.pool()).await.is_err(), "{}", db.name);
        assert!(
            sqlx::query("UPDATE audit_head SET seq = 1 WHERE id = 1").execute(s.pool()).await.is_err(),
            "{}: the head only moves on",
            db.name
        );
        // …and one who owns the database and drops the guard is still found out.
        let drop = match s.engine() {
            crate::store::Engine::Sqlite => "DROP TRIGGER audit_events_no_update",
            crate::store::Engine::Postgres => "DROP TRIGGER audit_events_no_change ON audit_events",
        };
        sqlx::query(drop).execute(s.pool()).await.unwrap_or_else(|e| panic!("{e}"));
        sqlx::query("UPDATE audit_events SET actor = 'mallory@initech.example' WHERE seq = 3")
            .execute(s.pool())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.verify_audit_chain().await.unwrap_or_else(|e| panic!("{e}")), Some(3), "{}", db.name);
        db.drop_db().await;
    }
}

#[tokio::test]
async fn concurrent_audit_writers_keep_one_unbroken_chain() {
    for db in seeded().await {
        let s = db.store.clone();
        let c = s.find_credentials("ada@initech.example").await.ok().flatten().unwrap_or_else(|| panic!("ada"));
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let (s, c) = (s.clone(), c.clone());
                tokio::spawn(async move { s.start_sign_in(c.id, &format!("h-{i}"), &Default::default(), NOW + i).await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(s.list_audit_events(None, 100).await.unwrap_or_else(|e| panic!("{e}")).len(), 21);
        assert_eq!(s.verify_audit_chain().await.unwrap_or_else(|e| panic!("{e}")), None, "{}", db.name);
        db.drop_db().await;
    }
}

/// Initech's snapshot, its Acme Analytics entitlement and the id of its `api.calls`.
async fn initech_api_calls(s: &crate::store::Store) -> (crate::store::entitlements::snapshots::CustomerSnapshot, i64, i64) {
    let snap = s
        .load_customer_snapshot(s.find_customer_id("initech").await.ok().flatten().unwrap_or_default(), NOW)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let ent = snap.entitlements["acme-analytics"].entitlement_id;
    let feature: i64 = s.list_feature_keys().await.unwrap_or_else(|e| panic!("{e}"))["acme-analytics"]["api.calls"];
    (snap, ent, feature)
}

#[tokio::test]
async fn usage_counts_each_event_id_once_and_rolls_up_per_day() {
    use crate::store::usage::NewUsage;
    for db in seeded().await {
        let s = &db.store;
        let (snap, ent, feature) = initech_api_calls(s).await;
        let ev = |id: &str, q, at| NewUsage {
            event_id: id.into(),
            customer_id: snap.customer_id,
            entitlement_id: ent,
            feature_id: feature,
            quantity: q,
            at,
        };
        let batch = vec![ev("a", 100, NOW), ev("b", 50, NOW - 3_600), ev("c", 7, NOW - 40 * DAY)];
        // The demo's history counts already; this month's seeded use is the baseline.
        let baseline = snap.entitlements["acme-analytics"].usage.get("api.calls").map(|u| u.used).unwrap_or(0);
        let actor = crate::store::audit::Actor::system("test");
        let first = s.record_usage(&actor, &batch, NOW).await.unwrap_or_else(|e| panic!("{}: {e}", db.name));
        assert_eq!((first.accepted, first.duplicates), (3, 0));
        let again = s.record_usage(&actor, &batch, NOW).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((again.accepted, again.duplicates, again.counted.len()), (0, 3, 0));
        let snap = s.load_customer_snapshot(snap.customer_id, NOW).await.unwrap_or_else(|e| panic!("{e}"));
        // The event 40 days ago belongs to last month's period.
        assert_eq!(snap.entitlements["acme-analytics"].usage["api.calls"].used, baseline + 150, "{}", db.name);
        assert_eq!(s.verify_audit_chain().await.unwrap_or_else(|e| panic!("{e}")), None);
        db.drop_db().await;
    }
}

#[tokio::test]
async fn concurrent_usage_batches_over_the_same_days_all_commit() {
    use crate::store::usage::NewUsage;
    for db in seeded().await {
        let s = &db.store;
        let (snap, ent, feature) = initech_api_calls(s).await;
        // Eight writers, each with batches over the same thirty days in an order of its own.
        let writers = (0..8).map(|w| {
            let s = s.clone();
            let customer = snap.customer_id;
            tokio::spawn(async move {
                for b in 0..5 {
                    let batch: Vec<NewUsage> = (0..120)
                        .map(|i| NewUsage {
                            event_id: format!("w{w}-b{b}-{i}"),
                            customer_id: customer,
                            entitlement_id: ent,
                            feature_id: feature,
                            quantity: 1,
                            at: NOW - ((i * (w + 1) + b) % 30) * DAY,
                        })
                        .collect();
                    s.record_usage(&crate::store::audit::Actor::system("test"), &batch, NOW).await?;
                }
                Ok::<_, crate::store::StoreError>(())
            })
        });
        for writer in writers.collect::<Vec<_>>() {
            writer.await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|e| panic!("{}: a batch failed: {e}", db.name));
        }
        let total: i64 = sqlx::query_scalar("SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) FROM usage_events WHERE event_id LIKE 'w%'")
            .fetch_one(s.pool())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(total, 8 * 5 * 120, "{}", db.name);
        assert_eq!(s.verify_audit_chain().await.unwrap_or_else(|e| panic!("{e}")), None, "{}", db.name);
        db.drop_db().await;
    }
}

/// An online activation under Initech's entitlement.
fn instance(customer: i64, entitlement: i64, fingerprint: &str) -> crate::store::entitlements::instances::NewInstance<'_> {
    crate::store::entitlements::instances::NewInstance {
        customer_id: customer,
        entitlement_id: entitlement,
        cap: 3,
        fingerprint,
        name: None,
        offline: None,
    }
}

#[tokio::test]
async fn activations_stop_at_the_cap_and_lapsed_instances_free_their_slot() {
    use crate::store::entitlements::instances::Activation;
    for db in seeded().await {
        let s = &db.store;
        let customer = s.find_customer_id("initech").await.ok().flatten().unwrap_or_default();
        let ent =
            s.load_customer_snapshot(customer, NOW).await.unwrap_or_else(|e| panic!("{e}")).entitlements["acme-analytics"].entitlement_id;
        let actor = crate::store::audit::Actor::system("test");
        // The demo runs two of Initech's three; one slot is free.
        for n in 0..1 {
            let a =
                s.activate_instance(&actor, &instance(customer, ent, &format!("h{n}")), NOW, 900).await.unwrap_or_else(|e| panic!("{e}"));
            assert!(matches!(a, Activation::Active { created: true, .. }), "{}: {a:?}", db.name);
        }
        let full = s.activate_instance(&actor, &instance(customer, ent, "h3"), NOW + 10, 900).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(full, Activation::AtCap);
        let later = s.activate_instance(&actor, &instance(customer, ent, "h3"), NOW + 901, 900).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(later, Activation::Active { created: true, .. }), "{}: {later:?}", db.name);
        assert_eq!(s.list_instances(customer, &ALL_INSTANCES).await.unwrap_or_else(|e| panic!("{e}")).len(), 1);
        db.drop_db().await;
    }
}

#[tokio::test]
async fn concurrent_activations_never_overshoot_the_cap() {
    for db in seeded().await {
        let s = db.store.clone();
        let customer = s.find_customer_id("initech").await.ok().flatten().unwrap_or_default();
        let ent =
            s.load_customer_snapshot(customer, NOW).await.unwrap_or_else(|e| panic!("{e}")).entitlements["acme-analytics"].entitlement_id;
        let tasks: Vec<_> = (0..20)
            .map(|n| {
                let s = s.clone();
                tokio::spawn(async move {
                    let actor = crate::store::audit::Actor::system("test");
                    s.activate_instance(&actor, &instance(customer, ent, &format!("c{n}")), NOW, 900).await
                })
            })
            .collect();
        let mut ok = 0;
        for t in tasks {
            match t.await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|e| panic!("{}: {e}", db.name)) {
                crate::store::entitlements::instances::Activation::Active { .. } => ok += 1,
                crate::store::entitlements::instances::Activation::AtCap => {}
                other => panic!("{}: {other:?}", db.name),
            }
        }
        // The demo runs two of the three already: exactly one more fits.
        assert_eq!(ok, 1, "{}: exactly the cap is activated", db.name);
        assert_eq!(s.list_instances(customer, &ALL_INSTANCES).await.unwrap_or_else(|e| panic!("{e}")).len(), 3, "{}", db.name);
        db.drop_db().await;
    }
}

#[tokio::test]
async fn moving_a_trial_end_moves_the_end_date_and_is_audited() {
    for db in seeded().await {
        let s = &db.store;
        let globex = s.find_customer_by_slug("globex").await.unwrap_or_else(|e| panic!("{e}"));
        let ent = s.list_entitlements(globex.id, today()).await.unwrap_or_else(|e| panic!("{e}"))[0].id;
        let actor = crate::store::audit::Actor::system("test");
        s.set_trial_end(&actor, ent, None, NOW + 20 * DAY, "extended for evaluation", NOW)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", db.name));
        let e = &s.list_entitlements(globex.id, today()).await.unwrap_or_else(|e| panic!("{e}"))[0];
        assert_eq!((e.trial_ends_on, e.ends_on, e.days_left), (Some(day_of(NOW + 20 * DAY)), Some(day_of(NOW + 20 * DAY)), Some(20)));
        let events = s.list_audit_events(Some(globex.id), 5).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(events[0].kind, "entitlement.trial_end_set");
        assert!(events[0].after_json.as_deref().is_some_and(|a| a.contains("extended for evaluation")));
        assert!(matches!(s.set_trial_end(&actor, 999_999, None, NOW, "x", NOW).await, Err(StoreError::NotFound)));
        assert_eq!(s.verify_audit_chain().await.unwrap_or_else(|e| panic!("{e}")), None);
        db.drop_db().await;
    }
}

#[tokio::test]
async fn audit_search_filters_by_customer_actor_kind_and_time() {
    use crate::store::audit::AuditFilter;
    for db in seeded().await {
        let s = &db.store;
        let initech = s.find_customer_by_slug("initech").await.unwrap_or_else(|e| panic!("{e}"));
        let ent = s.list_entitlements(initech.id, today()).await.unwrap_or_else(|e| panic!("{e}"))[0].id;
        let cy = s.find_customer_user(initech.id, "cy@initech.example").await.unwrap_or_else(|e| panic!("{e}"));
        let actor = crate::store::audit::Actor::user(4, "ada@initech.example");
        s.assign_seat(&actor, CustomerId(initech.id), EntitlementId(ent), UserId(cy), NOW + 10).await.unwrap_or_else(|e| panic!("{e}"));
        let find = |f: AuditFilter| async move { s.search_audit_events(&f, 10).await.unwrap_or_else(|e| panic!("{e}")) };
        let seat = find(AuditFilter {
            customer_id: Some(initech.id),
            actor: Some("Ada@".into()),
            kind: Some("seat.".into()),
            ..Default::default()
        })
        .await;
        assert_eq!(seat.iter().map(|r| r.kind.as_str()).collect::<Vec<_>>(), ["seat.assigned"], "{}", db.name);
        let none = find(AuditFilter { kind: Some("seat_".into()), ..Default::default() }).await;
        assert!(none.is_empty(), "an underscore is a character, not a wildcard: {}", db.name);
        let before = find(AuditFilter { to: Some(NOW + 10), ..Default::default() }).await;
        assert!(before.iter().all(|r| r.at < NOW + 10));
        db.drop_db().await;
    }
}

#[tokio::test]
async fn a_write_that_reads_first_waits_for_another_connections_commit_instead_of_failing() {
    use sqlx::Connection;
    let db = crate::store::testing::sqlite().await;
    let url = format!("sqlite://{}", db.store.sqlite_file.as_ref().map(|p| p.display().to_string()).unwrap_or_default());
    let mut w = db.store.begin_write().await.unwrap_or_else(|e| panic!("{e}"));
    let before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM customers").fetch_one(&mut *w).await.unwrap_or_else(|e| panic!("{e}"));
    // Another connection of its own (as the sessions' pool is) writes meanwhile.
    let other = tokio::spawn(async move {
        let mut other = sqlx::AnyConnection::connect(&url).await.unwrap_or_else(|e| panic!("{e}"));
        sqlx::query("INSERT INTO customers (slug, name, created_at) VALUES ('other', 'Other', 1)")
            .execute(&mut other)
            .await
            .unwrap_or_else(|e| panic!("the other connection's write: {e}"));
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    sqlx::query("INSERT INTO customers (slug, name, created_at) VALUES ('first', 'First', 1)")
        .execute(&mut *w)
        .await
        .unwrap_or_else(|e| panic!("the write that read first: {e}"));
    w.commit().await.unwrap_or_else(|e| panic!("{e}"));
    other.await.unwrap_or_else(|e| panic!("{e}"));
    let after: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM customers").fetch_one(db.store.pool()).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(after, before + 2, "both writes committed");
    db.drop_db().await;
}
