//! The portal frame: who is signed in, the header with its navigation and Sign out,
//! and the guard that sends visitors to sign-in.

use leptos::prelude::*;
use leptos_router::components::{Redirect, A};
use leptos_router::hooks::use_location;

use super::format::{date, days_left, encode_query_value};
use crate::auth::api::{get_current_user, SignOut};
use crate::auth::{CurrentUser, Role};
use crate::components::outcome::form_action;
use crate::error::AppError;
use crate::renewals::api::renewal_notices;

/// The signed-in user, re-read from the server on every navigation so that a session
/// ended elsewhere is noticed at once.
#[derive(Clone, Copy)]
pub struct Auth {
    pub user: Resource<Result<Option<CurrentUser>, AppError>>,
}

/// The role of the signed-in user, once it is known (none for a visitor or on an error).
/// Awaited inside a `Suspend`, as every read of a resource is, so the browser takes over the
/// page the server drew.
pub async fn role_of(auth: Auth) -> Option<Role> {
    auth.user.await.ok().flatten().map(|u| u.role)
}

/// Provides [`Auth`] to everything inside it.
#[component]
pub fn AuthProvider(children: Children) -> impl IntoView {
    let location = use_location();
    let user = Resource::new_blocking(move || location.pathname.get(), |_| get_current_user());
    provide_context(Auth { user });
    children()
}

/// The frame of every signed-in page. Visitors are redirected to sign-in, and back to
/// this page afterwards.
///
/// The page is made once, as the frame is, beside the wait for the user rather than after
/// it: what it reads is then created in the same order on the server and in the browser,
/// however often the server looks at the frame while it waits.
#[component]
pub fn Portal(children: Children) -> impl IntoView {
    let auth = expect_context::<Auth>();
    let location = use_location();
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match auth.user.await {
                    Ok(Some(user)) => view! { <Header user/> }.into_any(),
                    Ok(None) => {
                        let here = location.pathname.get_untracked();
                        let search = location.search.get_untracked();
                        let next = if search.is_empty() { here } else { format!("{here}?{search}") };
                        let to = format!("/signin?next={}", encode_query_value(&next));
                        view! { <Redirect path=to/> }.into_any()
                    }
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                }
            })}
        </Transition>
        <RenewalBanner/>
        <main class="page">{children()}</main>
    }
}

/// The top bar: brand, navigation for the user's role, who is signed in, Sign out.
#[component]
fn Header(user: CurrentUser) -> impl IntoView {
    let sign_out = form_action::<SignOut>();
    let org = user.customer.as_ref().map(|c| c.name.clone()).unwrap_or_else(|| "Vendor console".to_owned());
    let nav = match user.role {
        Role::VendorAdmin => view! {
            <A href="/dashboard">"Dashboard"</A>
            <A href="/customers">"Customers"</A>
            <A href="/approvals">"Approvals"</A>
            <A href="/audit">"Audit log"</A>
            <A href="/tiers">"Plans"</A>
            <A href="/catalog">"Catalog"</A>
            <A href="/webhooks">"Webhooks"</A>
            <A href="/sso">"Staff sign-in"</A>
        }
        .into_any(),
        Role::VendorStaff => view! {
            <A href="/dashboard">"Dashboard"</A>
            <A href="/customers">"Customers"</A>
            <A href="/approvals">"Approvals"</A>
            <A href="/audit">"Audit log"</A>
            <A href="/tiers">"Plans"</A>
        }
        .into_any(),
        Role::Sales => view! {
            <A href="/demo">"Demo"</A>
            <A href="/tiers">"Plans"</A>
            <A href="/customers">"Customers"</A>
        }
        .into_any(),
        Role::CustomerAdmin => view! {
            <A href="/entitlements">"Entitlements"</A>
            <A href="/usage">"Usage"</A>
            <A href="/instances">"Instances"</A>
            <A href="/renewals">"Renewals"</A>
            <A href="/requests">"Requests"</A>
            <A href="/audit">"Audit log"</A>
            <A href="/sso">"Single sign-on"</A>
        }
        .into_any(),
        Role::CustomerMember => view! { <A href="/entitlements">"Entitlements"</A> }.into_any(),
    };
    view! {
        <header class="topbar">
            <a class="brand" href=user.home()>"Tessera"</a>
            <span class="org">{org}</span>
            <nav aria-label="Main">{nav}</nav>
            <a class="who" href="/account" title="Your account and sign-ins">
                <span class="who-name">{user.name.clone()}</span>
                <span class="who-role">{user.role.label()}</span>
            </a>
            <ActionForm action=sign_out attr:class="signout">
                <button type="submit" class="button secondary">"Sign out"</button>
            </ActionForm>
        </header>
    }
}

/// The banner on every page of a customer's portal while something ends within 30 days
/// (vendor users are told of none).
#[component]
fn RenewalBanner() -> impl IntoView {
    let location = use_location();
    let notices = Resource::new(move || location.pathname.get(), |_| renewal_notices());
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let list = notices.await.unwrap_or_default();
                (!list.is_empty()).then(|| view! {
                    <aside class="banner" aria-label="Renewal notice">
                        <ul>
                            {list.into_iter().map(|n| view! {
                                <li>{format!("{}: {} on {} ({}).", n.product, n.what.to_lowercase(), date(n.on), days_left(n.days_left))}</li>
                            }).collect_view()}
                        </ul>
                        <a href="/renewals">"See renewals"</a>
                    </aside>
                })
            })}
        </Transition>
    }
}

/// An error as people should read it.
#[component]
pub fn ErrorNotice(error: AppError) -> impl IntoView {
    view! { <p class="notice error" role="alert">{error.to_string()}</p> }
}

/// The page for an address that leads nowhere.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <main class="page narrow">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. " <a href="/">"Go to your portal"</a> "."</p>
        </main>
    }
}
