//! Store tests of self-service: seats under concurrency, invitations, removal, change
//! requests, add-ons and the daily history; on SQLite and PostgreSQL.

use crate::auth::Role;
use crate::engine::{CustomerId, EntitlementId, EntitlementStatus, RequestKind, RequestStatus, UserId};
use crate::store::audit::Actor;
use crate::store::catalog;
use crate::store::entitlements::lifecycle::{self, create_entitlement, NewEntitlement};
use crate::store::entitlements::seats::SeatChange;
use crate::store::members::create_customer;
use crate::store::members::invitations::Invite;
use crate::store::members::users::{create_user, NewUser};
use crate::store::requests::filing::{FileRefusal, NewRequest, WithdrawRefusal};
use crate::store::testing::{self, TestDb, ALL_INSTANCES};
use crate::store::*;

const DAY: i64 = 86_400;
const NOW: i64 = 1_795_435_200;

async fn seeded() -> Vec<TestDb> {
    testing::seeded(NOW).await
}

fn ok<T, E: std::fmt::Display>(r: Result<T, E>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

async fn initech(s: &Store) -> (i64, i64) {
    let c = ok(s.find_customer_by_slug("initech").await);
    let e = ok(s.list_entitlements(c.id, day_of(NOW)).await);
    (c.id, e[0].id)
}

fn admin() -> Actor {
    Actor::user(4, "ada@initech.example")
}

#[tokio::test]
async fn a_hundred_concurrent_assignments_fill_a_ten_seat_entitlement_exactly() {
    for db in seeded().await {
        let s = db.store.clone();
        // A customer on Team (ten seats) with a hundred people.
        let mut tx = ok(s.begin_write().await);
        let product: i64 = ok(sqlx::query_scalar("SELECT id FROM products WHERE key = 'acme-analytics'").fetch_one(&mut *tx).await);
        let team = ok(catalog::find_plan_id(&mut tx, product, "team").await);
        let customer = ok(create_customer(&mut tx, "race", "Race Ltd", NOW).await);
        let entitlement = ok(create_entitlement(
            &mut tx,
            &NewEntitlement {
                customer_id: customer,
                product_id: product,
                plan_id: team,
                status: EntitlementStatus::Active,
                starts_at: NOW,
                ends_at: None,
                renews_at: None,
                trial_ends_at: None,
                grace_days: 7,
                auto_renew: true,
                status_reason: None,
            },
            NOW,
        )
        .await);
        let mut users = Vec::new();
        for i in 0..100 {
            let email = format!("p{i}@race.example");
            let u = NewUser { customer_id: Some(customer), email: &email, name: &email, role: Role::CustomerMember, password_hash: None };
            users.push(ok(create_user(&mut tx, &u, NOW).await));
        }
        ok(tx.commit().await);

        let tasks: Vec<_> = users
            .into_iter()
            .map(|u| {
                let s = s.clone();
                tokio::spawn(async move {
                    s.assign_seat(&Actor::system("race"), CustomerId(customer), EntitlementId(entitlement), UserId(u), NOW).await
                })
            })
            .collect();
        let mut done = 0;
        let mut at_cap = 0;
        for t in tasks {
            match ok(ok(t.await)) {
                SeatChange::Done => done += 1,
                SeatChange::AtCap => at_cap += 1,
                SeatChange::Unchanged => panic!("nobody held a seat before"),
            }
        }
        let held: i64 =
            ok(sqlx::query_scalar("SELECT COUNT(*) FROM seats WHERE entitlement_id = $1").bind(entitlement).fetch_one(s.pool()).await);
        assert_eq!((done, at_cap, held), (10, 90, 10), "{}", db.name);
        let audited: i64 = ok(sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE kind = 'seat.assigned' AND customer_id = $1")
            .bind(customer)
            .fetch_one(s.pool())
            .await);
        assert_eq!(audited, 10, "one audit event per seat given: {}", db.name);
        db.drop_db().await;
    }
}

#[tokio::test]
async fn an_invitation_works_once_and_not_after_it_expires() {
    for db in seeded().await {
        let s = &db.store;
        let (customer, _) = initech(s).await;
        let invited =
            ok(s.invite_user(&admin(), customer, "dee@initech.example", "Dee", Role::CustomerMember, "hash-1", NOW + 7 * DAY, NOW).await);
        let Invite::Invited(user) = invited else { panic!("{invited:?}") };
        let found = ok(s.find_invitation("hash-1").await);
        assert_eq!((found.email.as_str(), found.organisation.as_str(), found.user_id), ("dee@initech.example", "Initech", user));
        // Nobody can sign in before the password is set.
        assert_eq!(ok(s.find_credentials("dee@initech.example").await).and_then(|c| c.password_hash), None);

        assert_eq!(ok(s.accept_invitation("hash-1", "argon-hash", NOW + DAY).await), user);
        assert!(matches!(s.accept_invitation("hash-1", "other", NOW + DAY).await, Err(StoreError::NotFound)), "used once");
        assert_eq!(ok(s.find_credentials("dee@initech.example").await).and_then(|c| c.password_hash).as_deref(), Some("argon-hash"));

        // Another invitee's link lapses after its time.
        ok(s.invite_user(&admin(), customer, "eve@initech.example", "Eve", Role::CustomerAdmin, "hash-2", NOW + DAY, NOW).await);
        assert!(matches!(s.accept_invitation("hash-2", "x", NOW + DAY + 1).await, Err(StoreError::NotFound)));
        db.drop_db().await;
    }
}

#[tokio::test]
async fn inviting_an_email_of_another_organisation_or_a_member_changes_nothing() {
    for db in seeded().await {
        let s = &db.store;
        let (customer, _) = initech(s).await;
        let before: i64 = ok(sqlx::query_scalar("SELECT COUNT(*) FROM invitations").fetch_one(s.pool()).await);
        let r = ok(s.invite_user(&admin(), customer, "grace@globex.example", "G", Role::CustomerMember, "h1", NOW + DAY, NOW).await);
        assert_eq!(r, Invite::TakenElsewhere);
        let r = ok(s.invite_user(&admin(), customer, "bob@initech.example", "B", Role::CustomerMember, "h2", NOW + DAY, NOW).await);
        assert_eq!(r, Invite::AlreadyMember);
        let after: i64 = ok(sqlx::query_scalar("SELECT COUNT(*) FROM invitations").fetch_one(s.pool()).await);
        assert_eq!(before, after, "{}", db.name);
        db.drop_db().await;
    }
}

#[tokio::test]
async fn removing_a_user_frees_their_seat_and_disables_them() {
    for db in seeded().await {
        let s = &db.store;
        let (customer, entitlement) = initech(s).await;
        let bob = ok(s.find_customer_user(customer, "bob@initech.example").await);
        let freed = ok(s.remove_user(&admin(), CustomerId(customer), UserId(bob), NOW).await).unwrap_or_else(|r| panic!("{r:?}"));
        assert_eq!(freed, [entitlement]);
        let list = ok(s.list_entitlements(customer, day_of(NOW)).await);
        assert_eq!(list[0].seats_used, 1, "{}", db.name);
        assert!(ok(s.find_current_user(bob).await).is_none(), "a removed user is signed out");
        assert!(!ok(s.list_members(CustomerId(customer), EntitlementId(entitlement), NOW).await).iter().any(|m| m.id == bob));
        // Removing again, or from the wrong organisation, finds nobody.
        assert!(matches!(s.remove_user(&admin(), CustomerId(customer), UserId(bob), NOW).await, Err(StoreError::NotFound)));
        let ada = ok(s.find_customer_user(customer, "ada@initech.example").await);
        let globex = ok(s.find_customer_by_slug("globex").await);
        assert!(matches!(s.remove_user(&admin(), CustomerId(globex.id), UserId(ada), NOW).await, Err(StoreError::NotFound)));
        // Today's history shows the seat gone.
        let days = ok(s.capacity_by_day(entitlement, NOW.div_euclid(DAY) * DAY).await);
        assert_eq!(days.last().map(|d| d.seats_end), Some(1));
        // Invited again, they come back without a password.
        let r = ok(s.invite_user(&admin(), customer, "bob@initech.example", "Bob", Role::CustomerMember, "h3", NOW + DAY, NOW).await);
        assert_eq!(r, Invite::Invited(bob));
        db.drop_db().await;
    }
}

#[tokio::test]
async fn a_request_is_filed_once_withdrawn_once_and_listed_with_its_status() {
    for db in seeded().await {
        let s = &db.store;
        let (customer, entitlement) = initech(s).await;
        let facts = ok(s.entitlement_facts(entitlement).await);
        let business = ok(s.list_plans(facts.product_id).await).into_iter().find(|p| p.key == "business").map(|p| p.id);
        let request = NewRequest {
            customer_id: customer,
            entitlement_id: entitlement,
            kind: RequestKind::Plan,
            target_plan_id: business,
            seats: None,
            addon_id: None,
            at_renewal: false,
            reason: "We need SSO".into(),
            requested_by: 4,
        };
        let id = ok(ok(s.file_request(&admin(), &request, NOW).await));
        assert!(matches!(s.file_request(&admin(), &request, NOW).await, Ok(Err(FileRefusal::SamePending))), "the same change twice");
        let list = ok(s.list_requests(customer).await);
        assert_eq!((list[0].id, list[0].status, list[0].target_plan.as_deref()), (id, RequestStatus::Pending, Some("Business")));
        assert_eq!(list[0].summary(), "Change plan to Business");

        let globex = ok(s.find_customer_by_slug("globex").await);
        assert!(matches!(s.withdraw_request(&admin(), globex.id, id, NOW).await, Err(StoreError::NotFound)), "another tenant's");
        ok(ok(s.withdraw_request(&admin(), customer, id, NOW).await));
        assert!(matches!(s.withdraw_request(&admin(), customer, id, NOW).await, Ok(Err(WithdrawRefusal::NotPending))));
        assert_eq!(ok(s.list_requests(customer).await)[0].status, RequestStatus::Withdrawn);
        // Filed against another customer's entitlement: nothing is written.
        let wrong = NewRequest { customer_id: globex.id, ..request };
        assert!(matches!(s.file_request(&admin(), &wrong, NOW).await, Err(StoreError::NotFound)));
        assert_eq!(ok(s.list_requests(globex.id).await).len(), 0, "{}", db.name);
        db.drop_db().await;
    }
}

#[tokio::test]
async fn add_ons_add_features_quota_and_instances() {
    for db in seeded().await {
        let s = &db.store;
        let (customer, entitlement) = initech(s).await;
        let addons = ok(s.list_addons(1).await);
        let mut tx = ok(s.begin_write().await);
        for key in ["audit-log", "api-boost", "extra-instances"] {
            let a = addons.iter().find(|a| a.key == key).map(|a| a.id).unwrap_or_default();
            ok(lifecycle::add_addon(&mut tx, entitlement, a, NOW).await);
        }
        ok(tx.commit().await);
        let e = &ok(s.list_entitlements(customer, day_of(NOW)).await)[0];
        assert_eq!(e.instances_cap, 8, "{}", db.name);
        let quota = e.features.iter().find(|f| f.key == "api.calls").and_then(|f| f.quota);
        assert_eq!(quota, Some(60_000));
        assert!(e.features.iter().any(|f| f.key == "audit.log"));
        assert_eq!(e.addons.len(), 3);
        let snap = ok(s.load_customer_snapshot(customer, NOW).await);
        let snap = &snap.entitlements["acme-analytics"];
        assert_eq!(snap.instances_cap, 8);
        assert!(snap.features.contains_key("audit.log"));
        db.drop_db().await;
    }
}

#[tokio::test]
async fn the_demo_has_ninety_days_of_usage_and_history() {
    for db in seeded().await {
        let s = &db.store;
        let (_, entitlement) = initech(s).await;
        let today = NOW.div_euclid(DAY) * DAY;
        let usage = ok(s.usage_by_day(entitlement, today - 89 * DAY).await);
        assert_eq!(usage.len(), 90, "{}", db.name);
        assert!(usage.iter().all(|(_, _, q)| *q > 0));
        let history = ok(s.capacity_by_day(entitlement, today - 89 * DAY).await);
        assert_eq!(history.first().map(|d| d.seats_end), Some(1));
        assert_eq!(history.last().map(|d| d.seats_end), Some(2));
        db.drop_db().await;
    }
}

#[tokio::test]
async fn lapsed_instances_are_swept_with_an_audit_event() {
    for db in seeded().await {
        let s = &db.store;
        let (customer, entitlement) = initech(s).await;
        assert_eq!(ok(s.list_instances(customer, &ALL_INSTANCES).await).len(), 2);
        assert!(ok(s.sweep_lapsed_instances(NOW + 60, 900).await).is_empty(), "fresh heartbeats stay");
        assert_eq!(ok(s.sweep_lapsed_instances(NOW + 901, 900).await), [customer]);
        assert!(ok(s.list_instances(customer, &ALL_INSTANCES).await).is_empty());
        let lapsed: i64 =
            ok(sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE kind = 'instance.lapsed'").fetch_one(s.pool()).await);
        assert_eq!(lapsed, 2, "{}", db.name);
        let days = ok(s.capacity_by_day(entitlement, (NOW + 901).div_euclid(DAY) * DAY).await);
        assert_eq!(days.last().map(|d| d.instances_end), Some(0));
        db.drop_db().await;
    }
}

#[tokio::test]
async fn two_staff_approving_the_same_request_at_once_apply_it_once() {
    for db in seeded().await {
        let s = db.store.clone();
        let (customer, entitlement) = initech(&s).await;
        let request = NewRequest {
            customer_id: customer,
            entitlement_id: entitlement,
            kind: RequestKind::Seats,
            target_plan_id: None,
            seats: Some(8),
            addon_id: None,
            at_renewal: false,
            reason: "growth".into(),
            requested_by: 4,
        };
        let id = ok(ok(s.file_request(&admin(), &request, NOW).await));
        let tasks: Vec<_> = (0..2)
            .map(|n| {
                let s = s.clone();
                tokio::spawn(async move { s.decide_request(&Actor::user(2 - n, "staff"), id, true, "ok", None, NOW).await })
            })
            .collect();
        let mut done = 0;
        for t in tasks {
            if ok(ok(t.await)).0 == crate::store::requests::decisions::Decided::Done {
                done += 1;
            }
        }
        assert_eq!(done, 1, "{}", db.name);
        assert_eq!(ok(s.list_entitlements(customer, day_of(NOW)).await)[0].seats_cap, 18, "{}: applied once", db.name);
        db.drop_db().await;
    }
}
