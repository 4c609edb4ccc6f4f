//! Every server function, called by every role: who must not call it is refused (401 for
//! a visitor, 403 for anyone signed in, or 404 for another tenant's thing), and the table is checked against the functions
//! the code declares, so a new function cannot go untested.

use std::collections::BTreeSet;

use reqwest::StatusCode;

use crate::helpers::{declared_server_functions, json, new_client, spawn_app, TestApp};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Visitor,
    VendorAdmin,
    Staff,
    Sales,
    /// Ada, Initech's admin: the customer whose things the calls name.
    Admin,
    /// Bob, an Initech member.
    Member,
    /// Grace, Globex's admin: another tenant.
    OtherAdmin,
}

use Who::*;

const EVERYONE: &[Who] = &[VendorAdmin, Staff, Sales, Admin, Member, OtherAdmin];
const STAFF: &[Who] = &[VendorAdmin, Staff];
const STAFF_AND_ADMIN: &[Who] = &[VendorAdmin, Staff, Admin];
const VENDOR: &[Who] = &[VendorAdmin, Staff, Sales];

/// Functions anyone may call, signed in or not: signing in and out (and how), who am I, the
/// invitation link's page (the token is the credential), and the renewal banner (the
/// caller's own organisation, empty for a visitor).
const OPEN: &[&str] = &["whoami", "sign_in", "sign_in_options", "sign_out", "get_invitation", "accept_invitation", "renewal_notices"];

/// Initech's things the calls name.
struct Ids {
    entitlement: String,
    request: String,
    instance: String,
    bob: String,
    rule: String,
    api_key: String,
    /// A webhook endpoint a vendor admin made.
    webhook: String,
}

async fn ids(app: &TestApp) -> Ids {
    let ada = app.client_for("ada@initech.example").await;
    let entitlement = json(app.call_as(&ada, "list_entitlements", &[]).await).await[0]["id"].to_string();
    let r = app
        .call_as(&ada, "file_request", &[("entitlement", &entitlement), ("kind", "addon"), ("addon", "audit-log"), ("reason", "Auditors")])
        .await;
    assert!(r.status().is_success() || r.status().is_redirection());
    let request = json(app.call_as(&ada, "list_requests", &[]).await).await[0]["id"].to_string();
    let instance = json(app.call_as(&ada, "list_instances", &[]).await).await["instances"][0]["id"].to_string();
    let seats = json(app.call_as(&ada, "get_seats", &[("entitlement", &entitlement)]).await).await;
    let bob = seats["members"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["email"] == "bob@initech.example"))
        .map(|m| m["id"].to_string())
        .unwrap_or_default();
    let admin = app.client_for("admin@tessera.example").await;
    let catalog = json(app.call_as(&admin, "get_catalog", &[]).await).await;
    let rule = catalog["products"][0]["rules"][0]["id"].to_string();
    let keys = json(app.call_as(&admin, "get_keys", &[]).await).await;
    let api_key = keys["api_keys"][0]["id"].to_string();
    let made = json(app.call_as(&admin, "create_webhook", &[("url", "http://127.0.0.1:9/roles")]).await).await;
    let webhook = made["endpoint"].to_string();
    Ids { entitlement, request, instance, bob, rule, api_key, webhook }
}

/// One row of the table: (function, arguments, who may call it).
type Row = (&'static str, Vec<(&'static str, String)>, &'static [Who]);

fn table(i: &Ids) -> Vec<Row> {
    let s = |v: &str| v.to_owned();
    let e = || ("entitlement", i.entitlement.clone());
    let reason = || ("reason", s("checking roles"));
    let product = || ("product", s("acme-analytics"));
    let hook = || ("id", i.webhook.clone());
    let url = || ("url", s("http://127.0.0.1:9/roles"));
    vec![
        // One's own account.
        ("list_sign_ins", vec![], EVERYONE),
        ("sign_out_everywhere", vec![], EVERYONE),
        (
            "change_password",
            vec![("current", s("not it")), ("password", s("a long new passphrase")), ("confirm", s("a long new passphrase"))],
            EVERYONE,
        ),
        // The customer's portal.
        // Sales see the demo customer only, nothing of real ones.
        ("list_entitlements", vec![("customer", s("initech"))], &[VendorAdmin, Staff, Admin, Member]),
        ("compare_tiers", vec![], EVERYONE),
        ("get_seats", vec![e()], STAFF_AND_ADMIN),
        ("assign_seat", vec![e(), ("email", s("cy@initech.example"))], STAFF_AND_ADMIN),
        ("free_seat", vec![e(), ("email", s("cy@initech.example"))], STAFF_AND_ADMIN),
        ("invite_user", vec![e(), ("email", s("new@initech.example")), ("name", s("New"))], STAFF_AND_ADMIN),
        ("reissue_invitation", vec![e(), ("user", i.bob.clone())], STAFF_AND_ADMIN),
        ("issue_password_reset", vec![e(), ("user", i.bob.clone())], STAFF_AND_ADMIN),
        ("get_usage", vec![("customer", s("initech")), ("days", s("30"))], STAFF_AND_ADMIN),
        ("list_instances", vec![("customer", s("initech"))], STAFF_AND_ADMIN),
        ("deactivate_instance", vec![("id", i.instance.clone())], STAFF_AND_ADMIN),
        ("get_license_key", vec![e()], STAFF_AND_ADMIN),
        ("regenerate_license_key", vec![e()], STAFF_AND_ADMIN),
        ("activate_offline", vec![("customer", s("initech")), ("request", s("not a request"))], STAFF_AND_ADMIN),
        ("deactivate_offline", vec![("customer", s("initech")), ("receipt", s("not a receipt"))], STAFF_AND_ADMIN),
        ("get_change_options", vec![e()], &[Admin]),
        ("preview_change", vec![e(), ("kind", s("plan")), ("plan", s("business"))], &[Admin]),
        ("file_request", vec![e(), ("kind", s("plan")), ("plan", s("enterprise")), reason()], &[Admin]),
        ("list_requests", vec![("customer", s("initech"))], STAFF_AND_ADMIN),
        ("withdraw_request", vec![("id", i.request.clone())], &[Admin]),
        ("list_audit", vec![("customer", s("initech"))], STAFF_AND_ADMIN),
        // Approvals.
        ("list_pending_requests", vec![], STAFF),
        ("get_request_detail", vec![("id", i.request.clone())], STAFF),
        ("decide_request", vec![("id", i.request.clone()), ("decision", s("reject")), ("comment", s("no"))], STAFF),
        // Customers and their entitlements.
        ("list_customers", vec![], VENDOR),
        ("get_dashboard", vec![], STAFF),
        ("view_as_customer", vec![("customer", s("initech"))], STAFF),
        ("open_customer_portal", vec![("customer", s("initech"))], STAFF),
        (
            "create_customer",
            vec![
                ("slug", s("hooli")),
                ("name", s("Hooli")),
                ("admin_email", s("gavin@hooli.example")),
                ("admin_name", s("Gavin")),
                reason(),
            ],
            STAFF,
        ),
        ("grant_entitlement", vec![("customer", s("initech")), product(), ("plan", s("team")), reason()], STAFF),
        ("amend_entitlement", vec![e(), ("plan", s("team")), ("seats", s("12")), reason()], STAFF),
        ("list_proposed_amendments", vec![("customer", s("initech"))], STAFF),
        ("decide_amendment", vec![("id", s("999999")), ("decision", s("approve"))], STAFF),
        ("change_entitlement", vec![e(), ("action", s("renew")), reason()], STAFF),
        // The sales demo.
        ("get_demo", vec![], &[VendorAdmin, Sales]),
        ("switch_demo_plan", vec![("plan", s("business"))], &[VendorAdmin, Sales]),
        ("reset_demo", vec![], &[VendorAdmin, Sales]),
        // The catalog and keys.
        ("get_catalog", vec![], VENDOR),
        (
            "save_plan",
            vec![
                product(),
                ("key", s("team")),
                ("name", s("Team")),
                ("rank", s("1")),
                ("seats", s("10")),
                ("instances", s("3")),
                ("trial_days", s("14")),
                ("grace_days", s("7")),
                reason(),
            ],
            &[VendorAdmin],
        ),
        ("move_plan_version", vec![product(), ("plan", s("team")), reason()], &[VendorAdmin]),
        ("add_product", vec![("key", s("acme-reports")), ("name", s("Acme Reports")), reason()], &[VendorAdmin]),
        ("add_feature", vec![product(), ("key", s("reports.schedule")), ("name", s("Scheduled reports")), reason()], &[VendorAdmin]),
        (
            "add_addon",
            vec![product(), ("key", s("more-seats")), ("name", s("More seats")), ("seats", s("5")), ("instances", s("0")), reason()],
            &[VendorAdmin],
        ),
        ("add_rule", vec![product(), ("effect", s("auto_approve")), ("kind", s("addon"))], &[VendorAdmin]),
        ("retire_rule", vec![("id", i.rule.clone())], &[VendorAdmin]),
        ("get_keys", vec![], &[VendorAdmin]),
        ("create_api_key", vec![product(), ("name", s("CI")), ("enforce", s("on"))], &[VendorAdmin]),
        ("set_api_key_scopes", vec![("id", i.api_key.clone()), ("read", s("on"))], &[VendorAdmin]),
        ("rotate_api_key", vec![("id", i.api_key.clone())], &[VendorAdmin]),
        ("revoke_api_key", vec![("id", i.api_key.clone())], &[VendorAdmin]),
        ("rotate_signing_key", vec![], &[VendorAdmin]),
        ("retire_signing_key", vec![("kid", s("no-such-key"))], &[VendorAdmin]),
        // Webhooks, reads too: where the vendor's systems listen is the vendor admins' alone.
        ("get_webhooks", vec![], &[VendorAdmin]),
        ("create_webhook", vec![url(), ("description", s("Roles"))], &[VendorAdmin]),
        ("update_webhook", vec![hook(), url(), ("description", s("Checking roles"))], &[VendorAdmin]),
        ("set_webhook_enabled", vec![hook(), ("enabled", s("0"))], &[VendorAdmin]),
        ("rotate_webhook_secret", vec![hook(), ("overlap_hours", s("0"))], &[VendorAdmin]),
        ("get_webhook_deliveries", vec![hook()], &[VendorAdmin]),
        // No such delivery: a vendor admin is told so (404), anyone else is refused first.
        ("get_webhook_delivery", vec![("endpoint", i.webhook.clone()), ("id", s("999999"))], &[VendorAdmin]),
        ("resend_webhook_delivery", vec![("endpoint", i.webhook.clone()), ("id", s("999999"))], &[VendorAdmin]),
        ("remove_webhook", vec![hook()], &[VendorAdmin]),
        // Single sign-on: an organisation's own provider and domains; staff confirm domains;
        // vendor admins choose the vendor domains whose new people join as staff.
        ("get_sso", vec![("customer", s("initech"))], STAFF_AND_ADMIN),
        (
            "save_sso_provider",
            vec![
                ("customer", s("initech")),
                ("issuer", s("https://idp.initech.example")),
                ("client_id", s("tessera")),
                ("client_secret", s("roles-secret")),
                ("name", s("Initech ID")),
                ("passwords_allowed", s("on")),
            ],
            STAFF_AND_ADMIN,
        ),
        ("add_sso_domain", vec![("customer", s("initech")), ("domain", s("initech.example"))], STAFF_AND_ADMIN),
        ("confirm_sso_domain", vec![("customer", s("initech")), ("domain", s("initech.example"))], STAFF),
        ("remove_sso_domain", vec![("customer", s("initech")), ("domain", s("initech.example"))], STAFF_AND_ADMIN),
        ("remove_sso_provider", vec![("customer", s("initech"))], STAFF_AND_ADMIN),
        ("get_staff_domains", vec![], &[VendorAdmin]),
        ("set_staff_domain", vec![("domain", s("tessera.example")), ("allow", s("on"))], &[VendorAdmin]),
        // Removing a user last: it changes who holds seats.
        ("remove_user", vec![e(), ("user", i.bob.clone())], STAFF_AND_ADMIN),
    ]
}

#[tokio::test]
async fn the_role_table_covers_every_server_function() {
    let app = spawn_app().await;
    let ids = ids(&app).await;
    let mut covered: BTreeSet<String> = table(&ids).into_iter().map(|(name, ..)| name.to_owned()).collect();
    covered.extend(OPEN.iter().map(|s| (*s).to_owned()));
    assert_eq!(covered, declared_server_functions());
}

async fn refused_unless_allowed(who: Who) {
    let app = spawn_app().await;
    let ids = ids(&app).await;
    let client = match who {
        Visitor => new_client(),
        VendorAdmin => app.client_for("admin@tessera.example").await,
        Staff => app.client_for("staff@tessera.example").await,
        Sales => app.client_for("sales@tessera.example").await,
        Admin => app.client_for("ada@initech.example").await,
        Member => app.client_for("bob@initech.example").await,
        OtherAdmin => app.client_for("grace@globex.example").await,
    };
    for (name, args, allowed) in table(&ids) {
        let form: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = app.call_as(&client, name, &form).await;
        let status = r.status();
        let body = r.text().await.unwrap_or_default();
        if allowed.contains(&who) {
            assert!(
                status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                "{who:?} may call {name} but got {status}: {body}"
            );
        } else if who == Visitor {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{who:?} calling {name}: {body}");
        } else {
            // Another tenant's instance is "not found" to them: refused without saying it exists.
            let refused = status == StatusCode::FORBIDDEN || (who == OtherAdmin && status == StatusCode::NOT_FOUND);
            assert!(refused, "{who:?} calling {name} got {status}: {body}");
        }
    }
}

#[tokio::test]
async fn a_visitor_is_refused_everything_but_signing_in() {
    refused_unless_allowed(Visitor).await;
}

#[tokio::test]
async fn a_vendor_admin_is_refused_only_the_customer_admins_own_functions() {
    refused_unless_allowed(VendorAdmin).await;
}

#[tokio::test]
async fn vendor_staff_are_refused_the_catalog_the_keys_and_the_demo() {
    refused_unless_allowed(Staff).await;
}

#[tokio::test]
async fn sales_are_refused_everything_that_touches_real_customers() {
    refused_unless_allowed(Sales).await;
}

#[tokio::test]
async fn a_customer_admin_is_refused_the_vendors_functions() {
    refused_unless_allowed(Admin).await;
}

#[tokio::test]
async fn a_customer_member_only_reads() {
    refused_unless_allowed(Member).await;
}

#[tokio::test]
async fn another_customers_admin_is_refused_initechs_things() {
    refused_unless_allowed(OtherAdmin).await;
}
