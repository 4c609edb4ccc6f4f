//! Who is calling: the session's user, loaded fresh from the store on every call, and
//! the one guard every server function starts with.

use tower_sessions::Session;

use super::{internal, AppState, StoreResultExt};
use crate::auth::{CurrentUser, CustomerRef, Role};
use crate::error::AppError;
use crate::store::audit::Actor;
use crate::store::demo::DEMO_SLUG;
use crate::store::entitlements::EntitlementFacts;
use crate::store::members::sign_ins::Client;

/// The session key holding the handle of the sign-in the session belongs to.
pub const SIGN_IN_KEY: &str = "sign_in";
/// The session key holding when the session last renewed itself: writing it moves the
/// cookie's and the stored session's idle expiry along with the user's activity.
const RENEWED_KEY: &str = "renewed_at";
/// How often (seconds, at most) a used sign-in records that it was used.
const RENEW_EVERY: i64 = 60;

/// The address of the client that sent the request, as the server saw it (the peer, or
/// the forwarded address from a proxy the deployment trusts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddress(pub String);

/// The request's session.
pub async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>().await.map_err(|e| internal("session layer", e))
}

/// Where the request came from: its client address and browser.
pub fn client() -> Client {
    leptos::prelude::use_context::<axum::http::request::Parts>().map(|p| client_of(&p)).unwrap_or_default()
}

/// Where the request with `parts` came from: its client address and browser.
pub fn client_of(parts: &axum::http::request::Parts) -> Client {
    let address = parts.extensions.get::<ClientAddress>().map(|a| a.0.clone()).unwrap_or_default();
    let user_agent = parts.headers.get(axum::http::header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    Client { address, user_agent }
}

/// Signs user `user_id` in on this request's session, under a new session id (an id
/// planted before sign-in is worthless after it) and a new sign-in, audited.
pub async fn start_session(user_id: i64) -> Result<(), AppError> {
    begin_sign_in(&session().await?, &AppState::current()?, user_id, &client(), None).await
}

/// Signs user `user_id` in on `session` as [`start_session`] does, with a password
/// (`provider` `None`) or through the single sign-on of `provider` (its issuer).
pub async fn begin_sign_in(
    session: &Session,
    state: &AppState,
    user_id: i64,
    client: &Client,
    provider: Option<&str>,
) -> Result<(), AppError> {
    let handle = new_sign_in_handle();
    let now = crate::store::now();
    state.store.start_sign_in_by(user_id, &handle, client, provider, now).await?;
    attach_sign_in(session, &handle, now).await
}

/// The handle a new sign-in is recorded under: 128 random bits.
pub fn new_sign_in_handle() -> String {
    crate::engine::licensing::hex(&rand::random::<[u8; 16]>())
}

/// The last step of a sign-in: the session gets a new id and names the sign-in `handle`
/// recorded at `now`.
pub async fn attach_sign_in(session: &Session, handle: &str, now: i64) -> Result<(), AppError> {
    session.cycle_id().await.map_err(|e| internal("session cycle", e))?;
    session.insert(SIGN_IN_KEY, handle).await.map_err(|e| internal("session write", e))?;
    session.insert(RENEWED_KEY, now).await.map_err(|e| internal("session write", e))?;
    Ok(())
}

/// The signed-in user, or `None`. A sign-in that was ended, idled out or outlived its
/// lifetime, and a user removed or disabled since, count as signed out.
pub async fn current_user() -> Result<Option<CurrentUser>, AppError> {
    Ok(signed_in().await?.map(|(user, _)| user))
}

/// The signed-in user and the handle of their sign-in, or `None`; renews a used sign-in
/// (at most once a minute) so that idle time counts from the last request.
pub async fn signed_in() -> Result<Option<(CurrentUser, String)>, AppError> {
    signed_in_on(&session().await?, &AppState::current()?).await
}

/// As [`signed_in`], for a plain axum handler (a download, not a server function), with
/// the session and state it extracted.
pub async fn signed_in_on(session: &Session, state: &AppState) -> Result<Option<(CurrentUser, String)>, AppError> {
    let Some(handle) = session.get::<String>(SIGN_IN_KEY).await.map_err(|e| internal("session read", e))? else {
        return Ok(None);
    };
    let now = crate::store::now();
    let Some(found) = state.store.find_signed_in(&handle, now, state.sessions).await? else {
        // Ended elsewhere or expired: the cookie names nothing any more.
        session.flush().await.map_err(|e| internal("session flush", e))?;
        return Ok(None);
    };
    if now - found.last_seen_at >= (state.sessions.idle / 8).clamp(1, RENEW_EVERY) {
        state.store.touch_sign_in(&handle, now).await?;
        session.insert(RENEWED_KEY, now).await.map_err(|e| internal("session write", e))?;
    }
    Ok(Some((found.user, handle)))
}

/// A set of roles: who a server function admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles(u8);

impl Roles {
    /// A customer's admins.
    pub const CUSTOMER_ADMIN: Roles = Roles::of(Role::CustomerAdmin);
    /// The vendor's admins.
    pub const VENDOR_ADMIN: Roles = Roles::of(Role::VendorAdmin);
    /// The vendor's admins and staff: the console.
    pub const STAFF: Roles = Roles::VENDOR_ADMIN.or(Roles::of(Role::VendorStaff));
    /// Every vendor user: admins, staff and sales.
    pub const VENDOR: Roles = Roles::STAFF.or(Roles::of(Role::Sales));
    /// Who manages a customer's seats, users, instances, requests and audit log: its own
    /// admins, and the vendor's admins and staff.
    pub const MANAGERS: Roles = Roles::STAFF.or(Roles::CUSTOMER_ADMIN);
    /// Who runs the sales demo: sales and the vendor's admins.
    pub const DEMO: Roles = Roles::of(Role::Sales).or(Roles::VENDOR_ADMIN);
    /// Every signed-in user.
    pub const ANY: Roles = Roles::VENDOR.or(Roles::CUSTOMER_ADMIN).or(Roles::of(Role::CustomerMember));

    /// Just `role`.
    pub const fn of(role: Role) -> Roles {
        Roles(match role {
            Role::CustomerAdmin => 1,
            Role::CustomerMember => 1 << 1,
            Role::VendorAdmin => 1 << 2,
            Role::VendorStaff => 1 << 3,
            Role::Sales => 1 << 4,
        })
    }

    /// These roles and `other`'s.
    pub const fn or(self, other: Roles) -> Roles {
        Roles(self.0 | other.0)
    }

    /// True when `role` is one of these.
    pub const fn admits(self, role: Role) -> bool {
        (self.0 & Roles::of(role).0) != 0
    }
}

/// The check a server function starts with: which roles it admits ([`Guard::role`]),
/// then what the caller asks to touch: nothing more ([`Guard::caller`]), a customer
/// ([`Guard::customer`], [`Guard::customer_or_all`]) or an entitlement
/// ([`Guard::entitlement`]). Every check answers `Unauthenticated` when nobody is signed
/// in and `Forbidden` for a role it does not admit, then with the [`Caller`].
///
/// ```ignore
/// let Caller { state, actor, scope: customer, .. } = Guard::new().role(Roles::MANAGERS).customer(slug).await?;
/// ```
#[derive(Debug, Clone, Copy)]
#[must_use = "a guard checks nothing until one of its checks is awaited"]
pub struct Guard {
    roles: Roles,
}

impl Default for Guard {
    fn default() -> Self {
        Guard::new()
    }
}

impl Guard {
    /// A guard that admits every signed-in user.
    pub fn new() -> Guard {
        Guard { roles: Roles::ANY }
    }

    /// Admits only `roles`.
    pub fn role(self, roles: Roles) -> Guard {
        Guard { roles }
    }

    /// The signed-in caller. Errors: `Unauthenticated` when nobody is signed in;
    /// `Forbidden` for a role not admitted, and for a customer user without a customer.
    pub async fn caller(self) -> Result<Caller, AppError> {
        self.caller_on(&session().await?, AppState::current()?).await
    }

    /// As [`Guard::caller`], for a plain axum handler (a download, not a server
    /// function), with the session and state it extracted.
    pub async fn caller_on(self, session: &Session, state: AppState) -> Result<Caller, AppError> {
        let (user, _) = signed_in_on(session, &state).await?.ok_or(AppError::Unauthenticated)?;
        if !self.roles.admits(user.role) || (!user.role.is_vendor() && user.customer.is_none()) {
            return Err(AppError::Forbidden);
        }
        let actor = Actor::user(user.id, &user.email);
        Ok(Caller { state, user, actor, scope: () })
    }

    /// The caller and the customer they ask about: a customer user's own organisation
    /// (`requested` is `None` or its slug), or the one a vendor user names by slug.
    /// Errors as [`Guard::caller`], and: `Forbidden` when a customer user names another
    /// organisation; `Invalid` on `customer` when a vendor user names none; `NotFound`
    /// for a slug no customer has.
    pub async fn customer(self, requested: Option<&str>) -> Result<Caller<CustomerRef>, AppError> {
        let caller = self.caller().await?;
        let customer = match (caller.own_customer(), requested) {
            (Some(own), None) => own.clone(),
            (Some(own), Some(slug)) if slug == own.slug => own.clone(),
            (Some(_), Some(_)) => return Err(AppError::Forbidden),
            (None, None) if caller.is_sales() => caller.demo_customer().await?,
            (None, None) => return Err(AppError::invalid("customer", "Choose a customer.")),
            (None, Some(slug)) if caller.is_sales() && slug != DEMO_SLUG => return Err(AppError::Forbidden),
            (None, Some(slug)) => caller.state.store.find_customer_by_slug(slug).await.or_not_found("Customer")?,
        };
        Ok(caller.with(customer))
    }

    /// As [`Guard::customer`], except that a vendor user who names no customer asks
    /// about every customer (`None`).
    pub async fn customer_or_all(self, requested: Option<&str>) -> Result<Caller<Option<CustomerRef>>, AppError> {
        self.caller().await?.customer_or_all(requested).await
    }

    /// The caller and entitlement `id` with its facts, when it is theirs to touch: their
    /// own organisation's for a customer user, any for a vendor user. Errors as
    /// [`Guard::caller`], and `Forbidden` for another organisation's entitlement and an
    /// unknown one alike, so that nobody learns which ids exist.
    pub async fn entitlement(self, id: i64) -> Result<Caller<EntitlementFacts>, AppError> {
        let caller = self.caller().await?;
        let facts = caller.state.store.entitlement_facts(id).await.or_when_missing(|| AppError::Forbidden)?;
        let within_reach = match caller.own_customer() {
            Some(own) => own.id == facts.customer_id,
            None if caller.is_sales() => caller.demo_customer().await?.id == facts.customer_id,
            None => true,
        };
        if !within_reach {
            return Err(AppError::Forbidden);
        }
        Ok(caller.with(facts))
    }
}

/// A caller the [`Guard`] let through: the request's state, the signed-in user, the
/// actor their changes are audited as, and in `scope` what the guard checked they may
/// touch (`()`, a [`CustomerRef`], an optional one, or an entitlement's
/// [`EntitlementFacts`]).
#[derive(Debug, Clone)]
pub struct Caller<S = ()> {
    /// The request's application state.
    pub state: AppState,
    /// The signed-in user, as loaded for this request.
    pub user: CurrentUser,
    /// Who the audit log records for the caller's changes.
    pub actor: Actor,
    /// What the guard checked the caller may touch.
    pub scope: S,
}

impl<S> Caller<S> {
    /// The organisation the caller is confined to: their own for a customer user; `None`
    /// for a vendor user, who acts across customers.
    pub fn own_customer(&self) -> Option<&CustomerRef> {
        self.user.customer.as_ref()
    }

    /// True for sales, who see the demo customer and nothing of real ones.
    pub fn is_sales(&self) -> bool {
        self.user.role == Role::Sales
    }

    /// The demo customer, the only one sales may see.
    async fn demo_customer(&self) -> Result<CustomerRef, AppError> {
        self.state.store.find_customer_by_slug(DEMO_SLUG).await.or_not_found("Demo customer")
    }

    fn with<T>(self, scope: T) -> Caller<T> {
        Caller { state: self.state, user: self.user, actor: self.actor, scope }
    }
}

impl Caller {
    /// The customer this caller asks about, as [`Guard::customer_or_all`] decides it: a
    /// customer user's own organisation, the one a vendor user names by slug, or every
    /// customer (`None`) for a vendor user who names none. Errors: `Forbidden` when a
    /// customer user names another organisation (and sales a real customer); `NotFound`
    /// for a slug no customer has.
    pub async fn customer_or_all(self, requested: Option<&str>) -> Result<Caller<Option<CustomerRef>>, AppError> {
        let customer = match (self.own_customer(), requested) {
            (Some(own), None) => Some(own.clone()),
            (Some(own), Some(slug)) if slug == own.slug => Some(own.clone()),
            (Some(_), Some(_)) => return Err(AppError::Forbidden),
            (None, None) if self.is_sales() => Some(self.demo_customer().await?),
            (None, None) => None,
            (None, Some(slug)) if self.is_sales() && slug != DEMO_SLUG => return Err(AppError::Forbidden),
            (None, Some(slug)) => Some(self.state.store.find_customer_by_slug(slug).await.or_not_found("Customer")?),
        };
        Ok(self.with(customer))
    }
}
