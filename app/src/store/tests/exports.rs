//! Store tests of what the CSV exports read: pages by key that add up to one read, kept to
//! their customer and product, and usage kept to its days; on SQLite and PostgreSQL.

use crate::store::exports::{ExportScope, UsageKey};
use crate::store::testing::{self, TestDb};
use crate::store::*;

const DAY: i64 = 86_400;
/// 2026-11-23 12:00 UTC.
const NOW: i64 = 1_795_435_200;
const TODAY: i64 = NOW - NOW % DAY;

async fn seeded() -> Vec<TestDb> {
    testing::seeded(NOW).await
}

fn ok<T, E: std::fmt::Display>(r: Result<T, E>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

async fn customer(s: &Store, slug: &str) -> i64 {
    ok(s.find_customer_by_slug(slug).await).id
}

#[tokio::test]
async fn entitlements_come_a_page_at_a_time_and_add_up_to_one_read() {
    for db in seeded().await {
        let s = &db.store;
        let everyone = ExportScope::default();
        let all = ok(s.export_entitlements(&everyone, 0, 1_000).await);
        assert!(all.len() >= 4, "{}: initech, globex, umbrella and the demo customer", db.name);
        assert!(all.windows(2).all(|w| w[0].id < w[1].id), "{}: by id", db.name);
        let mut paged = Vec::new();
        let mut after = 0;
        loop {
            let page = ok(s.export_entitlements(&everyone, after, 2).await);
            assert!(page.len() <= 2);
            let Some(last) = page.last() else { break };
            after = last.id;
            paged.extend(page);
        }
        assert_eq!(paged, all, "{}", db.name);

        let initech = ExportScope { customer_id: Some(customer(s, "initech").await), product_id: None };
        let own = ok(s.export_entitlements(&initech, 0, 1_000).await);
        assert_eq!(own.len(), 1, "{}", db.name);
        let e = &own[0];
        assert_eq!((e.customer_slug.as_str(), e.customer_name.as_str(), e.product.as_str()), ("initech", "Initech", "acme-analytics"));
        assert_eq!((e.plan_key.as_str(), e.plan_name.as_str(), e.plan_version, e.status.as_str()), ("team", "Team", 1, "active"));
        assert_eq!((e.seats_used, e.seats_cap, e.instances_cap, e.instances_active), (2, 10, 3, 2), "{}: two servers run", db.name);
        assert_eq!(e.renews_at.map(|r| r - r % DAY), Some(TODAY + 45 * DAY));
        assert!(e.auto_renew, "{}", db.name);
        db.drop_db().await;
    }
}

#[tokio::test]
async fn an_export_keeps_to_its_customer_and_product() {
    for db in seeded().await {
        let s = &db.store;
        let (product, ..) = ok(s.list_products().await).into_iter().next().unwrap_or_else(|| panic!("a product"));
        let globex = customer(s, "globex").await;
        let of_product = ExportScope { customer_id: None, product_id: Some(product) };
        let everyone = ok(s.export_entitlements(&ExportScope::default(), 0, 1_000).await);
        assert_eq!(ok(s.export_entitlements(&of_product, 0, 1_000).await), everyone, "{}: the demo has one product", db.name);
        let elsewhere = ExportScope { customer_id: None, product_id: Some(product + 1_000) };
        assert!(ok(s.export_entitlements(&elsewhere, 0, 1_000).await).is_empty(), "{}", db.name);
        assert!(ok(s.export_seats(&elsewhere, 0, 1_000).await).is_empty(), "{}", db.name);
        assert!(ok(s.export_usage(&elsewhere, 0, i64::MAX, UsageKey::default(), 1_000).await).is_empty(), "{}", db.name);

        let initech = ExportScope { customer_id: Some(customer(s, "initech").await), product_id: Some(product) };
        let seats = ok(s.export_seats(&initech, 0, 1_000).await);
        let holders: Vec<_> = seats.iter().map(|r| (r.customer_slug.as_str(), r.email.as_str(), r.role.as_str())).collect();
        let expected = [("initech", "ada@initech.example", "customer_admin"), ("initech", "bob@initech.example", "customer_member")];
        assert_eq!(holders, expected, "{}", db.name);
        let globex = ExportScope { customer_id: Some(globex), product_id: Some(product) };
        assert!(ok(s.export_seats(&globex, 0, 1_000).await).is_empty(), "{}: nobody holds a seat of the trial", db.name);
        let scope = globex;
        let usage = ok(s.export_usage(&scope, TODAY - 89 * DAY, TODAY, UsageKey::default(), 1_000).await);
        assert_eq!(usage.len(), 5, "{}: five days of the trial's history", db.name);
        assert!(usage.iter().all(|u| u.customer_slug == "globex" && u.feature == "api.calls"), "{}", db.name);
        db.drop_db().await;
    }
}

#[tokio::test]
async fn seats_come_a_page_at_a_time_by_seat() {
    for db in seeded().await {
        let s = &db.store;
        let initech = ExportScope { customer_id: Some(customer(s, "initech").await), product_id: None };
        let all = ok(s.export_seats(&initech, 0, 1_000).await);
        assert_eq!(all.len(), 2, "{}: {all:?}", db.name);
        let first = ok(s.export_seats(&initech, 0, 1).await);
        let second = ok(s.export_seats(&initech, first[0].id, 1).await);
        let third = ok(s.export_seats(&initech, second[0].id, 1).await);
        assert_eq!([first, second].concat(), all, "{}", db.name);
        assert!(third.is_empty(), "{}", db.name);
        assert!(all.iter().all(|r| r.product == "acme-analytics" && r.assigned_at == NOW), "{}: {all:?}", db.name);
        db.drop_db().await;
    }
}

#[tokio::test]
async fn usage_keeps_to_its_days_and_pages_by_entitlement_day_and_feature() {
    for db in seeded().await {
        let s = &db.store;
        let everyone = ExportScope::default();
        let (first, last) = (TODAY - 29 * DAY, TODAY);
        let all = ok(s.export_usage(&everyone, first, last, UsageKey::default(), 100_000).await);
        let expected: i64 = ok(sqlx::query_scalar("SELECT COUNT(*) FROM usage_daily WHERE day >= $1 AND day <= $2")
            .bind(first)
            .bind(last)
            .fetch_one(s.pool())
            .await);
        assert_eq!(all.len() as i64, expected, "{}", db.name);
        assert!(all.iter().all(|u| (first..=last).contains(&u.day)), "{}", db.name);
        let keys: Vec<_> = all.iter().map(|u| (u.entitlement_id, u.day, u.feature_id)).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{}: in key order, each once", db.name);
        let mut paged = Vec::new();
        let mut after = UsageKey::default();
        loop {
            let page = ok(s.export_usage(&everyone, first, last, after, 7).await);
            let Some(row) = page.last() else { break };
            after = row.key();
            paged.extend(page);
        }
        assert_eq!(paged, all, "{}", db.name);

        let one_day = ok(s.export_usage(&everyone, TODAY - 3 * DAY, TODAY - 3 * DAY, UsageKey::default(), 1_000).await);
        assert!(!one_day.is_empty() && one_day.iter().all(|u| u.day == TODAY - 3 * DAY), "{}: {one_day:?}", db.name);
        db.drop_db().await;
    }
}
