//! Store tests of what vendor staff do: approval rules, two approvals, separation of
//! duties, changes scheduled for renewal, held-back seats, customers and entitlements
//! made and changed by staff, plan versions and keys; on SQLite and PostgreSQL.

use crate::engine::{CustomerId, EntitlementId, RequestKind, RequestStatus, UserId};
use crate::store::audit::Actor;
use crate::store::catalog::changes::PlanDraft;
use crate::store::entitlements::lifecycle::{Grant, Terms};
use crate::store::entitlements::StatusRefusal;
use crate::store::keys::api_keys::Scopes;
use crate::store::keys::signing::RetireKeyRefusal;
use crate::store::members::NewCustomer;
use crate::store::requests::decisions::Decided;
use crate::store::requests::filing::NewRequest;
use crate::store::testing::{self, TestDb};
use crate::store::*;

const DAY: i64 = 86_400;
const NOW: i64 = 1_795_435_200;

async fn seeded() -> Vec<TestDb> {
    testing::seeded(NOW).await
}

fn ok<T, E: std::fmt::Display>(r: Result<T, E>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

fn ada() -> Actor {
    Actor::user(4, "ada@initech.example")
}

fn staff() -> Actor {
    Actor::user(2, "staff@tessera.example")
}

fn admin() -> Actor {
    Actor::user(1, "admin@tessera.example")
}

async fn initech(s: &Store) -> (i64, i64) {
    let c = ok(s.find_customer_by_slug("initech").await);
    let e = ok(s.list_entitlements(c.id, day_of(NOW)).await);
    (c.id, e[0].id)
}

async fn plan_id(s: &Store, key: &str) -> i64 {
    let products = ok(s.list_products().await);
    let plans = ok(s.list_plans(products[0].0).await);
    plans.iter().find(|p| p.key == key).map(|p| p.id).unwrap_or_else(|| panic!("no plan {key}"))
}

fn ask(customer: i64, entitlement: i64, kind: RequestKind) -> NewRequest {
    NewRequest {
        customer_id: customer,
        entitlement_id: entitlement,
        kind,
        target_plan_id: None,
        seats: None,
        addon_id: None,
        at_renewal: false,
        reason: "because".into(),
        requested_by: 4,
    }
}

async fn status(s: &Store, id: i64) -> RequestStatus {
    ok(s.find_request(id).await).0.status
}

#[tokio::test]
async fn a_catalog_rule_approves_up_to_five_seats_on_team_at_once_and_audits_it() {
    for db in seeded().await {
        let s = &db.store;
        let (customer, entitlement) = initech(s).await;
        let five =
            ok(ok(s.file_request(&ada(), &NewRequest { seats: Some(5), ..ask(customer, entitlement, RequestKind::Seats) }, NOW).await));
        let (view, _) = ok(s.find_request(five).await);
        assert_eq!(view.status, RequestStatus::Approved, "{}", db.name);
        assert!(view.comment.unwrap_or_default().contains("approve automatically"), "{}", db.name);
        assert_eq!(ok(s.list_entitlements(customer, day_of(NOW)).await)[0].seats_cap, 15, "{}", db.name);
        let events = ok(s.list_audit_events(Some(customer), 5).await);
        assert_eq!(events[0].kind, "request.auto_approved", "{}", db.name);
        assert!(events[0].actor.starts_with("system:rule:"), "{}", db.name);
        assert_eq!(events[1].kind, "request.filed", "{}", db.name);

        let six =
            ok(ok(s.file_request(&ada(), &NewRequest { seats: Some(6), ..ask(customer, entitlement, RequestKind::Seats) }, NOW).await));
        assert_eq!(status(s, six).await, RequestStatus::Pending, "{}: six is more than the rule allows", db.name);
        assert_eq!(ok(s.verify_audit_chain().await), None);
        db.drop_db().await;
    }
}

#[tokio::test]
async fn a_jump_of_two_tiers_needs_approvals_from_two_different_staff() {
    for db in seeded().await {
        let s = &db.store;
        let (customer, entitlement) = initech(s).await;
        let enterprise = plan_id(s, "enterprise").await;
        let id = ok(ok(s
            .file_request(&ada(), &NewRequest { target_plan_id: Some(enterprise), ..ask(customer, entitlement, RequestKind::Plan) }, NOW)
            .await));
        assert_eq!(ok(s.find_request(id).await).0.approvals_needed, 2, "{}", db.name);

        let (first, _) = ok(s.decide_request(&staff(), id, true, "fine by me", None, NOW).await);
        assert_eq!(first, Decided::Recorded { have: 1, needed: 2 }, "{}", db.name);
        assert_eq!(status(s, id).await, RequestStatus::Pending);
        assert_eq!(ok(s.list_entitlements(customer, day_of(NOW)).await)[0].plan_key, "team", "{}: not applied yet", db.name);
        let (again, _) = ok(s.decide_request(&staff(), id, true, "me again", None, NOW).await);
        assert_eq!(again, Decided::ApprovedAlready, "{}", db.name);

        let (second, _) = ok(s.decide_request(&admin(), id, true, "agreed", None, NOW + 60).await);
        assert_eq!(second, Decided::Done, "{}", db.name);
        assert_eq!(ok(s.list_entitlements(customer, day_of(NOW)).await)[0].plan_key, "enterprise", "{}", db.name);
        assert_eq!(ok(s.list_request_approvals(id).await).len(), 2);
        let kinds: Vec<String> = ok(s.list_audit_events(Some(customer), 3).await).into_iter().map(|e| e.kind).collect();
        assert_eq!(kinds, ["request.approved", "request.approval_recorded", "request.filed"], "{}", db.name);
        db.drop_db().await;
    }
}

#[tokio::test]
async fn nobody_decides_on_a_request_of_their_own_organisation() {
    for db in seeded().await {
        let s = &db.store;
        let (customer, entitlement) = initech(s).await;
        let id =
            ok(ok(s.file_request(&ada(), &NewRequest { seats: Some(8), ..ask(customer, entitlement, RequestKind::Seats) }, NOW).await));
        let bob = Actor::user(5, "bob@initech.example");
        assert_eq!(ok(s.decide_request(&bob, id, true, "sure", None, NOW).await).0, Decided::OwnOrganisation, "{}", db.name);
        assert_eq!(ok(s.decide_request(&ada(), id, true, "sure", None, NOW).await).0, Decided::OwnRequest, "{}", db.name);
        assert_eq!(status(s, id).await, RequestStatus::Pending);
        db.drop_db().await;
    }
}

#[tokio::test]
async fn a_change_approved_for_the_renewal_applies_on_the_renewal_date() {
    for db in seeded().await {
        let s = &db.store;
        let (customer, entitlement) = initech(s).await;
        let business = plan_id(s, "business").await;
        let r = NewRequest { target_plan_id: Some(business), at_renewal: true, ..ask(customer, entitlement, RequestKind::Plan) };
        let id = ok(ok(s.file_request(&ada(), &r, NOW).await));
        assert_eq!(ok(s.decide_request(&staff(), id, true, "from the renewal", None, NOW).await).0, Decided::Done);
        let (view, _) = ok(s.find_request(id).await);
        assert!(view.scheduled(), "{}", db.name);
        assert_eq!(view.applies_at, Some(NOW + 45 * DAY), "{}: the renewal date", db.name);
        assert_eq!(ok(s.list_entitlements(customer, day_of(NOW)).await)[0].plan_key, "team", "{}: not yet", db.name);

        assert!(ok(s.apply_due_changes(NOW + 44 * DAY).await).is_empty(), "{}", db.name);
        assert_eq!(ok(s.apply_due_changes(NOW + 45 * DAY).await), [customer], "{}", db.name);
        assert!(ok(s.apply_due_changes(NOW + 46 * DAY).await).is_empty(), "{}: once", db.name);
        assert_eq!(ok(s.list_entitlements(customer, day_of(NOW)).await)[0].plan_key, "business", "{}", db.name);
        assert!(!ok(s.find_request(id).await).0.scheduled());
        assert_eq!(ok(s.list_audit_events(Some(customer), 1).await)[0].kind, "request.applied");
        db.drop_db().await;
    }
}

#[tokio::test]
async fn fewer_seats_than_assigned_hold_back_the_seats_assigned_last() {
    for db in seeded().await {
        let s = &db.store;
        let (customer, entitlement) = initech(s).await;
        let team = plan_id(s, "team").await;
        // Ada and Bob hold a seat; Cy gets the third, last.
        ok(s.assign_seat(&staff(), CustomerId(customer), EntitlementId(entitlement), UserId(6), NOW + 10).await);
        let terms = Terms { plan_id: team, seats_override: Some(2), instances_override: None, regions: None };
        ok(ok(s.amend_entitlement(&staff(), entitlement, None, &terms, "contract cut to two seats", NOW + 20).await));

        let members = ok(s.list_members(CustomerId(customer), EntitlementId(entitlement), NOW).await);
        let held: Vec<&str> = members.iter().filter(|m| m.seats_before.is_some_and(|n| n >= 2)).map(|m| m.email.as_str()).collect();
        assert_eq!(held, ["cy@initech.example"], "{}", db.name);
        let snap = ok(s.load_customer_snapshot(customer, NOW).await);
        let holders = &snap.entitlements["acme-analytics"].seat_holders;
        assert!(holders.contains(&4) && holders.contains(&5) && !holders.contains(&6), "{}: {holders:?}", db.name);

        // The admin chooses: Bob goes, and Cy keeps a seat.
        ok(s.free_seat(&ada(), CustomerId(customer), EntitlementId(entitlement), UserId(5), NOW + 30).await);
        let snap = ok(s.load_customer_snapshot(customer, NOW).await);
        assert!(snap.entitlements["acme-analytics"].seat_holders.contains(&6), "{}", db.name);
        let e = &ok(s.list_entitlements(customer, day_of(NOW)).await)[0];
        assert_eq!((e.seats_used, e.seats_cap, e.held_back()), (2, 2, 0), "{}", db.name);
        db.drop_db().await;
    }
}

#[tokio::test]
async fn staff_create_a_customer_grant_renew_and_cancel_each_audited_with_its_reason() {
    for db in seeded().await {
        let s = &db.store;
        let new = NewCustomer {
            slug: "hooli",
            name: "Hooli",
            admin_email: "Gavin@Hooli.example",
            admin_name: "Gavin",
            token_hash: "h1",
            expires_at: NOW + 7 * DAY,
        };
        let (customer, user) = ok(s.create_customer_with_admin(&staff(), &new, "signed the order form", NOW).await);
        assert!(user > 0);
        let again = s.create_customer_with_admin(&staff(), &NewCustomer { token_hash: "h2", ..new.clone() }, "again", NOW).await;
        assert!(matches!(again, Err(StoreError::Duplicate(Unique::CustomerSlug))), "{}", db.name);
        let other = NewCustomer { slug: "hooli-2", token_hash: "h3", ..new.clone() };
        assert!(matches!(s.create_customer_with_admin(&staff(), &other, "x", NOW).await, Err(StoreError::Duplicate(Unique::UserEmail))));
        assert_eq!(ok(s.find_invitation("h1").await).email, "gavin@hooli.example", "{}", db.name);

        let products = ok(s.list_products().await);
        let addons = ok(s.list_addons(products[0].0).await);
        let grant = Grant {
            customer_id: customer,
            product_id: products[0].0,
            plan_id: plan_id(s, "business").await,
            addon_ids: vec![addons[0].id],
            seats_override: Some(25),
            instances_override: None,
            starts_at: NOW,
            ends_at: None,
            renews_at: Some(NOW + 365 * DAY),
            trial_ends_at: Some(NOW + 14 * DAY),
            grace_days: 14,
            auto_renew: true,
            regions: Some("eu,us".into()),
            external_id: None,
        };
        let id = ok(s.grant_entitlement(&staff(), &grant, "trial first", NOW).await);
        assert!(matches!(s.grant_entitlement(&staff(), &grant, "twice", NOW).await, Err(StoreError::Duplicate(Unique::CustomerProduct))));
        let e = &ok(s.list_entitlements(customer, day_of(NOW)).await)[0];
        assert_eq!((e.plan_key.as_str(), e.seats_cap, e.status.as_str(), e.addons.len()), ("business", 25, "trial", 1), "{}", db.name);

        ok(ok(s.renew_entitlement(&staff(), id, None, 365, "paid for year one", NOW + DAY).await));
        let e = &ok(s.list_entitlements(customer, day_of(NOW)).await)[0];
        assert_eq!(e.status.as_str(), "active", "{}", db.name);
        assert_eq!(e.renews_on, Some(day_of(NOW + 730 * DAY)), "{}: a year after the date it would have renewed", db.name);

        ok(ok(s.cancel_entitlement(&staff(), id, None, "went bankrupt", NOW + 2 * DAY).await));
        assert!(matches!(s.cancel_entitlement(&staff(), id, None, "twice", NOW).await, Ok(Err(StatusRefusal::CancelledAlready))));
        assert!(matches!(s.renew_entitlement(&staff(), id, None, 365, "too late", NOW).await, Ok(Err(StatusRefusal::RenewingCancelled))));
        let e = &ok(s.list_entitlements(customer, day_of(NOW)).await)[0];
        assert_eq!((e.status.as_str(), e.status_reason.as_deref(), e.auto_renew), ("cancelled", Some("went bankrupt"), false));

        let kinds: Vec<String> = ok(s.list_audit_events(Some(customer), 10).await).into_iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            ["entitlement.cancelled", "entitlement.renewed", "entitlement.granted", "user.invited", "customer.created"],
            "{}",
            db.name
        );
        let cancelled = &ok(s.list_audit_events(Some(customer), 1).await)[0];
        assert!(cancelled.after_json.as_deref().unwrap_or_default().contains("went bankrupt"));
        assert_eq!(ok(s.verify_audit_chain().await), None);
        db.drop_db().await;
    }
}

#[tokio::test]
async fn a_plan_change_is_a_new_version_and_entitlements_keep_theirs_until_moved() {
    for db in seeded().await {
        let s = &db.store;
        let (customer, entitlement) = initech(s).await;
        let product = ok(s.list_products().await)[0].0;
        let features = ok(s.list_features(product).await);
        let id_of = |key: &str| features.iter().find(|f| f.1 == key).map(|f| f.0).unwrap_or_else(|| panic!("{key}"));
        let draft = PlanDraft {
            key: "team".into(),
            name: "Team".into(),
            rank: 1,
            seats: 12,
            instances: 3,
            trial_days: 14,
            grace_days: 7,
            offline_days: 30,
            features: vec![
                (id_of("dashboards"), None, None),
                (id_of("reports.export"), None, None),
                (id_of("sso"), None, Some(r#""seat""#.to_owned())),
                (id_of("api.calls"), Some(20_000), None),
            ],
        };
        let (on_team, _) = ok(s.plan_version_counts(product).await)["team"];
        assert!(on_team >= 1, "{}", db.name);
        let (_, version) = ok(s.save_plan_version(&admin(), product, &draft, "SSO for every team", NOW).await);
        assert_eq!(version, 2, "{}", db.name);
        let team = ok(s.list_plans(product).await).into_iter().find(|p| p.key == "team").unwrap_or_else(|| panic!("team"));
        assert_eq!((team.version, team.seats), (2, 12), "{}", db.name);
        assert_eq!(ok(s.plan_version_counts(product).await)["team"], (0, on_team), "{}: everyone stays on version 1", db.name);
        let e = &ok(s.list_entitlements(customer, day_of(NOW)).await)[0];
        assert_eq!((e.seats_cap, e.features.iter().any(|f| f.key == "sso")), (10, false), "{}: unchanged until moved", db.name);

        let moved = ok(s.move_to_newest_version(&admin(), product, "team", "move everyone", NOW).await);
        assert!(moved.contains(&customer) && moved.len() as i64 == on_team, "{}: {moved:?}", db.name);
        assert_eq!(ok(s.plan_version_counts(product).await)["team"], (on_team, 0));
        let e = &ok(s.list_entitlements(customer, day_of(NOW)).await)[0];
        assert_eq!((e.seats_cap, e.features.iter().any(|f| f.key == "sso")), (12, true), "{}", db.name);
        assert_eq!(e.id, entitlement);
        assert!(ok(s.move_to_newest_version(&admin(), product, "team", "again", NOW).await).is_empty());
        assert_eq!(ok(s.list_audit_events(Some(customer), 1).await)[0].kind, "entitlement.plan_version_moved");
        db.drop_db().await;
    }
}

#[tokio::test]
async fn api_keys_rotate_and_revoke_and_the_signing_key_in_use_cannot_be_retired() {
    for db in seeded().await {
        let s = &db.store;
        let product = ok(s.list_products().await)[0].0;
        let live = |keys: Vec<(String, crate::store::keys::api_keys::ApiKey)>| keys.into_iter().map(|(h, _)| h).collect::<Vec<_>>();
        let first = ok(s.issue_api_key(&admin(), product, "CI", "tsk_first", Scopes::ENFORCE, None, NOW).await);
        assert!(live(ok(s.list_active_api_keys().await)).contains(&crate::store::keys::api_keys::hash_api_key("tsk_first")));
        ok(s.issue_api_key(&admin(), product, "CI", "tsk_second", Scopes::ENFORCE, Some(first), NOW).await);
        let hashes = live(ok(s.list_active_api_keys().await));
        assert!(!hashes.contains(&crate::store::keys::api_keys::hash_api_key("tsk_first")), "{}: rotated out", db.name);
        assert!(hashes.contains(&crate::store::keys::api_keys::hash_api_key("tsk_second")));
        assert!(matches!(
            s.issue_api_key(&admin(), product, "CI", "tsk_third", Scopes::ENFORCE, Some(first), NOW).await,
            Err(StoreError::NotFound)
        ));
        let second =
            ok(s.list_api_keys().await).into_iter().find(|k| k.revoked_at.is_none() && k.name == "CI").map(|k| k.id).unwrap_or_default();
        ok(s.revoke_api_key(&admin(), second, NOW).await);
        assert!(matches!(s.revoke_api_key(&admin(), second, NOW).await, Err(StoreError::NotFound)));
        assert!(!live(ok(s.list_active_api_keys().await)).contains(&crate::store::keys::api_keys::hash_api_key("tsk_second")));

        let key = |kid: &str| crate::store::keys::signing::StoredKey {
            kid: kid.into(),
            secret: "s".into(),
            public: "p".into(),
            created_at: NOW,
            active: true,
        };
        ok(s.add_signing_key(&admin(), &key("k1")).await);
        ok(s.add_signing_key(&admin(), &key("k2")).await);
        assert!(matches!(s.retire_signing_key(&admin(), "k2", NOW).await, Ok(Err(RetireKeyRefusal::SigningNow))), "{}: k2 signs", db.name);
        ok(ok(s.retire_signing_key(&admin(), "k1", NOW).await));
        assert!(ok(s.list_signing_keys().await).iter().all(|k| k.kid != "k1"), "{}: left the JWKS", db.name);
        assert!(matches!(s.retire_signing_key(&admin(), "k1", NOW).await, Err(StoreError::NotFound)));
        db.drop_db().await;
    }
}

#[tokio::test]
async fn approving_a_plan_saved_anew_since_the_request_gives_its_newest_version() {
    for db in seeded().await {
        let s = &db.store;
        let (customer, entitlement) = initech(s).await;
        let product = ok(s.list_products().await)[0].0;
        let business = ok(s.list_plans(product).await).into_iter().find(|p| p.key == "business").unwrap_or_else(|| panic!("business"));
        let id = ok(ok(s
            .file_request(&ada(), &NewRequest { target_plan_id: Some(business.id), ..ask(customer, entitlement, RequestKind::Plan) }, NOW)
            .await));
        let draft = PlanDraft {
            key: "business".into(),
            name: "Business".into(),
            rank: business.rank,
            seats: 60,
            instances: business.instances,
            trial_days: business.trial_days,
            grace_days: business.grace_days,
            offline_days: 30,
            features: business.features.iter().map(|f| (f.feature_id, f.quota, None)).collect(),
        };
        ok(s.save_plan_version(&admin(), product, &draft, "more seats on Business", NOW).await);
        assert_eq!(ok(s.decide_request(&staff(), id, true, "welcome", None, NOW).await).0, Decided::Done);
        let e = &ok(s.list_entitlements(customer, day_of(NOW)).await)[0];
        assert_eq!((e.plan_key.as_str(), e.seats_cap), ("business", 60), "{}", db.name);
        db.drop_db().await;
    }
}
