//! The demo data a new database gets, so that a first start shows a working portal.

use super::audit::{self, Actor, NewAuditEvent};
use super::catalog::changes::{create_addon, create_feature, create_plan, create_product, NewAddon, NewFeature, NewPlan};
use super::catalog::find_plan_id;
use super::entitlements::lifecycle::{create_entitlement, NewEntitlement};
use super::entitlements::seats::assign_seat;
use super::events::EventKind;
use super::members::create_customer;
use super::members::users::{create_user, NewUser};
use super::write::Write;
use super::{Store, StoreError};
use crate::auth::Role;
use crate::engine::dates::DAY;
use crate::engine::{ApprovalRule, EntitlementStatus, RequestKind, Requirement, RuleEffect};
use crate::engine::{EntitlementId, UserId};
use sqlx::Row;

/// The password of every demo user.
pub const DEMO_PASSWORD: &str = "tessera-demo";

/// The Acme Analytics API key of the demo data.
pub const DEMO_API_KEY: &str = "tsk_demo_acme";

/// The license key of Initech's demo entitlement, known so that the README can show it.
pub fn demo_license_key() -> crate::engine::LicenseKey {
    crate::engine::LicenseKey::from_bytes(*b"initech-demo-key")
}

/// The license key of bench customer `slug` (`bench-0001`…), known so that the load
/// generator can act as each customer's installed software. For benchmarks only: it is
/// derived from the slug.
pub fn bench_license_key(slug: &str) -> crate::engine::LicenseKey {
    let mut bytes = *b"################";
    for (b, s) in bytes.iter_mut().zip(slug.bytes()) {
        *b = s;
    }
    crate::engine::LicenseKey::from_bytes(bytes)
}

/// The demo users: (email, name, role, customer slug).
pub const DEMO_USERS: [(&str, &str, Role, Option<&str>); 8] = [
    ("admin@tessera.example", "Vera Admin", Role::VendorAdmin, None),
    ("staff@tessera.example", "Sam Staff", Role::VendorStaff, None),
    ("sales@tessera.example", "Sasha Sales", Role::Sales, None),
    ("ada@initech.example", "Ada Lovelace", Role::CustomerAdmin, Some("initech")),
    ("bob@initech.example", "Bob Porter", Role::CustomerMember, Some("initech")),
    ("cy@initech.example", "Cy Lumbergh", Role::CustomerMember, Some("initech")),
    ("grace@globex.example", "Grace Hopper", Role::CustomerAdmin, Some("globex")),
    ("al@umbrella.example", "Al Wesker", Role::CustomerAdmin, Some("umbrella")),
];

/// Seeds the demo catalog, customers, users and entitlements in one transaction, with
/// one audit event. `password_hashes` holds one hash of [`DEMO_PASSWORD`] per entry of
/// [`DEMO_USERS`]. Fails with `Duplicate` if any of it exists already.
pub async fn seed_demo(store: &Store, password_hashes: &[String], now: i64) -> Result<(), StoreError> {
    let mut tx = store.begin_write().await?;
    let actor = Actor::system("seed");
    let product = seed_catalog(&mut tx, now).await?;
    let (initech_ent, globex_ent, umbrella_ent) = seed_customers(&mut tx, product, password_hashes, now).await?;

    // The sales demo's own customer, which the demo controls switch and reset.
    super::demo::create_demo_customer(&mut tx, product, now).await?;

    // Ninety days of history, so that the usage charts mean something in a demo. Initech
    // stays under 80% of its monthly quota whatever the day, so that no quota notice is
    // due until someone uses more.
    let api_calls: i64 =
        sqlx::query_scalar("SELECT id FROM features WHERE product_id = $1 AND key = 'api.calls'").bind(product).fetch_one(&mut *tx).await?;
    let today = now.div_euclid(DAY) * DAY;
    seed_history(&mut tx, initech_ent, api_calls, today - 89 * DAY, today, 200, &[(today - 89 * DAY, 1, 1), (today - 52 * DAY, 2, 2)])
        .await?;
    seed_history(&mut tx, globex_ent, api_calls, today - 4 * DAY, today, 900, &[(today - 4 * DAY, 0, 1)]).await?;
    seed_history(
        &mut tx,
        umbrella_ent,
        api_calls,
        today - 89 * DAY,
        today - 20 * DAY,
        2_400,
        &[(today - 89 * DAY, 0, 6), (today - 20 * DAY, 0, 0)],
    )
    .await?;

    audit::record(
        &mut tx,
        NewAuditEvent {
            actor: &actor,
            customer_id: None,
            kind: EventKind::DemoSeeded,
            subject: "catalog:acme-analytics".into(),
            before: None,
            after: Some(serde_json::json!({"customers": ["initech", "globex", "umbrella", "demo"], "users": DEMO_USERS.len()})),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The demo catalog: Acme Analytics with its features, four plans, three add-ons, the two
/// approval rules and the demo API key. Returns the product's id.
async fn seed_catalog(tx: &mut Write<'_>, now: i64) -> Result<i64, StoreError> {
    let product = create_product(tx, "acme-analytics", "Acme Analytics", now).await?;
    let features = [
        NewFeature { key: "dashboards", name: "Dashboards", metered: false, unit: None },
        NewFeature { key: "reports.export", name: "Report export", metered: false, unit: None },
        NewFeature { key: "sso", name: "Single sign-on", metered: false, unit: None },
        NewFeature { key: "audit.log", name: "Audit log", metered: false, unit: None },
        NewFeature { key: "api.calls", name: "API calls", metered: true, unit: Some("calls") },
    ];
    for f in &features {
        create_feature(tx, product, f).await?;
    }
    // Plain features need a seated user or a live instance; metered ones need quota left.
    let seat_or_instance = || Requirement::Any(vec![Requirement::Seat, Requirement::Instance]);
    let plain = |key| (key, None, seat_or_instance());
    let metered = |key, quota| (key, Some(quota), Requirement::Quota);
    let plans = [
        NewPlan {
            key: "free",
            name: "Free",
            rank: 0,
            seats: 1,
            instances: 1,
            trial_days: 0,
            grace_days: 0,
            features: vec![plain("dashboards"), metered("api.calls", 1_000)],
        },
        NewPlan {
            key: "team",
            name: "Team",
            rank: 1,
            seats: 10,
            instances: 3,
            trial_days: 14,
            grace_days: 7,
            features: vec![plain("dashboards"), plain("reports.export"), metered("api.calls", 10_000)],
        },
        NewPlan {
            key: "business",
            name: "Business",
            rank: 2,
            seats: 50,
            instances: 10,
            trial_days: 14,
            grace_days: 14,
            features: vec![plain("dashboards"), plain("reports.export"), plain("sso"), plain("audit.log"), metered("api.calls", 100_000)],
        },
        NewPlan {
            key: "enterprise",
            name: "Enterprise",
            rank: 3,
            seats: 500,
            instances: 100,
            trial_days: 30,
            grace_days: 30,
            features: vec![plain("dashboards"), plain("reports.export"), plain("sso"), plain("audit.log"), metered("api.calls", 1_000_000)],
        },
    ];
    for p in &plans {
        create_plan(tx, product, p, now).await?;
    }

    let addons = [
        NewAddon { key: "audit-log", name: "Audit log add-on", seats: 0, instances: 0, features: vec![plain("audit.log")] },
        NewAddon { key: "api-boost", name: "API boost", seats: 0, instances: 0, features: vec![metered("api.calls", 50_000)] },
        NewAddon { key: "extra-instances", name: "Five more instances", seats: 0, instances: 5, features: vec![] },
    ];
    for a in &addons {
        create_addon(tx, product, a, now).await?;
    }

    // Rules are data: a few more seats on Team need nobody; a jump of two tiers needs two people.
    let rule = |effect, kind| ApprovalRule {
        id: 0,
        product_id: product,
        effect,
        kind,
        plan_key: None,
        min_seats: None,
        max_seats: None,
        min_rank_jump: None,
    };
    let rules = [
        ApprovalRule { plan_key: Some("team".into()), max_seats: Some(5), ..rule(RuleEffect::AutoApprove, RequestKind::Seats) },
        ApprovalRule { min_rank_jump: Some(2), ..rule(RuleEffect::TwoApprovals, RequestKind::Plan) },
    ];
    for r in &rules {
        super::requests::rules::insert_rule(tx, r, now).await?;
    }

    // What the vendor's CRM orders by: a SKU per paid plan and per add-on.
    use super::provisioning::entitlements::{set_sku_in, Sold};
    for (sku, sells) in [
        ("ACME-TEAM", Sold::Plan("team".into())),
        ("ACME-BUSINESS", Sold::Plan("business".into())),
        ("ACME-ENTERPRISE", Sold::Plan("enterprise".into())),
        ("ACME-AUDIT", Sold::Addon("audit-log".into())),
        ("ACME-API-BOOST", Sold::Addon("api-boost".into())),
        ("ACME-INSTANCES-5", Sold::Addon("extra-instances".into())),
    ] {
        set_sku_in(tx, product, sku, &sells, now).await?;
    }

    // The demo key lets a vendor try the enforcement API at once; only the seed makes it.
    super::keys::api_keys::create_api_key(tx, product, "Demo key", DEMO_API_KEY, super::keys::api_keys::Scopes::ALL, now).await?;
    Ok(product)
}

/// The demo customers (Initech, Globex, Umbrella), their users with `password_hashes`
/// (in [`DEMO_USERS`] order), entitlements, Initech's two seats and two running
/// instances. Returns the three entitlements' ids.
async fn seed_customers(tx: &mut Write<'_>, product: i64, password_hashes: &[String], now: i64) -> Result<(i64, i64, i64), StoreError> {
    let initech = create_customer(tx, "initech", "Initech", now).await?;
    let globex = create_customer(tx, "globex", "Globex", now).await?;
    let umbrella = create_customer(tx, "umbrella", "Umbrella", now).await?;
    let customer_id = |slug: &str| match slug {
        "initech" => initech,
        "globex" => globex,
        _ => umbrella,
    };

    let mut user_ids = Vec::with_capacity(DEMO_USERS.len());
    for ((email, name, role, slug), hash) in DEMO_USERS.iter().zip(password_hashes) {
        let user = NewUser { customer_id: slug.map(customer_id), email, name, role: *role, password_hash: Some(hash) };
        user_ids.push((*email, create_user(tx, &user, now).await?));
    }

    let team = find_plan_id(tx, product, "team").await?;
    let business = find_plan_id(tx, product, "business").await?;
    let enterprise = find_plan_id(tx, product, "enterprise").await?;
    let base = |customer_id, plan_id, status| NewEntitlement {
        customer_id,
        product_id: product,
        plan_id,
        status,
        starts_at: now,
        ends_at: None,
        renews_at: None,
        trial_ends_at: None,
        grace_days: 7,
        auto_renew: true,
        status_reason: None,
    };
    let initech_ent = create_entitlement(
        tx,
        &NewEntitlement { starts_at: now - 320 * DAY, renews_at: Some(now + 45 * DAY), ..base(initech, team, EntitlementStatus::Active) },
        now,
    )
    .await?;
    super::keys::license_keys::replace_license_key(tx, initech_ent, &demo_license_key(), now).await?;
    let globex_ent = create_entitlement(
        tx,
        &NewEntitlement {
            starts_at: now - 4 * DAY,
            trial_ends_at: Some(now + 10 * DAY),
            ends_at: Some(now + 10 * DAY),
            auto_renew: false,
            grace_days: 14,
            ..base(globex, business, EntitlementStatus::Trial)
        },
        now,
    )
    .await?;
    let umbrella_ent = create_entitlement(
        tx,
        &NewEntitlement {
            starts_at: now - 700 * DAY,
            renews_at: Some(now + 120 * DAY),
            grace_days: 30,
            status_reason: Some("Payment overdue".into()),
            ..base(umbrella, enterprise, EntitlementStatus::Suspended)
        },
        now,
    )
    .await?;
    for (email, id) in &user_ids {
        if matches!(*email, "ada@initech.example" | "bob@initech.example")
            && !assign_seat(tx, EntitlementId(initech_ent), UserId(*id), now).await?
        {
            return Err(StoreError::Conflict { constraint: "seat cap".into() });
        }
    }

    // Two of Initech's servers are running (until their heartbeats lapse).
    for (name, fingerprint, since) in [("ci-runner-01", "fp-7d2c9a41e0b3", 52), ("analytics-worker", "fp-1b88e03f5c62", 89)] {
        sqlx::query(
            "INSERT INTO instances (entitlement_id, public_id, fingerprint, name, activated_at, last_heartbeat_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(initech_ent)
        .bind(super::entitlements::instances::new_public_id())
        .bind(fingerprint)
        .bind(name)
        .bind(now - since * DAY)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok((initech_ent, globex_ent, umbrella_ent))
}

/// Writes plausible daily usage of `feature` for `entitlement` from day `from` through
/// day `to` (weekdays busier than weekends, a slow upward trend, deterministic noise
/// around `typical` a day), and the seats and instances history given as
/// (from day, seats, instances) steps.
#[allow(clippy::too_many_arguments)]
async fn seed_history(
    tx: &mut Write<'_>,
    entitlement: i64,
    feature: i64,
    from: i64,
    to: i64,
    typical: i64,
    steps: &[(i64, i64, i64)],
) -> Result<(), StoreError> {
    let mut noise: u64 = 0x9e37_79b9_7f4a_7c15 ^ entitlement as u64;
    let days = (to - from) / DAY;
    let mut day = from;
    while day <= to {
        noise ^= noise << 13;
        noise ^= noise >> 7;
        noise ^= noise << 17;
        let weekday = (day / DAY + 4).rem_euclid(7); // 0 = Sunday
        let weekend = weekday == 0 || weekday == 6;
        let trend = 80 + 40 * (day - from) / DAY / days.max(1);
        let jitter = (noise % 41) as i64 - 20;
        let quantity = (typical * trend / 100 * (100 + jitter) / 100) / if weekend { 4 } else { 1 };
        sqlx::query("INSERT INTO usage_daily (entitlement_id, feature_id, day, quantity) VALUES ($1, $2, $3, $4)")
            .bind(entitlement)
            .bind(feature)
            .bind(day)
            .bind(quantity.max(0))
            .execute(&mut **tx)
            .await?;
        day += DAY;
    }
    for (i, (start, seats, instances)) in steps.iter().enumerate() {
        let end = steps.get(i + 1).map(|s| s.0 - DAY).unwrap_or(to);
        let mut day = *start;
        while day <= end {
            super::usage::history::write_day(tx, entitlement, day, *seats, *instances).await?;
            day += DAY;
        }
    }
    Ok(())
}

/// Seeds `n` demo-like customers for benchmarks, `bench-0001` …: each on Team, active,
/// with three users `u0..u2@bench-NNNN.example` (no password) of whom u0 and u1 hold
/// seats, and the license key [`bench_license_key`]. One transaction and one audit event.
pub async fn seed_bench_customers(store: &Store, n: usize, now: i64) -> Result<(), StoreError> {
    let mut tx = store.begin_write().await?;
    let product: i64 = sqlx::query_scalar("SELECT id FROM products WHERE key = 'acme-analytics'").fetch_one(&mut *tx).await?;
    let team = find_plan_id(&mut tx, product, "team").await?;
    for i in 1..=n {
        let slug = format!("bench-{i:04}");
        let customer = create_customer(&mut tx, &slug, &format!("Bench {i:04}"), now).await?;
        let ent = create_entitlement(
            &mut tx,
            &NewEntitlement {
                customer_id: customer,
                product_id: product,
                plan_id: team,
                status: EntitlementStatus::Active,
                starts_at: now - 30 * DAY,
                ends_at: None,
                renews_at: Some(now + 335 * DAY),
                trial_ends_at: None,
                grace_days: 7,
                auto_renew: true,
                status_reason: None,
            },
            now,
        )
        .await?;
        super::keys::license_keys::replace_license_key(&mut tx, ent, &bench_license_key(&slug), now).await?;
        for u in 0..3 {
            let email = format!("u{u}@{slug}.example");
            let user =
                NewUser { customer_id: Some(customer), email: &email, name: &email, role: Role::CustomerMember, password_hash: None };
            let id = create_user(&mut tx, &user, now).await?;
            if u < 2 && !assign_seat(&mut tx, EntitlementId(ent), UserId(id), now).await? {
                return Err(StoreError::Conflict { constraint: "seat cap".into() });
            }
        }
    }
    audit::record(
        &mut tx,
        NewAuditEvent {
            actor: &Actor::system("bench"),
            customer_id: None,
            kind: EventKind::BenchSeeded,
            subject: "customers:bench".into(),
            before: None,
            after: Some(serde_json::json!({ "customers": n })),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The size [`seed_bench_scale`] writes, for a page benchmark at a vendor's real size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scale {
    pub customers: i64,
    pub audit_events: i64,
    pub usage_events: i64,
    /// The instances of one customer's build farm (`scale-42`).
    pub farm_instances: i64,
}

impl Scale {
    /// `customers` customers, ten audit events and a hundred usage events for each, and one
    /// of them running an instance for every ten customers.
    pub fn of(customers: i64) -> Scale {
        Scale { customers, audit_events: customers * 10, usage_events: customers * 100, farm_instances: customers / 10 }
    }
}

/// Benchmarks only: writes `scale` onto the demo (customers `scale-1` …, named out of
/// the order of their ids, each with an admin and an Acme Analytics entitlement: every
/// 50th a trial ending within four weeks, every 41st ending within two months, the rest
/// renewing within a year; every 100th with 9,000 API calls today, near the Team plan's
/// quota; 2 % with a change request waiting, some for days; `scale-42` running a build
/// farm of air-gapped instances), usage spread over 90 days
/// with its daily roll-up, and audit events through the audit chain, so that it still
/// verifies. Set-based SQL, a batch of audit events per transaction.
pub async fn seed_bench_scale(store: &Store, scale: Scale, now: i64) -> Result<(), StoreError> {
    let mut tx = store.begin_write().await?;
    let product: i64 = sqlx::query_scalar("SELECT id FROM products WHERE key = 'acme-analytics'").fetch_one(&mut *tx).await?;
    let team = find_plan_id(&mut tx, product, "team").await?;
    let business = find_plan_id(&mut tx, product, "business").await?;
    let api_calls: i64 =
        sqlx::query_scalar("SELECT id FROM features WHERE product_id = $1 AND key = 'api.calls'").bind(product).fetch_one(&mut *tx).await?;
    let n = scale.customers;
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
         INSERT INTO customers (slug, name, created_at)
         SELECT 'scale-' || CAST(i AS TEXT), 'Customer ' || CAST((i * 7919) % $1 AS TEXT), $2 FROM n",
    )
    .bind(n)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO users (customer_id, email, name, role, created_at)
         SELECT id, 'admin@' || slug || '.example', 'Admin of ' || name, 'customer_admin', $1 FROM customers WHERE slug LIKE 'scale-%'",
    )
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO entitlements (customer_id, product_id, plan_id, status, starts_at, ends_at, renews_at, trial_ends_at,
                                   grace_days, auto_renew, created_at, updated_at)
         SELECT c.id, $1, CASE WHEN c.id % 3 = 0 THEN $3 ELSE $2 END,
                CASE WHEN c.id % 50 = 0 THEN 'trial' WHEN c.id % 97 = 0 THEN 'suspended' ELSE 'active' END,
                $4 - (c.id % 700) * 86400,
                CASE WHEN c.id % 50 = 0 THEN $4 + (c.id % 28 + 1) * 86400 WHEN c.id % 41 = 0 THEN $4 + (c.id % 60 + 1) * 86400 END,
                CASE WHEN c.id % 50 = 0 OR c.id % 41 = 0 THEN NULL ELSE $4 + (c.id % 365 + 1) * 86400 END,
                CASE WHEN c.id % 50 = 0 THEN $4 + (c.id % 28 + 1) * 86400 END,
                7, CASE WHEN c.id % 50 = 0 OR c.id % 41 = 0 THEN 0 ELSE 1 END, $4, $4
         FROM customers c WHERE c.slug LIKE 'scale-%'",
    )
    .bind(product)
    .bind(team)
    .bind(business)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let (first, last, count): (i64, i64, i64) = {
        let r = sqlx::query(
            "SELECT MIN(e.id) AS first, MAX(e.id) AS last, COUNT(*) AS count FROM entitlements e
             JOIN customers c ON c.id = e.customer_id WHERE c.slug LIKE 'scale-%'",
        )
        .fetch_one(&mut *tx)
        .await?;
        (r.try_get("first")?, r.try_get("last")?, r.try_get("count")?)
    };
    if last - first + 1 != count {
        return Err(StoreError::Conflict { constraint: "bench entitlements are not numbered in a row".into() });
    }
    // Usage over 90 days, and 9,000 calls today for every 100th customer.
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
         INSERT INTO usage_events (entitlement_id, feature_id, event_id, quantity, at, received_at)
         SELECT $2 + i % $3, $4, 'scale-' || CAST(i AS TEXT), 1 + i % 5, $5 - i % 7776000, $5 - i % 7776000 FROM n",
    )
    .bind(scale.usage_events)
    .bind(first)
    .bind(count)
    .bind(api_calls)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO usage_events (entitlement_id, feature_id, event_id, quantity, at, received_at)
         SELECT e.id, $1, 'scale-today', 9000, $2, $2 FROM entitlements e
         WHERE e.id BETWEEN $3 AND $4 AND e.customer_id % 100 = 0 AND e.plan_id = $5",
    )
    .bind(api_calls)
    .bind(now)
    .bind(first)
    .bind(last)
    .bind(team)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO usage_daily (entitlement_id, feature_id, day, quantity)
         SELECT entitlement_id, feature_id, (at / 86400) * 86400, SUM(quantity) FROM usage_events
         WHERE entitlement_id BETWEEN $1 AND $2 GROUP BY entitlement_id, feature_id, (at / 86400) * 86400",
    )
    .bind(first)
    .bind(last)
    .execute(&mut *tx)
    .await?;
    // A build farm of air-gapped machines: customer scale-42's instances, each holding its
    // slot with an offline licence for a year.
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
         INSERT INTO instances (entitlement_id, fingerprint, name, activated_at, last_heartbeat_at, offline_until, public_id)
         SELECT e.id, 'farm-' || CAST(n.i AS TEXT), 'build-agent-' || CAST(n.i AS TEXT), $2 - 86400, $2 - 86400, $2 + 365 * 86400,
                'ins_farm' || CAST(n.i AS TEXT)
         FROM n, entitlements e JOIN customers c ON c.id = e.customer_id WHERE c.slug = 'scale-42' AND n.i <= $1",
    )
    .bind(scale.farm_instances)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    // Requests waiting: filed over the last ten days by each customer's admin.
    sqlx::query(
        "INSERT INTO change_requests (customer_id, entitlement_id, kind, seats, reason, status, entitlement_version, requested_by,
                                      created_at, updated_at)
         SELECT e.customer_id, e.id, 'seats', 25, 'More people are joining', 'pending', e.version, u.id,
                $1 - (e.id % 240) * 3600, $1 - (e.id % 240) * 3600
         FROM entitlements e JOIN users u ON u.customer_id = e.customer_id
         WHERE e.id BETWEEN $2 AND $3 AND e.id % 50 = 7",
    )
    .bind(now)
    .bind(first)
    .bind(last)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;

    // Audit events through the chain, a batch per transaction, about each entitlement in turn:
    // half of them by the system, half by the customer's admin.
    let owners: Vec<(i64, Actor)> = sqlx::query(
        "SELECT e.customer_id, u.id, u.email FROM entitlements e JOIN users u ON u.customer_id = e.customer_id
         WHERE e.id BETWEEN $1 AND $2 ORDER BY e.id",
    )
    .bind(first)
    .bind(last)
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(|r| Ok((r.try_get("customer_id")?, Actor::user(r.try_get("id")?, &r.try_get::<String, _>("email")?))))
    .collect::<Result<_, StoreError>>()?;
    const BATCH: i64 = 20_000;
    let system = Actor::system("bench");
    let kinds = [EventKind::UsageRecorded, EventKind::LicenseKeyViewed, EventKind::SeatCapReached, EventKind::RequestFiled];
    let mut written = 0;
    while written < scale.audit_events {
        let mut tx = store.begin_write().await?;
        let end = (written + BATCH).min(scale.audit_events);
        for i in written..end {
            let entitlement = first + i % count;
            let (customer, admin) = &owners[(i % count) as usize];
            let event = NewAuditEvent {
                actor: if i % 2 == 0 { &system } else { admin },
                customer_id: Some(*customer),
                kind: kinds[(i % kinds.len() as i64) as usize],
                subject: format!("entitlement:{entitlement}"),
                before: None,
                after: Some(serde_json::json!({ "n": i })),
            };
            audit::record(&mut tx, event, now - (scale.audit_events - i)).await?;
        }
        tx.commit().await?;
        written = end;
    }
    Ok(())
}
