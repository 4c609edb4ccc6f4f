//! Store tests of the console's lists at size: customers paged by name with a search and
//! the filters of what is coming, the dashboard's counts and its daily series; on SQLite
//! and PostgreSQL.

use crate::customers::CustomerFilter;
use crate::store::console::CustomerQuery;
use crate::store::requests::QueueQuery;
use crate::store::testing;

const DAY: i64 = 86_400;
const NOW: i64 = 1_795_435_200;

fn ok<T, E: std::fmt::Display>(r: Result<T, E>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

/// Adds customers "Zeta 000" … (`n` of them, slugs `zeta-000` …), made in a shuffled
/// order so that ids and names do not agree, two of them with the same name.
async fn add_customers(store: &crate::store::Store, n: usize) {
    for i in 0..n {
        let k = (i * 37) % n;
        let name = if k == 1 { "Zeta 000".to_owned() } else { format!("Zeta {k:03}") };
        ok(sqlx::query("INSERT INTO customers (slug, name, created_at) VALUES ($1, $2, $3)")
            .bind(format!("zeta-{k:03}"))
            .bind(name)
            .bind(NOW)
            .execute(store.pool())
            .await);
    }
}

#[tokio::test]
async fn customers_page_by_name_each_once_and_in_order() {
    for db in testing::seeded(NOW).await {
        add_customers(&db.store, 120).await;
        let mut seen = Vec::new();
        let mut query = CustomerQuery { now: NOW, ..Default::default() };
        let mut pages = 0;
        loop {
            let page = ok(db.store.search_customers(&query, 50).await);
            pages += 1;
            assert!(page.len() <= 50);
            seen.extend(page.iter().map(|c| (c.name.clone(), c.id)));
            if page.len() < 50 {
                break;
            }
            query.after = page.last().map(|c| c.id);
        }
        // 4 seeded customers and 120 more: every one once, by name then id, in 3 pages.
        assert_eq!(pages, 3, "{}", db.name);
        assert_eq!(seen.len(), 124, "{}", db.name);
        let mut sorted = seen.clone();
        sorted.sort();
        assert_eq!(seen, sorted, "{}", db.name);
        sorted.dedup();
        assert_eq!(sorted.len(), 124, "{}: none twice", db.name);
        // The two of the same name are both there, the older id first.
        let twins: Vec<_> = seen.iter().filter(|(n, _)| n == "Zeta 000").collect();
        assert_eq!(twins.len(), 2, "{}", db.name);
        db.drop_db().await;
    }
}

#[tokio::test]
async fn customers_are_found_by_part_of_a_name_a_slug_or_a_users_email() {
    for db in testing::seeded(NOW).await {
        add_customers(&db.store, 30).await;
        let find = |search: &str| CustomerQuery { search: Some(search.to_owned()), now: NOW, ..Default::default() };
        let slugs = |list: Vec<crate::customers::CustomerSummary>| list.into_iter().map(|c| c.slug).collect::<Vec<_>>();
        assert_eq!(slugs(ok(db.store.search_customers(&find("  INITE "), 50).await)), ["initech"], "{}", db.name);
        assert_eq!(slugs(ok(db.store.search_customers(&find("zeta-02"), 50).await)).len(), 10, "{}", db.name);
        assert_eq!(slugs(ok(db.store.search_customers(&find("Ada@Initech.example"), 50).await)), ["initech"], "{}", db.name);
        // LIKE's wildcards are taken as themselves.
        assert!(ok(db.store.search_customers(&find("%"), 50).await).is_empty(), "{}", db.name);
        assert!(ok(db.store.search_customers(&find("_"), 50).await).is_empty(), "{}", db.name);
        // Only among given customers (the ones near a limit, or the demo for sales).
        let initech = ok(db.store.find_customer_by_slug("initech").await).id;
        let among = CustomerQuery { among: Some(vec![initech]), now: NOW, ..Default::default() };
        assert_eq!(slugs(ok(db.store.search_customers(&among, 50).await)), ["initech"], "{}", db.name);
        let none = CustomerQuery { among: Some(vec![]), now: NOW, ..Default::default() };
        assert!(ok(db.store.search_customers(&none, 50).await).is_empty(), "{}", db.name);
        db.drop_db().await;
    }
}

#[tokio::test]
async fn what_is_coming_is_counted_and_filtered_by_its_window() {
    for db in testing::seeded(NOW).await {
        let s = &db.store;
        let shown = |filter: CustomerFilter, now: i64| CustomerQuery { filter: Some(filter), now, ..Default::default() };
        let slugs = |list: Vec<crate::customers::CustomerSummary>| list.into_iter().map(|c| c.slug).collect::<Vec<_>>();
        // The demo: Globex's trial (and its term) end in 10 days; Initech renews in 45.
        let coming = ok(s.coming_dates(NOW).await);
        assert_eq!((coming.trials_ending, coming.terms_ending, coming.renewing), (1, 1, 0), "{}", db.name);
        assert_eq!(slugs(ok(s.search_customers(&shown(CustomerFilter::TrialEnding, NOW), 50).await)), ["globex"], "{}", db.name);
        assert_eq!(slugs(ok(s.search_customers(&shown(CustomerFilter::TermEnding, NOW), 50).await)), ["globex"], "{}", db.name);
        assert!(ok(s.search_customers(&shown(CustomerFilter::Renewing, NOW), 50).await).is_empty(), "{}", db.name);
        // Twenty days on, Initech's renewal is 25 days away and Globex's trial is over.
        let later = NOW + 20 * DAY;
        let coming = ok(s.coming_dates(later).await);
        assert_eq!((coming.trials_ending, coming.terms_ending, coming.renewing), (0, 0, 1), "{}", db.name);
        assert_eq!(slugs(ok(s.search_customers(&shown(CustomerFilter::Renewing, later), 50).await)), ["initech"], "{}", db.name);
        db.drop_db().await;
    }
}

#[tokio::test]
async fn the_daily_series_counts_live_entitlements_and_units_metered() {
    for db in testing::seeded(NOW).await {
        let s = &db.store;
        let days = ok(s.daily_activity(NOW, 30).await);
        assert_eq!(days.len(), 30, "{}", db.name);
        let today = NOW.div_euclid(DAY) * DAY;
        assert_eq!(days.last().map(|d| d.0), Some(today), "{}", db.name);
        assert!(days.windows(2).all(|w| w[1].0 - w[0].0 == DAY), "{}: one point a day", db.name);
        // Live today: every seeded entitlement in trial, active or suspended.
        let live: i64 = ok(sqlx::query_scalar("SELECT COUNT(*) FROM entitlements WHERE status IN ('trial', 'active', 'suspended')")
            .fetch_one(s.pool())
            .await);
        assert_eq!(days.last().map(|d| d.1), Some(live), "{}", db.name);
        // Five days ago: those started by the end of that day; Globex's trial (started 4 days
        // ago) was not one of them.
        let then: i64 =
            ok(sqlx::query_scalar("SELECT COUNT(*) FROM entitlements WHERE status IN ('trial', 'active', 'suspended') AND starts_at < $1")
                .bind(today - 4 * DAY)
                .fetch_one(s.pool())
                .await);
        assert_eq!(days[days.len() - 6].1, then, "{}", db.name);
        assert!(then < live, "{}", db.name);
        // Units metered: what usage_daily holds for each day.
        let units: i64 = ok(sqlx::query_scalar("SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) FROM usage_daily WHERE day = $1")
            .bind(today - DAY)
            .fetch_one(s.pool())
            .await);
        assert_eq!(days[days.len() - 2].2, units, "{}", db.name);
        db.drop_db().await;
    }
}

#[tokio::test]
async fn the_queue_pages_oldest_first_and_shows_only_the_overdue_when_asked() {
    for db in testing::seeded(NOW).await {
        let s = &db.store;
        let initech = ok(s.find_customer_by_slug("initech").await).id;
        let entitlement: i64 =
            ok(sqlx::query_scalar("SELECT id FROM entitlements WHERE customer_id = $1").bind(initech).fetch_one(s.pool()).await);
        // Five pending requests filed a day apart, the oldest five days ago.
        for d in 0..5 {
            ok(sqlx::query(
                "INSERT INTO change_requests (customer_id, entitlement_id, kind, seats, reason, status, entitlement_version, requested_by,
                                              created_at, updated_at)
                 VALUES ($1, $2, 'seats', 9, 'More people', 'pending', 1, 4, $3, $3)",
            )
            .bind(initech)
            .bind(entitlement)
            .bind(NOW - (5 - d) * DAY)
            .execute(s.pool())
            .await);
        }
        let page = |created_before: Option<i64>, after: Option<i64>| QueueQuery { created_before, after, limit: 2 };
        let mut ids = Vec::new();
        let mut after = None;
        loop {
            let rows = ok(s.list_pending_requests(None, None, &page(None, after)).await);
            ids.extend(rows.iter().map(|(v, _)| (v.created_at, v.id)));
            if rows.len() < 2 {
                break;
            }
            after = rows.last().map(|(v, _)| v.id);
        }
        assert_eq!(ids.len(), 5, "{}", db.name);
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{}: oldest first, none twice", db.name);
        // Overdue: waiting more than two days, so three of them.
        let overdue =
            ok(s.list_pending_requests(None, None, &QueueQuery { created_before: Some(NOW - 2 * DAY), after: None, limit: 10 }).await);
        assert_eq!(overdue.len(), 3, "{}", db.name);
        assert_eq!(ok(s.pending_request_counts(NOW - 2 * DAY).await), (5, 3), "{}", db.name);
        db.drop_db().await;
    }
}

#[tokio::test]
async fn the_bench_at_scale_writes_what_it_says_and_the_audit_chain_still_holds() {
    use crate::store::seed::{seed_bench_scale, Scale};
    for db in testing::seeded(NOW).await {
        let s = &db.store;
        ok(seed_bench_scale(s, Scale::of(500), NOW).await);
        let count = |sql: &'static str| async move { ok(sqlx::query_scalar::<_, i64>(sql).fetch_one(s.pool()).await) };
        assert_eq!(count("SELECT COUNT(*) FROM customers WHERE slug LIKE 'scale-%'").await, 500, "{}", db.name);
        assert_eq!(count("SELECT COUNT(*) FROM users WHERE email LIKE 'admin@scale-%'").await, 500, "{}", db.name);
        // 100 usage events each, and 9,000 calls today for every 100th customer on Team.
        let events = count("SELECT COUNT(*) FROM usage_events WHERE event_id LIKE 'scale-%'").await;
        assert!((50_000..=50_005).contains(&events), "{}: {events}", db.name);
        const OF_SCALE: &str =
            "JOIN entitlements e ON e.id = entitlement_id JOIN customers c ON c.id = e.customer_id WHERE c.slug LIKE 'scale-%'";
        let rolled = ok(sqlx::query_scalar::<_, i64>(&format!("SELECT CAST(SUM(quantity) AS BIGINT) FROM usage_daily {OF_SCALE}"))
            .fetch_one(s.pool())
            .await);
        let counted = ok(sqlx::query_scalar::<_, i64>(&format!("SELECT CAST(SUM(quantity) AS BIGINT) FROM usage_events {OF_SCALE}"))
            .fetch_one(s.pool())
            .await);
        assert_eq!(rolled, counted, "{}: the roll-up holds every event", db.name);
        assert!(count("SELECT COUNT(*) FROM audit_events").await >= 5_000, "{}", db.name);
        let farm =
            "SELECT COUNT(*) FROM instances i JOIN entitlements e ON e.id = i.entitlement_id JOIN customers c ON c.id = e.customer_id
                    WHERE c.slug = 'scale-42' AND i.offline_until > $1";
        assert_eq!(ok(sqlx::query_scalar::<_, i64>(farm).bind(NOW).fetch_one(s.pool()).await), 50, "{}", db.name);
        assert_eq!(ok(s.verify_audit_chain().await), None, "{}", db.name);
        // Something for each of the dashboard's counts.
        let coming = ok(s.coming_dates(NOW).await);
        assert!(coming.trials_ending > 0 && coming.terms_ending > 0 && coming.renewing > 0, "{}: {coming:?}", db.name);
        let (pending, overdue) = ok(s.pending_request_counts(NOW - 2 * DAY).await);
        assert!(pending >= 10 && overdue > 0 && overdue < pending, "{}: {pending} {overdue}", db.name);
        db.drop_db().await;
    }
}

/// Every event matching `filter`, read a page of 37 at a time as `plan` says (or as the
/// search chooses, when `None`).
async fn audit_pages(
    s: &crate::store::Store,
    filter: &crate::store::audit::AuditFilter,
    plan: Option<&crate::store::audit::AuditPlan>,
) -> Vec<i64> {
    let mut filter = filter.clone();
    let mut paged = Vec::new();
    loop {
        let page = match plan {
            Some(plan) => ok(s.read_audit_events(&filter, plan, 37).await),
            None => ok(s.search_audit_events(&filter, 37).await),
        };
        paged.extend(page.iter().map(|r| r.seq));
        match page.last() {
            Some(last) if page.len() == 37 => filter.before_seq = Some(last.seq),
            _ => return paged,
        }
    }
}

#[tokio::test]
async fn an_audit_search_by_actor_finds_what_reading_every_event_finds_a_page_at_a_time() {
    use crate::store::audit::{AuditFilter, AuditPlan};
    use crate::store::seed::{seed_bench_scale, Scale};
    for db in testing::seeded(NOW).await {
        let s = &db.store;
        // 100 customer admins acting on half of 1,000 events, the system on the other half.
        ok(seed_bench_scale(s, Scale::of(100), NOW).await);
        // One actor, eleven, a hundred, with and without a kind, in any case: the search's
        // own choice and each way of reading the log find the same events.
        for (actor, kind) in [
            ("admin@scale-42.", None),
            ("SCALE-4", None),
            ("scale-4", Some("request.")),
            ("admin@scale-", None),
            ("admin@scale-", Some("license")),
            ("System:Bench", Some("seat.")),
        ] {
            let pattern = format!("%{}%", actor.to_lowercase());
            let everything: Vec<i64> =
                ok(sqlx::query_scalar("SELECT seq FROM audit_events WHERE LOWER(actor) LIKE $1 AND kind LIKE $2 ORDER BY seq DESC")
                    .bind(&pattern)
                    .bind(format!("{}%", kind.unwrap_or("")))
                    .fetch_all(s.pool())
                    .await);
            assert!(everything.len() >= 5, "{}: {actor}: {}", db.name, everything.len());
            let names: Vec<String> = ok(sqlx::query_scalar("SELECT actor FROM audit_actors WHERE LOWER(actor) LIKE $1")
                .bind(&pattern)
                .fetch_all(s.pool())
                .await);
            let filter = AuditFilter { actor: Some(actor.into()), kind: kind.map(Into::into), ..Default::default() };
            assert_eq!(audit_pages(s, &filter, None).await, everything, "{}: {actor} {kind:?}", db.name);
            for plan in [AuditPlan::Scan, AuditPlan::Each(names.clone()), AuditPlan::Sorted(names.clone())] {
                assert_eq!(audit_pages(s, &filter, Some(&plan)).await, everything, "{}: {actor} {kind:?} {plan:?}", db.name);
            }
        }
        let nobody = AuditFilter { actor: Some("nobody".into()), ..Default::default() };
        assert!(ok(s.search_audit_events(&nobody, 50).await).is_empty(), "{}", db.name);
        // Whoever acts next is found at once.
        let newcomer = crate::store::audit::Actor::user(1, "newcomer@acme.example");
        let globex = ok(s.find_customer_by_slug("globex").await);
        let trial: i64 =
            ok(sqlx::query_scalar("SELECT MIN(id) FROM entitlements WHERE customer_id = $1").bind(globex.id).fetch_one(s.pool()).await);
        ok(s.set_trial_end(&newcomer, trial, None, NOW + 20 * DAY, "extended for evaluation", NOW).await);
        let found = AuditFilter { actor: Some("NEWCOMER@".into()), ..Default::default() };
        assert_eq!(ok(s.search_audit_events(&found, 50).await).len(), 1, "{}", db.name);
        db.drop_db().await;
    }
}

#[test]
fn an_audit_search_reads_rare_actors_by_the_index_and_common_ones_from_the_newest_event() {
    use crate::store::audit::AuditPlan;
    let names = |n: usize| (0..n).map(|i| format!("admin@scale-{i}.example")).collect::<Vec<_>>();
    // A few: a page of each.
    assert_eq!(AuditPlan::choose(names(11), 55_000, 1_000_000), AuditPlan::Each(names(11)));
    // 1,111 admins acting five times each in a log of a million: all their events, sorted.
    assert_eq!(AuditPlan::choose(names(1_111), 5_555, 1_000_000), AuditPlan::Sorted(names(1_111)));
    // As many acting often (counted up to a hundredth of the log), or too many to name:
    // the newest events meet them soon.
    assert_eq!(AuditPlan::choose(names(1_111), 10_001, 1_000_000), AuditPlan::Scan);
    assert_eq!(AuditPlan::choose(names(2_001), 2_001, 1_000_000), AuditPlan::Scan);
    assert_eq!(AuditPlan::choose(names(100), 11, 1_000), AuditPlan::Scan);
}

#[tokio::test]
async fn a_customers_instances_are_paged_and_searched_and_counted_whole() {
    use crate::store::entitlements::instances::InstanceQuery;
    for db in testing::seeded(NOW).await {
        let s = &db.store;
        let initech = ok(s.find_customer_by_slug("initech").await);
        let entitlement: i64 =
            ok(sqlx::query_scalar("SELECT MIN(id) FROM entitlements WHERE customer_id = $1").bind(initech.id).fetch_one(s.pool()).await);
        let live_before: i64 = ok(s.live_instance_counts(initech.id, NOW, 900).await).iter().map(|(_, n)| n).sum();
        // 120 build agents: the even ones heartbeating, the odd ones silent for a day (not yet
        // swept), and three deactivated that no list shows.
        for i in 0..123 {
            ok(sqlx::query(
                "INSERT INTO instances (entitlement_id, fingerprint, name, activated_at, last_heartbeat_at, deactivated_at, public_id)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(entitlement)
            .bind(format!("fp-{i:03}"))
            .bind(format!("build-agent-{i:03}"))
            .bind(NOW - DAY)
            .bind(if i % 2 == 0 { NOW - 60 } else { NOW - DAY })
            .bind((i >= 120).then_some(NOW))
            .bind(format!("ins_agent{i:03}"))
            .execute(s.pool())
            .await);
        }
        let everything: Vec<i64> = ok(sqlx::query_scalar(
            "SELECT i.id FROM instances i JOIN entitlements e ON e.id = i.entitlement_id
             WHERE e.customer_id = $1 AND i.deactivated_at IS NULL ORDER BY i.id",
        )
        .bind(initech.id)
        .fetch_all(s.pool())
        .await);
        assert!(everything.len() >= 120, "{}", db.name);
        let mut paged = Vec::new();
        let mut query = InstanceQuery { limit: 50, ..Default::default() };
        loop {
            let page = ok(s.list_instances(initech.id, &query).await);
            paged.extend(page.iter().map(|i| i.id));
            match page.last() {
                Some(last) if page.len() == 50 => query.after = Some(last.id),
                _ => break,
            }
        }
        assert_eq!(paged, everything, "{}: every live instance once, in order", db.name);
        // By name, fingerprint or instance id, in any case; a wildcard is a character.
        let found = |search: &'static str| async move {
            let query = InstanceQuery { search: Some(search), limit: 200, ..Default::default() };
            ok(s.list_instances(initech.id, &query).await).into_iter().map(|i| i.name.unwrap_or_default()).collect::<Vec<_>>()
        };
        assert_eq!(found("BUILD-AGENT-01").await.len(), 10, "{}", db.name);
        assert_eq!(found("fp-119").await, ["build-agent-119"], "{}", db.name);
        assert_eq!(found("INS_AGENT007").await, ["build-agent-007"], "{}", db.name);
        assert!(found("build_agent").await.is_empty(), "{}", db.name);
        assert!(found("build-agent-120").await.is_empty(), "{}: a deactivated instance is not listed", db.name);
        // The counts against the cap are of every instance holding a slot, not of a page.
        let live_after: i64 = ok(s.live_instance_counts(initech.id, NOW, 900).await).iter().map(|(_, n)| n).sum();
        assert_eq!(live_after, live_before + 60, "{}", db.name);
        db.drop_db().await;
    }
}
