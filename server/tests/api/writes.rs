//! One walk through every change Tessera offers, on one application: each server function
//! and each enforcement API operation that writes is called in turn, records exactly the
//! audit events of its kinds, and the very next answer of the enforcement API shows it.
//! The walk is checked against the server functions the code declares and against the
//! OpenAPI document, so that a new write cannot go unwalked.

use std::collections::BTreeSet;
use std::future::Future;

use app::store::EventKind::{self, *};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json as j, Value};

use crate::helpers::{
    audit_head, audit_kinds_since, declared_server_functions, drop_postgres, json, new_client, postgres_database, spawn_app,
    spawn_app_with, TestApp, PASSWORD,
};

const KEY: &str = "tsk_demo_acme";
const ADA: &str = "ada@initech.example";
const BOB: &str = "bob@initech.example";
const DEE: &str = "dee@initech.example";
const GRACE: &str = "grace@globex.example";
const AL: &str = "al@umbrella.example";
const GAVIN: &str = "gavin@hooli.example";
const PAT: &str = "pat@demo.example";

/// The server functions that change nothing. The walk calls each of them as well, and
/// each must answer without recording an event.
const READ_ONLY: &[&str] = &[
    "whoami",
    "sign_in_options",
    "renewal_notices",
    "get_invitation",
    "list_entitlements",
    "compare_tiers",
    "get_seats",
    "get_usage",
    "list_instances",
    "get_change_options",
    "preview_change",
    "list_requests",
    "list_audit",
    "list_pending_requests",
    "get_request_detail",
    "list_customers",
    "get_dashboard",
    "get_demo",
    "get_catalog",
    "get_keys",
    "list_sign_ins",
    "view_as_customer",
    "list_proposed_amendments",
    "get_sso",
    "get_staff_domains",
    "get_webhooks",
    "get_webhook_deliveries",
    "get_webhook_delivery",
];

/// The enforcement API's operations, other than GETs, that change nothing, and why. The
/// walk calls each, and each must answer without recording an event.
const API_READS: &[(&str, &str)] = &[
    ("POST /api/v1/check", "a decision, answered from memory"),
    ("POST /api/v1/checks", "decisions in a batch, answered from memory"),
    ("POST /api/v1/tokens", "a token signed from memory; nothing is stored"),
];

/// The methods of an OpenAPI path item that may change something.
const CHANGING_METHODS: &[&str] = &["put", "post", "delete", "options", "head", "patch", "trace"];

/// Kinds of the event catalog that no call of the walk records: the benchmark seed alone
/// writes the first; the second is written at start for entitlements granted before
/// license keys existed (the walk's are all granted with one); the third only by
/// `tessera admin create` (tested in first_start.rs); the last two only by a single
/// sign-on, refused or making its user, which needs an identity provider (tested in
/// sso.rs and customer_sso.rs).
const NOT_WALKED: &[EventKind] = &[BenchSeeded, LicenseKeyCreated, UserCreated, UserSsoRefused, UserJoinedBySso];

/// A question to the enforcement API whose answer shows a change.
#[derive(Debug, Clone)]
enum Probe {
    /// `POST /api/v1/check` with an API key.
    Check { key: String, body: Value },
    /// `GET /.well-known/jwks.json`.
    Jwks,
}

/// A check with the demo key.
fn check(body: Value) -> Probe {
    check_with(KEY, body)
}

/// A check with API key `key`.
fn check_with(key: &str, body: Value) -> Probe {
    Probe::Check { key: key.to_owned(), body }
}

/// May `user` of `customer` use `feature`?
fn ask(customer: &str, feature: &str, user: &str) -> Value {
    j!({"customer": customer, "feature": feature, "user": user})
}

/// May instance `id` of `customer` use `feature`?
fn on_instance(customer: &str, feature: &str, id: &Value) -> Value {
    j!({"customer": customer, "feature": feature, "instance": id})
}

/// Ada's report export, asked with the API key that `issued` holds.
fn export_with_issued_key(issued: &Value) -> Probe {
    check_with(issued["key"].as_str().unwrap_or_default(), ask("initech", "reports.export", ADA))
}

/// Dashboards on the instance of Initech that `made` describes.
fn on_made_instance(made: &Value) -> Probe {
    check(on_instance("initech", "dashboards", &made["id"]))
}

/// Dashboards on the instance an air-gapped activation took.
fn on_licensed_instance(licensed: &Value) -> Probe {
    check(on_instance("initech", "dashboards", &licensed["instance"]))
}

/// An air-gapped activation request of the machine `fingerprint`, written now with the
/// demo license key.
fn offline_request(fingerprint: &str, nonce: &str) -> String {
    use tessera_engine::licensing::{ActivationRequest, OfflineDocument};
    let key = app::store::seed::demo_license_key();
    let request =
        ActivationRequest { key: key.id(), fingerprint: fingerprint.into(), name: None, nonce: nonce.into(), issued_at: app::store::now() };
    OfflineDocument::Activation(request).seal(&key)
}

/// The deactivation receipt the machine `fingerprint` writes for `instance`.
fn offline_receipt(instance: &Value, fingerprint: &str, nonce: &str) -> String {
    use tessera_engine::licensing::{DeactivationReceipt, OfflineDocument};
    let key = app::store::seed::demo_license_key();
    let receipt = DeactivationReceipt {
        key: key.id(),
        instance: instance.as_str().unwrap_or_default().into(),
        fingerprint: fingerprint.into(),
        nonce: nonce.into(),
        issued_at: app::store::now(),
    };
    OfflineDocument::Deactivation(receipt).seal(&key)
}

/// What the next answer of the enforcement API shows of a change.
enum Seen {
    /// Asked before and after the call, the answer at the JSON pointer becomes this value.
    Is(Probe, &'static str, Value),
    /// Asked before and after the call, the answer at the JSON pointer changes.
    Moved(Probe, &'static str),
    /// Asked after the call about what it made (an API key, an instance), the answer at
    /// the JSON pointer is this value.
    IsFrom(fn(&Value) -> Probe, &'static str, Value),
}

fn is(probe: Probe, at: &'static str, value: impl Into<Value>) -> Option<Seen> {
    Some(Seen::Is(probe, at, value.into()))
}

fn moved(probe: Probe, at: &'static str) -> Option<Seen> {
    Some(Seen::Moved(probe, at))
}

fn is_from(probe: fn(&Value) -> Probe, at: &'static str, value: impl Into<Value>) -> Option<Seen> {
    Some(Seen::IsFrom(probe, at, value.into()))
}

/// The answer to `probe`, a JSON problem included.
async fn answer(app: &TestApp, probe: &Probe) -> Value {
    let request = match probe {
        Probe::Check { key, body } => app.client.post(app.url("/api/v1/check")).bearer_auth(key).json(body),
        Probe::Jwks => app.client.get(app.url("/.well-known/jwks.json")),
    };
    let r = request.send().await.unwrap_or_else(|e| panic!("{probe:?}: {e}"));
    r.json().await.unwrap_or(Value::Null)
}

/// Sends `method` `path` to the enforcement API with the demo key: the status and the body.
async fn send(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> (StatusCode, String) {
    let mut request = app.client.request(method, app.url(path)).bearer_auth(KEY);
    if let Some(b) = body {
        request = request.json(&b);
    }
    let r = request.send().await.unwrap_or_else(|e| panic!("{path}: {e}"));
    (r.status(), r.text().await.unwrap_or_default())
}

/// Calls server function `name` as `client`: the status and the body.
async fn call_fn(app: &TestApp, client: &Client, name: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
    let r = app.call_as(client, name, form).await;
    (r.status(), r.text().await.unwrap_or_default())
}

/// One application and what has been called on it.
struct Walk<'a> {
    app: &'a TestApp,
    /// The server functions called for their changes.
    functions: BTreeSet<String>,
    /// The enforcement API's operations called for their changes, as the OpenAPI document
    /// names them (`DELETE /api/v1/instances/{id}`).
    operations: BTreeSet<String>,
}

impl Walk<'_> {
    /// Calls server function `name` as `client` with `form`: it must succeed, record
    /// exactly the events `kinds`, in order, and the enforcement API must then answer as
    /// `seen` says. Returns its answer.
    async fn call(&mut self, client: &Client, name: &str, form: &[(&str, &str)], kinds: &[EventKind], seen: Option<Seen>) -> Value {
        self.functions.insert(name.to_owned());
        self.step(format!("{name} {form:?}"), kinds, seen, call_fn(self.app, client, name, form)).await
    }

    /// Calls `operation` of the enforcement API on `path` with the demo key; as [`Walk::call`].
    async fn rest(&mut self, operation: &str, path: &str, body: Option<Value>, kinds: &[EventKind], seen: Option<Seen>) -> Value {
        self.operations.insert(operation.to_owned());
        let method = operation.split(' ').next().and_then(|m| Method::from_bytes(m.as_bytes()).ok());
        let method = method.unwrap_or_else(|| panic!("no method in {operation}"));
        let what = format!("{method} {path} {}", body.clone().unwrap_or_default());
        self.step(what, kinds, seen, send(self.app, method, path, body)).await
    }

    /// Runs the periodic sweep as of `at`; as [`Walk::call`].
    async fn sweep(&self, at: i64, kinds: &[EventKind], seen: Option<Seen>) -> Value {
        let state = &self.app.state;
        let act = async move {
            server::startup::sweep_once(state, at).await;
            (StatusCode::OK, String::new())
        };
        self.step(format!("the sweep as of {at}"), kinds, seen, act).await
    }

    /// Calls server function `name`, which must be refused (4xx) and record exactly `kinds`.
    async fn refused(&self, client: &Client, name: &str, form: &[(&str, &str)], kinds: &[EventKind]) {
        let head = audit_head(self.app).await;
        let (status, text) = call_fn(self.app, client, name, form).await;
        assert!(status.is_client_error(), "{name} {form:?}: {status} {text}");
        let expected: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        assert_eq!(audit_kinds_since(self.app, head).await, expected, "{name} {form:?}: the audit events it recorded");
    }

    /// Calls server function `name`, which must answer and record nothing.
    async fn read(&self, client: &Client, name: &str, form: &[(&str, &str)]) {
        self.step(format!("{name} {form:?}, which only reads"), &[], None, call_fn(self.app, client, name, form)).await;
    }

    async fn step(&self, what: String, kinds: &[EventKind], seen: Option<Seen>, act: impl Future<Output = (StatusCode, String)>) -> Value {
        let app = self.app;
        let before = match &seen {
            Some(Seen::Is(probe, at, _) | Seen::Moved(probe, at)) => {
                Some(answer(app, probe).await.pointer(at).cloned().unwrap_or(Value::Null))
            }
            _ => None,
        };
        let head = audit_head(app).await;
        let (status, text) = act.await;
        assert!(status.is_success(), "{what}: {status} {text}");
        let expected: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        assert_eq!(audit_kinds_since(app, head).await, expected, "{what}: the audit events it recorded");
        let reply: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        match seen {
            None => {}
            Some(Seen::Is(probe, at, want)) => {
                let after = answer(app, &probe).await;
                assert_eq!(after.pointer(at), Some(&want), "{what}: the next answer to {probe:?} is {after}");
                assert_ne!(before.as_ref(), Some(&want), "{what}: {probe:?} answered {want} at {at} before the call already");
            }
            Some(Seen::Moved(probe, at)) => {
                let after = answer(app, &probe).await;
                let now = after.pointer(at).cloned().unwrap_or(Value::Null);
                assert_ne!(Some(now), before, "{what}: the next answer to {probe:?} is unchanged at {at}: {after}");
            }
            Some(Seen::IsFrom(make, at, want)) => {
                let probe = make(&reply);
                let after = answer(app, &probe).await;
                assert_eq!(after.pointer(at), Some(&want), "{what}: the next answer to {probe:?} is {after}");
            }
        }
        reply
    }
}

/// The id of customer `slug`'s first entitlement, as `client` lists it.
async fn entitlement_of(app: &TestApp, client: &Client, slug: &str) -> String {
    json(app.call_as(client, "list_entitlements", &[("customer", slug)]).await).await[0]["id"].to_string()
}

/// The id of user `email` of the organisation of entitlement `ent`, as its admin sees them.
async fn member_id(app: &TestApp, admin: &Client, ent: &str, email: &str) -> String {
    let seats = json(app.call_as(admin, "get_seats", &[("entitlement", ent)]).await).await;
    let member = seats["members"].as_array().and_then(|m| m.iter().find(|m| m["email"] == email));
    member.map(|m| m["id"].to_string()).unwrap_or_else(|| panic!("no {email} in {seats}"))
}

/// The id of the newest request of the caller's organisation.
async fn newest_request(app: &TestApp, admin: &Client) -> String {
    json(app.call_as(admin, "list_requests", &[]).await).await[0]["id"].to_string()
}

/// The id of the live API key named `name`.
async fn live_key_id(app: &TestApp, admin: &Client, name: &str) -> String {
    let keys = json(app.call_as(admin, "get_keys", &[]).await).await;
    let key = keys["api_keys"].as_array().and_then(|k| k.iter().find(|k| k["name"] == name && k["revoked_at"].is_null()));
    key.map(|k| k["id"].to_string()).unwrap_or_else(|| panic!("no live key {name} in {keys}"))
}

/// The id of the newest delivery to webhook endpoint `hook`, as the console lists it. The
/// dispatcher makes deliveries within a second of a commit: it is waited for, 15 s at most.
async fn newest_delivery(app: &TestApp, admin: &Client, hook: &str) -> String {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let log = json(app.call_as(admin, "get_webhook_deliveries", &[("id", hook)]).await).await;
        if let Some(id) = log["deliveries"][0]["id"].as_i64() {
            return id.to_string();
        }
        assert!(std::time::Instant::now() < until, "no delivery to webhook endpoint {hook}: {log}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Walks every change on `app`, in an order where each finds what it needs (a request is
/// filed before it is decided), then every read, then checks that nothing was left out.
async fn walk(app: &TestApp) {
    let ada = app.client_for(ADA).await;
    let staff = app.client_for("staff@tessera.example").await;
    let admin = app.client_for("admin@tessera.example").await;
    let sales = app.client_for("sales@tessera.example").await;
    let ent = entitlement_of(app, &ada, "initech").await;
    let globex = entitlement_of(app, &staff, "globex").await;
    let umbrella = entitlement_of(app, &staff, "umbrella").await;
    let e = ("entitlement", ent.as_str());
    let export = |user: &str| check(ask("initech", "reports.export", user));
    let mut w = Walk { app, functions: BTreeSet::new(), operations: BTreeSet::new() };

    // Notices derived from the state of entitlements: Globex's trial, brought within a week
    // of its end, and its term, ten days off, are told of by the sweep, once.
    let globex_id: i64 = globex.parse().unwrap_or_else(|e| panic!("{globex}: {e}"));
    app.sql("UPDATE entitlements SET trial_ends_at = $1 WHERE id = $2", &[app::store::now() + 5 * 86_400, globex_id]).await;
    w.sweep(app::store::now(), &[EntitlementTrialEnding, EntitlementEnding], None).await;
    w.sweep(app::store::now(), &[], None).await;
    // Its last seat and its last instance slot taken are told of with the change.
    let caps = j!({"seats": 1, "instances": 1});
    let path = format!("/api/v1/entitlements/{globex}");
    w.rest("PATCH /api/v1/entitlements/{id}", &path, Some(caps), &[EntitlementAmended], None).await;
    let grace = app.client_for(GRACE).await;
    let seat = [("entitlement", globex.as_str()), ("email", GRACE)];
    w.call(&grace, "assign_seat", &seat, &[SeatAssigned, SeatCapReached], None).await;
    let machine = j!({"customer": "globex", "fingerprint": "walk-last-slot"});
    w.rest("POST /api/v1/instances", "/api/v1/instances", Some(machine), &[InstanceActivated, InstanceCapReached], None).await;

    // Signing in and out are audited, and so are failed sign-ins and the lock that enough of
    // them sets.
    let visitor = new_client();
    w.call(&visitor, "sign_in", &[("email", "cy@initech.example"), ("password", PASSWORD)], &[UserSignedIn], None).await;
    w.call(&visitor, "sign_out", &[], &[UserSignedOut], None).await;
    let again = new_client();
    w.call(&again, "sign_in", &[("email", "cy@initech.example"), ("password", PASSWORD)], &[UserSignedIn], None).await;
    w.call(&again, "sign_out_everywhere", &[("everywhere", "1")], &[UserSignedOutEverywhere], None).await;
    let guess = [("email", "nobody@initech.example"), ("password", "guess")];
    w.refused(&new_client(), "sign_in", &guess, &[UserSignInFailed]).await;
    app.sql("UPDATE sign_in_failures SET failures = 9, last_failure_at = last_failure_at - 120 WHERE subject = 'account:nobody@initech.example'", &[])
        .await;
    w.refused(&new_client(), "sign_in", &guess, &[UserSignInFailed, UserSignInLocked]).await;

    // The customer's portal: seats, invitations, users and instances.
    w.call(&ada, "free_seat", &[e, ("email", BOB)], &[SeatFreed], is(export(BOB), "/code", "no_seat")).await;
    w.call(&ada, "assign_seat", &[e, ("email", BOB)], &[SeatAssigned], is(export(BOB), "/code", "ok")).await;
    // The seat that comes with an invitation is a second change, with its own event.
    let invite = [e, ("email", DEE), ("name", "Dee Dee"), ("seat", "on")];
    w.call(&ada, "invite_user", &invite, &[UserInvited, SeatAssigned], is(export(DEE), "/code", "ok")).await;
    let dee = member_id(app, &ada, &ent, DEE).await;
    let reissued = w.call(&ada, "reissue_invitation", &[e, ("user", dee.as_str())], &[UserInvitationReissued], None).await;
    let token = reissued["path"].as_str().unwrap_or_default().trim_start_matches("/invite/").to_owned();
    let password = "a long enough password";
    let accept = [("token", token.as_str()), ("password", password), ("confirm", password)];
    w.call(&new_client(), "accept_invitation", &accept, &[UserInvitationAccepted, UserSignedIn], None).await;
    // A password changed by its owner, and one reset with a link an admin made.
    let change = [("current", PASSWORD), ("password", password), ("confirm", password)];
    w.call(&app.client_for(BOB).await, "change_password", &change, &[UserPasswordChanged], None).await;
    let bob = member_id(app, &ada, &ent, BOB).await;
    let reset = w.call(&ada, "issue_password_reset", &[e, ("user", bob.as_str())], &[UserPasswordResetIssued], None).await;
    let token = reset["path"].as_str().unwrap_or_default().trim_start_matches("/invite/").to_owned();
    let renewed = "another long enough password";
    let accept = [("token", token.as_str()), ("password", renewed), ("confirm", renewed)];
    w.call(&new_client(), "accept_invitation", &accept, &[UserPasswordReset, UserSignedIn], None).await;
    w.call(&ada, "remove_user", &[e, ("user", dee.as_str())], &[UserRemoved], is(export(DEE), "/code", "no_seat")).await;
    let instance = json(app.call_as(&ada, "list_instances", &[]).await).await["instances"][0].clone();
    let on_it = check(on_instance("initech", "dashboards", &instance["public_id"]));
    let id = instance["id"].to_string();
    w.call(&ada, "deactivate_instance", &[("id", id.as_str())], &[InstanceDeactivated], is(on_it, "/code", "no_seat")).await;

    // Change requests: filed and withdrawn, approved by a rule, by one person and by two, rejected.
    w.call(&ada, "file_request", &[e, ("kind", "addon"), ("addon", "audit-log"), ("reason", "Auditors")], &[RequestFiled], None).await;
    let filed = newest_request(app, &ada).await;
    w.call(&ada, "withdraw_request", &[("id", filed.as_str())], &[RequestWithdrawn], None).await;
    let seats = |n: i64| is(export(ADA), "/limits/seats", n);
    // Up to five more seats on Team: the seed's rule approves them as they are filed.
    let few = [e, ("kind", "seats"), ("seats", "3"), ("reason", "Two new hires")];
    w.call(&ada, "file_request", &few, &[RequestFiled, RequestAutoApproved], seats(13)).await;
    w.call(&ada, "file_request", &[e, ("kind", "seats"), ("seats", "8"), ("reason", "A new team")], &[RequestFiled], None).await;
    let more = newest_request(app, &ada).await;
    let approve = [("id", more.as_str()), ("decision", "approve"), ("comment", "Granted")];
    w.call(&staff, "decide_request", &approve, &[RequestApproved], seats(21)).await;
    w.call(&ada, "file_request", &[e, ("kind", "addon"), ("addon", "api-boost"), ("reason", "More calls")], &[RequestFiled], None).await;
    let boost = newest_request(app, &ada).await;
    let reject = [("id", boost.as_str()), ("decision", "reject"), ("comment", "Not this quarter")];
    w.call(&staff, "decide_request", &reject, &[RequestRejected], None).await;
    // Two tiers up takes two people: the first approval is recorded, the second applies it.
    w.call(&ada, "file_request", &[e, ("kind", "plan"), ("plan", "enterprise"), ("reason", "Everything")], &[RequestFiled], None).await;
    let upgrade = newest_request(app, &ada).await;
    let approve = [("id", upgrade.as_str()), ("decision", "approve"), ("comment", "Welcome to Enterprise")];
    w.call(&staff, "decide_request", &approve, &[RequestApprovalRecorded], None).await;
    let sso = check(ask("initech", "sso", ADA));
    w.call(&admin, "decide_request", &approve, &[RequestApproved], is(sso, "/code", "ok")).await;

    // The vendor console: customers and their entitlements.
    w.call(&staff, "open_customer_portal", &[("customer", "initech")], &[CustomerViewedAs], None).await;
    let hooli = || check(ask("hooli", "dashboards", GAVIN));
    let customer = [("slug", "hooli"), ("name", "Hooli"), ("admin_email", GAVIN), ("admin_name", "Gavin Belson"), ("reason", "Signed")];
    let created = w.call(&staff, "create_customer", &customer, &[CustomerCreated, UserInvited], is(hooli(), "/code", "not_entitled")).await;
    let invitation = created["path"].as_str().unwrap_or_default().trim_start_matches("/invite/").to_owned();
    let grant = [("customer", "hooli"), ("product", "acme-analytics"), ("plan", "team"), ("reason", "Year one")];
    let granted = w.call(&staff, "grant_entitlement", &grant, &[EntitlementGranted], is(hooli(), "/code", "no_seat")).await;
    let granted = granted.to_string();
    let amend = [("entitlement", granted.as_str()), ("plan", "team"), ("seats", "20"), ("reason", "Twenty seats")];
    w.call(&staff, "amend_entitlement", &amend, &[EntitlementAmended], is(hooli(), "/limits/seats", 20)).await;
    // Two tiers up by staff is what the rules send to two people: proposed by one, applied
    // by another; proposed again and rejected.
    let enterprise = [("entitlement", granted.as_str()), ("plan", "enterprise"), ("seats", "20"), ("reason", "Enterprise deal")];
    w.call(&staff, "amend_entitlement", &enterprise, &[EntitlementAmendmentProposed], None).await;
    let proposal = json(app.call_as(&staff, "list_proposed_amendments", &[("customer", "hooli")]).await).await[0]["id"].to_string();
    let sso = || check(ask("hooli", "sso", GAVIN));
    let approve = [("id", proposal.as_str()), ("decision", "approve")];
    w.call(&admin, "decide_amendment", &approve, &[EntitlementAmended], moved(sso(), "/code")).await;
    let back = [("entitlement", granted.as_str()), ("plan", "team"), ("seats", "20"), ("reason", "Back to Team")];
    w.call(&staff, "amend_entitlement", &back, &[EntitlementAmendmentProposed], None).await;
    let proposal = json(app.call_as(&staff, "list_proposed_amendments", &[("customer", "hooli")]).await).await[0]["id"].to_string();
    let approve = [("id", proposal.as_str()), ("decision", "approve")];
    w.call(&admin, "decide_amendment", &approve, &[EntitlementAmended], moved(sso(), "/code")).await;
    w.call(&staff, "amend_entitlement", &enterprise, &[EntitlementAmendmentProposed], None).await;
    let proposal = json(app.call_as(&staff, "list_proposed_amendments", &[("customer", "hooli")]).await).await[0]["id"].to_string();
    let reject = [("id", proposal.as_str()), ("decision", "reject"), ("comment", "They signed for three years")];
    w.call(&admin, "decide_amendment", &reject, &[EntitlementAmendmentRejected], None).await;
    let suspend = [e, ("action", "suspend"), ("reason", "Payment overdue")];
    w.call(&staff, "change_entitlement", &suspend, &[EntitlementSuspended], is(export(ADA), "/code", "suspended")).await;
    let resume = [e, ("action", "resume"), ("reason", "Paid")];
    w.call(&staff, "change_entitlement", &resume, &[EntitlementResumed], is(export(ADA), "/code", "ok")).await;
    let trial = || check(ask("globex", "dashboards", GRACE));
    let extend = [("entitlement", globex.as_str()), ("action", "extend_trial"), ("days", "7"), ("reason", "Evaluation")];
    w.call(&staff, "change_entitlement", &extend, &[EntitlementTrialEndSet], moved(trial(), "/expires_at")).await;
    let renew = [("entitlement", globex.as_str()), ("action", "renew"), ("reason", "Bought a year")];
    w.call(&staff, "change_entitlement", &renew, &[EntitlementRenewed], moved(trial(), "/expires_at")).await;
    let cancel = [("entitlement", umbrella.as_str()), ("action", "cancel"), ("reason", "Moved to a competitor")];
    let al = check(ask("umbrella", "dashboards", AL));
    w.call(&staff, "change_entitlement", &cancel, &[EntitlementCancelled], is(al, "/code", "not_entitled")).await;

    // The sales demo.
    let demo = || check(ask("demo", "sso", PAT));
    w.call(&sales, "switch_demo_plan", &[("plan", "business")], &[DemoPlanSwitched], is(demo(), "/code", "ok")).await;
    w.call(&sales, "reset_demo", &[], &[DemoReset], is(demo(), "/code", "feature_not_in_plan")).await;

    // The catalog: a new version of Team reaches entitlements only when they are moved.
    let plan = [
        ("product", "acme-analytics"),
        ("key", "team"),
        ("name", "Team"),
        ("rank", "1"),
        ("seats", "10"),
        ("instances", "3"),
        ("trial_days", "14"),
        ("grace_days", "7"),
        ("features[0]", "dashboards"),
        ("features[1]", "reports.export"),
        ("features[2]", "sso"),
        ("features[3]", "api.calls"),
        ("quotas[api.calls]", "10000"),
        ("rules[sso]", "seat"),
        ("reason", "SSO for every team"),
    ];
    w.call(&admin, "save_plan", &plan, &[CatalogPlanSaved], None).await;
    // Demo Co (reset to Team) and Hooli are on Team's first version: one event each.
    let everyone = [("product", "acme-analytics"), ("plan", "team"), ("reason", "Everyone on v2")];
    let both = &[EntitlementPlanVersionMoved, EntitlementPlanVersionMoved];
    w.call(&admin, "move_plan_version", &everyone, both, is(demo(), "/code", "ok")).await;
    let product = [("key", "acme-reports"), ("name", "Acme Reports"), ("reason", "A new line")];
    w.call(&admin, "add_product", &product, &[CatalogProductAdded], None).await;
    let feature = [("product", "acme-analytics"), ("key", "reports.schedule"), ("name", "Scheduled reports"), ("reason", "Roadmap")];
    let scheduled = check(ask("initech", "reports.schedule", ADA));
    w.call(&admin, "add_feature", &feature, &[CatalogFeatureAdded], is(scheduled, "/code", "feature_not_in_plan")).await;
    let addon = [
        ("product", "acme-analytics"),
        ("key", "more-seats"),
        ("name", "More seats"),
        ("seats", "5"),
        ("instances", "0"),
        ("reason", "Upsell"),
    ];
    w.call(&admin, "add_addon", &addon, &[CatalogAddonAdded], None).await;
    let rule = [("product", "acme-analytics"), ("effect", "auto_approve"), ("kind", "addon"), ("plan", "team")];
    let rule = w.call(&admin, "add_rule", &rule, &[CatalogRuleAdded], None).await.to_string();
    w.call(&admin, "retire_rule", &[("id", rule.as_str())], &[CatalogRuleRetired], None).await;

    // API keys: a new one works at once, a rotated or revoked one stops at once.
    let works = is_from(export_with_issued_key, "/code", "ok");
    let create = [("product", "acme-analytics"), ("name", "Walk"), ("enforce", "on")];
    let issued = w.call(&admin, "create_api_key", &create, &[ApiKeyCreated], works).await;
    let old = issued["key"].as_str().unwrap_or_default().to_owned();
    let id = live_key_id(app, &admin, "Walk").await;
    // A key that may only read is refused checks.
    let scoped = is(check_with(&old, ask("initech", "reports.export", ADA)), "/code", "missing_scope");
    w.call(&admin, "set_api_key_scopes", &[("id", id.as_str()), ("read", "on")], &[ApiKeyScopesChanged], scoped).await;
    let stopped = is(check_with(&old, ask("initech", "reports.export", ADA)), "/code", "unauthorized");
    let rotated = w.call(&admin, "rotate_api_key", &[("id", id.as_str())], &[ApiKeyRotated], stopped).await;
    let new = rotated["key"].as_str().unwrap_or_default().to_owned();
    let id = live_key_id(app, &admin, "Walk").await;
    let stopped = is(check_with(&new, ask("initech", "reports.export", ADA)), "/code", "unauthorized");
    w.call(&admin, "revoke_api_key", &[("id", id.as_str())], &[ApiKeyRevoked], stopped).await;

    // Signing keys: the JWKS that the next request reads follows each change.
    let first = answer(app, &Probe::Jwks).await["keys"][0]["kid"].as_str().unwrap_or_default().to_owned();
    w.call(&admin, "rotate_signing_key", &[], &[SigningKeyCreated], moved(Probe::Jwks, "/keys")).await;
    w.call(&admin, "retire_signing_key", &[("kid", first.as_str())], &[SigningKeyRetired], moved(Probe::Jwks, "/keys")).await;

    // The enforcement API.
    let alive = is_from(on_made_instance, "/code", "ok");
    let host = j!({"customer": "initech", "fingerprint": "walk-host"});
    let made = w.rest("POST /api/v1/instances", "/api/v1/instances", Some(host), &[InstanceActivated], alive).await;
    let id = made["id"].as_str().unwrap_or_default().to_owned();
    // A heartbeat is liveness, not a change anyone made: it records nothing, and the
    // instance it keeps alive was alive already.
    w.rest("POST /api/v1/instances/{id}/heartbeat", &format!("/api/v1/instances/{id}/heartbeat"), None, &[], None).await;
    // An offline licence holds the slot until it expires.
    w.rest("POST /api/v1/instances/{id}/licence", &format!("/api/v1/instances/{id}/licence"), None, &[InstanceLicensed], None).await;
    let gone = is(check(on_instance("initech", "dashboards", &made["id"])), "/code", "no_seat");
    w.rest("DELETE /api/v1/instances/{id}", &format!("/api/v1/instances/{id}"), None, &[InstanceDeactivated], gone).await;

    // Air-gapped machines, through the API and through the portal: a request takes a slot,
    // a receipt frees it.
    let alive = is_from(on_licensed_instance, "/code", "ok");
    let document = j!({"document": offline_request("walk-gapped", "walk-nonce-1")});
    let path = "/api/v1/offline/activations";
    let licensed = w.rest("POST /api/v1/offline/activations", path, Some(document), &[InstanceActivated], alive).await;
    let gone = is(check(on_instance("initech", "dashboards", &licensed["instance"])), "/code", "no_seat");
    let document = j!({"document": offline_receipt(&licensed["instance"], "walk-gapped", "walk-nonce-2")});
    let path = "/api/v1/offline/deactivations";
    w.rest("POST /api/v1/offline/deactivations", path, Some(document), &[InstanceDeactivated], gone).await;
    let request = offline_request("walk-portal", "walk-nonce-3");
    let alive = is_from(on_licensed_instance, "/code", "ok");
    let licensed = w.call(&ada, "activate_offline", &[("request", request.as_str())], &[InstanceActivated], alive).await;
    let gone = is(check(on_instance("initech", "dashboards", &licensed["instance"])), "/code", "no_seat");
    let receipt = offline_receipt(&licensed["instance"], "walk-portal", "walk-nonce-4");
    w.call(&ada, "deactivate_offline", &[("receipt", receipt.as_str())], &[InstanceDeactivated], gone).await;

    // The license key: a regenerated one replaces the old at once.
    let by_key = check_with(&app::store::seed::demo_license_key().to_string(), j!({"feature": "reports.export", "user": ADA}));
    w.call(&ada, "regenerate_license_key", &[e], &[LicenseKeyRegenerated], is(by_key, "/code", "unauthorized")).await;
    // Staff reading a customer's key is audited; its own admin reading it is not.
    w.call(&staff, "get_license_key", &[e], &[LicenseKeyViewed], None).await;
    w.read(&ada, "get_license_key", &[e]).await;
    let usage = j!({"events": [{"event_id": "walk-1", "customer": "globex", "feature": "api.calls", "quantity": 1_000_000_000_i64}]});
    let spent = is(check(j!({"customer": "globex", "feature": "api.calls"})), "/code", "quota_exceeded");
    w.rest("POST /api/v1/usage", "/api/v1/usage", Some(usage), &[UsageRecorded, QuotaThresholdReached, QuotaThresholdReached], spent).await;

    // Single sign-on settings route sign-ins only: audited, and nothing enforcement reads.
    let provider = [
        ("issuer", "https://idp.initech.example"),
        ("client_id", "tessera"),
        ("client_secret", "walk-secret"),
        ("name", "Initech ID"),
        ("passwords_allowed", "on"),
    ];
    w.call(&ada, "save_sso_provider", &provider, &[SsoProviderSaved], None).await;
    w.call(&ada, "add_sso_domain", &[("domain", "initech.example")], &[SsoDomainClaimed], None).await;
    let domain = [("customer", "initech"), ("domain", "initech.example")];
    w.call(&staff, "confirm_sso_domain", &domain, &[SsoDomainConfirmed], None).await;
    w.call(&ada, "remove_sso_domain", &[("domain", "initech.example")], &[SsoDomainRemoved], None).await;
    w.call(&ada, "remove_sso_provider", &[], &[SsoProviderRemoved], None).await;
    w.call(&admin, "set_staff_domain", &[("domain", "tessera.example"), ("allow", "on")], &[StaffDomainAllowed], None).await;
    w.call(&admin, "set_staff_domain", &[("domain", "tessera.example")], &[StaffDomainRemoved], None).await;

    // A change asked for at the renewal waits for it: the approval changes nothing yet, and
    // the sweep on the renewal date applies it with its own event (after lapsing Initech's
    // last instance, whose heartbeat is as old as the seed, and Globex's, as old as the walk).
    let next_term = [e, ("kind", "plan"), ("plan", "business"), ("at_renewal", "on"), ("reason", "From next term")];
    w.call(&ada, "file_request", &next_term, &[RequestFiled], None).await;
    let scheduled = newest_request(app, &ada).await;
    let approve = [("id", scheduled.as_str()), ("decision", "approve"), ("comment", "From the renewal")];
    w.call(&staff, "decide_request", &approve, &[RequestApproved], None).await;
    let request = json(app.call_as(&ada, "list_requests", &[]).await).await[0].clone();
    let due = request["applies_at"].as_i64().unwrap_or_else(|| panic!("not scheduled: {request}"));
    w.sweep(due, &[InstanceLapsed, InstanceLapsed, RequestApplied], is(export(ADA), "/plan", "business")).await;

    // The provisioning API: each change in the API key's name, in one transaction, and
    // what enforcement reads is seen by the next check.
    let piper = || check(j!({"customer": "pied-piper", "feature": "api.calls"}));
    let order = j!({"customer": {"external_id": "walk-crm-1", "name": "Pied Piper", "admin": {"email": "richard@piper.example", "name": "Richard"}},
                    "sku": "ACME-TEAM", "quantity": 4, "term_months": 12});
    let placed = [CustomerCreated, UserInvited, EntitlementGranted, OrderPlaced];
    let ordered = w.rest("POST /api/v1/orders", "/api/v1/orders", Some(order), &placed, is(piper(), "/code", "ok")).await;
    let ent = ordered["entitlement"]["id"].as_i64().unwrap_or_default();
    let addon = j!({"customer": {"external_id": "walk-crm-1"}, "sku": "ACME-INSTANCES-5", "quantity": 1});
    let more = is(piper(), "/limits/instances", 8);
    w.rest("POST /api/v1/orders", "/api/v1/orders", Some(addon), &[EntitlementAddonAdded, OrderPlaced], more).await;
    let seats = j!({"seats": 6});
    let path = format!("/api/v1/entitlements/{ent}");
    w.rest("PATCH /api/v1/entitlements/{id}", &path, Some(seats), &[EntitlementAmended], is(piper(), "/limits/seats", 6)).await;
    let path = format!("/api/v1/entitlements/{ent}/suspend");
    let suspended = is(piper(), "/code", "suspended");
    w.rest("POST /api/v1/entitlements/{id}/{action}", &path, Some(j!({"reason": "unpaid"})), &[EntitlementSuspended], suspended).await;
    let path = format!("/api/v1/entitlements/{ent}/license-key/regenerate");
    w.rest("POST /api/v1/entitlements/{id}/license-key/regenerate", &path, None, &[LicenseKeyRegenerated], None).await;
    let co = j!({"slug": "walk-co", "name": "Walk Co", "external_id": "walk-crm-2"});
    w.rest("POST /api/v1/customers", "/api/v1/customers", Some(co), &[CustomerCreated], None).await;
    w.rest("PATCH /api/v1/customers/{customer}", "/api/v1/customers/walk-co", Some(j!({"name": "Walk Company"})), &[CustomerUpdated], None)
        .await;
    let granted = is(check(j!({"customer": "walk-co", "feature": "api.calls"})), "/code", "ok");
    let grant = j!({"customer": "walk-co", "plan": "team"});
    w.rest("POST /api/v1/entitlements", "/api/v1/entitlements", Some(grant), &[EntitlementGranted], granted).await;
    let wendy = j!({"email": "wendy@walk.example", "name": "Wendy", "role": "customer_admin"});
    w.rest("POST /api/v1/customers/{customer}/users", "/api/v1/customers/walk-co/users", Some(wendy), &[UserInvited], None).await;
    let walt = j!({"email": "walt@walk.example", "name": "Walt"});
    let invited =
        w.rest("POST /api/v1/customers/{customer}/users", "/api/v1/customers/walk-co/users", Some(walt), &[UserInvited], None).await;
    let path = format!("/api/v1/customers/walk-co/users/{}", invited["user"]["id"]);
    w.rest("PATCH /api/v1/customers/{customer}/users/{user}", &path, Some(j!({"role": "customer_admin"})), &[UserRoleChanged], None).await;
    w.rest("DELETE /api/v1/customers/{customer}/users/{user}", &path, None, &[UserRemoved], None).await;
    w.rest("PUT /api/v1/skus/{sku}", "/api/v1/skus/WALK-1", Some(j!({"plan": "free"})), &[CatalogSkuSet], None).await;
    w.rest("DELETE /api/v1/skus/{sku}", "/api/v1/skus/WALK-1", None, &[CatalogSkuRemoved], None).await;
    let ask_more = [e, ("kind", "plan"), ("plan", "enterprise"), ("reason", "Growing")];
    w.call(&ada, "file_request", &ask_more, &[RequestFiled], None).await;
    let asked = newest_request(app, &ada).await;
    let path = format!("/api/v1/requests/{asked}/reject");
    w.rest("POST /api/v1/requests/{id}/{decision}", &path, Some(j!({"comment": "Not this quarter"})), &[RequestRejected], None).await;

    // Webhook endpoints through the API: each change audited; none published but a disabling.
    let hook = j!({"url": "http://127.0.0.1:9/walk", "event_types": ["entitlement.resumed"]});
    let made = w.rest("POST /api/v1/webhooks", "/api/v1/webhooks", Some(hook), &[WebhookEndpointCreated], None).await;
    let path = format!("/api/v1/webhooks/{}", made["endpoint"]["id"]);
    w.rest("PATCH /api/v1/webhooks/{endpoint}", &path, Some(j!({"description": "The walk"})), &[WebhookEndpointUpdated], None).await;
    w.rest("PATCH /api/v1/webhooks/{endpoint}", &path, Some(j!({"enabled": false})), &[WebhookEndpointDisabled], None).await;
    w.rest("PATCH /api/v1/webhooks/{endpoint}", &path, Some(j!({"enabled": true})), &[WebhookEndpointEnabled], None).await;
    let rotate = format!("{path}/rotate-secret");
    w.rest("POST /api/v1/webhooks/{endpoint}/rotate-secret", &rotate, Some(j!({"overlap_seconds": 60})), &[WebhookSecretRotated], None)
        .await;
    // A resumption makes a delivery (to a port where nothing listens: it waits to be
    // retried), which is resent by hand.
    let resume = format!("/api/v1/entitlements/{ent}/resume");
    w.rest("POST /api/v1/entitlements/{id}/{action}", &resume, Some(j!({"reason": "paid"})), &[EntitlementResumed], None).await;
    let deliveries = format!("{path}/deliveries");
    let until = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let delivery = loop {
        let (_, text) = send(app, Method::GET, &deliveries, None).await;
        let found: Value = serde_json::from_str(&text).unwrap_or_default();
        if let Some(id) = found["data"][0]["id"].as_i64() {
            break id;
        }
        assert!(std::time::Instant::now() < until, "no delivery of the resumption: {found}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let resend = format!("{deliveries}/{delivery}/resend");
    w.rest("POST /api/v1/webhooks/{endpoint}/deliveries/{delivery}/resend", &resend, None, &[WebhookDeliveryResent], None).await;
    w.rest("DELETE /api/v1/webhooks/{endpoint}", &path, None, &[WebhookEndpointRemoved], None).await;

    // Webhook endpoints in the console: the same changes, audited the same. A disabling is
    // published, and an endpoint enabled again goes on from the event it had reached: it is
    // given its own disabling, a delivery to resend (nothing listens at the address).
    let hook = [("url", "http://127.0.0.1:9/console"), ("description", "The walk"), ("event_types[0]", "entitlement.resumed")];
    let made = w.call(&admin, "create_webhook", &hook, &[WebhookEndpointCreated], None).await;
    let hook = made["endpoint"].to_string();
    let h = ("id", hook.as_str());
    // No type ticked: every published type.
    let every = [h, ("url", "http://127.0.0.1:9/console"), ("description", "The walk, every event")];
    w.call(&admin, "update_webhook", &every, &[WebhookEndpointUpdated], None).await;
    w.call(&admin, "set_webhook_enabled", &[h, ("enabled", "0")], &[WebhookEndpointDisabled], None).await;
    w.call(&admin, "set_webhook_enabled", &[h, ("enabled", "1")], &[WebhookEndpointEnabled], None).await;
    w.call(&admin, "rotate_webhook_secret", &[h, ("overlap_hours", "1")], &[WebhookSecretRotated], None).await;
    let delivery = newest_delivery(app, &admin, &hook).await;
    let resend = [("endpoint", hook.as_str()), ("id", delivery.as_str())];
    w.call(&admin, "resend_webhook_delivery", &resend, &[WebhookDeliveryResent], None).await;
    let spare = w.call(&admin, "create_webhook", &[("url", "http://127.0.0.1:9/spare")], &[WebhookEndpointCreated], None).await;
    let spare = spare["endpoint"].to_string();
    w.call(&admin, "remove_webhook", &[("id", spare.as_str())], &[WebhookEndpointRemoved], None).await;

    // What only reads answers and records nothing.
    for name in READ_ONLY {
        let (client, form): (&Client, Vec<(&str, &str)>) = match *name {
            "whoami" | "renewal_notices" | "list_entitlements" | "compare_tiers" | "list_instances" | "list_requests" | "list_audit" => {
                (&ada, vec![])
            }
            "get_seats" | "get_change_options" => (&ada, vec![e]),
            "get_usage" => (&ada, vec![("days", "30")]),
            "preview_change" => (&ada, vec![e, ("kind", "seats"), ("seats", "2")]),
            "get_invitation" => (&visitor, vec![("token", invitation.as_str())]),
            "sign_in_options" => (&visitor, vec![]),
            "list_pending_requests" | "list_customers" | "get_dashboard" => (&staff, vec![]),
            "get_request_detail" => (&staff, vec![("id", filed.as_str())]),
            "get_demo" => (&sales, vec![]),
            "get_catalog" | "get_keys" => (&admin, vec![]),
            "list_sign_ins" => (&ada, vec![]),
            "list_proposed_amendments" => (&staff, vec![("customer", "hooli")]),
            "get_sso" => (&ada, vec![]),
            "get_staff_domains" => (&admin, vec![]),
            "get_webhooks" => (&admin, vec![]),
            "get_webhook_deliveries" => (&admin, vec![("id", hook.as_str())]),
            "get_webhook_delivery" => (&admin, vec![("endpoint", hook.as_str()), ("id", delivery.as_str())]),
            "view_as_customer" => (&staff, vec![("customer", "initech")]),
            other => panic!("{other} is listed as read-only, but the walk does not call it"),
        };
        w.read(client, name, &form).await;
    }
    for (operation, _) in API_READS {
        let body = match *operation {
            "POST /api/v1/check" => ask("initech", "reports.export", ADA),
            "POST /api/v1/checks" => j!({"checks": [ask("initech", "reports.export", ADA)]}),
            "POST /api/v1/tokens" => j!({"customer": "initech"}),
            other => panic!("{other} is listed as a read, but the walk does not call it"),
        };
        let path = operation.trim_start_matches("POST ");
        w.step(format!("{operation}, which only reads"), &[], None, send(app, Method::POST, path, Some(body))).await;
    }

    // Nothing left out: every server function is walked or read-only...
    let read_only: BTreeSet<String> = READ_ONLY.iter().map(|s| (*s).to_owned()).collect();
    let twice: Vec<_> = w.functions.intersection(&read_only).collect();
    assert!(twice.is_empty(), "walked for their changes, yet listed as read-only: {twice:?}");
    let covered: BTreeSet<String> = w.functions.union(&read_only).cloned().collect();
    let declared = declared_server_functions();
    let missing: Vec<_> = declared.difference(&covered).collect();
    assert!(missing.is_empty(), "server functions neither walked nor listed as read-only: {missing:?}");
    let stale: Vec<_> = covered.difference(&declared).collect();
    assert!(stale.is_empty(), "walked or listed as read-only, but not declared: {stale:?}");

    // ...and every operation of the OpenAPI document but a GET is walked or a read.
    let (status, text) = send(app, Method::GET, "/api/v1/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let doc: Value = serde_json::from_str(&text).unwrap_or_default();
    let documented: BTreeSet<String> = doc["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(path, item)| {
            let methods = item.as_object().into_iter().flatten().map(|(m, _)| m.as_str());
            methods.filter(|m| CHANGING_METHODS.contains(m)).map(move |m| format!("{} {path}", m.to_uppercase()))
        })
        .collect();
    let mut walked = w.operations.clone();
    walked.extend(API_READS.iter().map(|(operation, _)| (*operation).to_owned()));
    assert_eq!(walked, documented, "the operations walked or listed as reads, against those the OpenAPI document describes");
}

#[tokio::test]
async fn every_change_is_audited_once_with_its_kind_and_seen_by_the_next_check() {
    let app = spawn_app().await;
    walk(&app).await;
}

#[tokio::test]
async fn every_change_is_audited_once_with_its_kind_and_seen_by_the_next_check_on_postgresql() {
    let Some((url, name)) = postgres_database().await else { return };
    let app = spawn_app_with(|c| c.database_url = url.clone()).await;
    walk(&app).await;
    drop(app);
    drop_postgres(&name).await;
}

#[tokio::test]
async fn every_kind_the_audit_log_shows_after_the_walk_is_a_name_of_the_event_catalog() {
    let app = spawn_app().await;
    walk(&app).await;
    let admin = app.client_for("admin@tessera.example").await;
    let mut shown: Vec<String> = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let form: Vec<(&str, &str)> = before.as_deref().map(|seq| vec![("before", seq)]).unwrap_or_default();
        let page = json(app.call_as(&admin, "list_audit", &form).await).await;
        let kinds = page["events"].as_array().into_iter().flatten().map(|e| e["kind"].as_str().unwrap_or_default().to_owned());
        shown.extend(kinds);
        match page["next_before"].as_i64() {
            Some(seq) => before = Some(seq.to_string()),
            None => break,
        }
    }
    assert_eq!(shown.len() as i64, audit_head(&app).await, "the audit pages show every event");
    let unknown: Vec<&String> = shown.iter().filter(|k| EventKind::parse(k).is_none()).collect();
    assert!(unknown.is_empty(), "kinds outside the event catalog: {unknown:?}");
    let recorded: BTreeSet<EventKind> = shown.iter().filter_map(|k| EventKind::parse(k)).collect();
    let unwalked: Vec<&str> =
        EventKind::ALL.iter().copied().filter(|k| !recorded.contains(k) && !NOT_WALKED.contains(k)).map(EventKind::as_str).collect();
    assert!(unwalked.is_empty(), "kinds of the event catalog that no call of the walk records: {unwalked:?}");
}
