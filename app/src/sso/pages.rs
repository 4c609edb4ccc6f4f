//! `/sso`: an organisation's single sign-on (its admin; vendor staff with
//! `?customer=<slug>`), and for vendor admins the vendor domains whose new people join as
//! staff.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::api::{
    get_sso, get_staff_domains, AddSsoDomain, ConfirmSsoDomain, RemoveSsoDomain, RemoveSsoProvider, SaveSsoProvider, SetStaffDomain,
};
use super::{DomainView, SsoView, StaffDomainsView};
use crate::components::fields::TextField;
use crate::components::format::date_time;
use crate::components::layout::{ErrorNotice, Portal};
use crate::components::outcome::form_action;

/// `/sso`: single sign-on settings.
#[component]
pub fn SsoPage() -> impl IntoView {
    let query = use_query_map();
    let customer = Memo::new(move |_| query.read().get("customer").filter(|c| !c.is_empty()));
    let save = form_action::<SaveSsoProvider>();
    let remove = form_action::<RemoveSsoProvider>();
    let add = form_action::<AddSsoDomain>();
    let drop_domain = form_action::<RemoveSsoDomain>();
    let confirm = form_action::<ConfirmSsoDomain>();
    let staff = form_action::<SetStaffDomain>();
    let version = Signal::derive(move || {
        save.version().get() + remove.version().get() + add.version().get() + drop_domain.version().get() + confirm.version().get()
    });
    let settings = Resource::new(move || (customer.get(), version.get()), |(customer, _)| get_sso(customer));
    // The vendor's own domains: vendor admins, on `/sso` without a customer.
    let staff_domains = Resource::new(
        move || (customer.get().is_none(), staff.version().get()),
        |(own, _)| async move {
            if own {
                get_staff_domains().await.ok()
            } else {
                None
            }
        },
    );
    let actions = SsoActions { save, remove, add, drop_domain, confirm };
    view! {
        <Title text="Single sign-on"/>
        <Portal>
            <h1>"Single sign-on"</h1>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let staff_view = staff_domains.await;
                    let settings = settings.await;
                    match (settings, staff_view) {
                        (_, Some(view)) => view! { <StaffDomains view staff/> }.into_any(),
                        (Ok(view), None) => view! { <OrganisationSso view customer=customer.get_untracked() actions/> }.into_any(),
                        (Err(e), None) => view! { <ErrorNotice error=e/> }.into_any(),
                    }
                })}
            </Transition>
        </Portal>
    }
}

#[derive(Clone, Copy)]
struct SsoActions {
    save: ServerAction<SaveSsoProvider>,
    remove: ServerAction<RemoveSsoProvider>,
    add: ServerAction<AddSsoDomain>,
    drop_domain: ServerAction<RemoveSsoDomain>,
    confirm: ServerAction<ConfirmSsoDomain>,
}

/// An organisation's provider, its domains and the redirect URI to register.
#[component]
fn OrganisationSso(view: SsoView, customer: Option<String>, actions: SsoActions) -> impl IntoView {
    let SsoActions { save, remove, add, drop_domain, confirm } = actions;
    let customer = StoredValue::new(customer);
    let customer_input = move || customer.get_value().map(|c| view! { <input type="hidden" name="customer" value=c/> });
    let save_error = move || save.value().get().and_then(Result::err);
    let field = move |name: &'static str| Signal::derive(move || save_error().and_then(|e| e.for_field(name)));
    let saved = move || save.value().get().is_some_and(|r| r.is_ok());
    let add_error = Signal::derive(move || add.value().get().and_then(Result::err).and_then(|e| e.for_field("domain")));
    let other_error = move || {
        [remove.value().get(), drop_domain.value().get(), confirm.value().get()]
            .into_iter()
            .flatten()
            .find_map(Result::err)
            .map(|e| e.for_field("domain").unwrap_or_else(|| e.to_string()))
    };
    let provider = view.provider.clone();
    let existing = provider.is_some();
    let (issuer, client_id, name) = provider.as_ref().map(|p| (p.issuer.clone(), p.client_id.clone(), p.name.clone())).unwrap_or_default();
    let create_users = provider.as_ref().is_some_and(|p| p.create_users);
    let passwords_allowed = provider.as_ref().is_none_or(|p| p.passwords_allowed);
    let slug = view.slug.clone();
    let confirms = view.confirms;
    let domains = view.domains.clone();
    view! {
        <p class="muted">
            {format!("{}'s people can sign in through your own OpenID Connect provider (Okta, Microsoft Entra ID, Google, Keycloak…). ", view.organisation)}
            "Register Tessera with it as a web application using this redirect URI, then enter what it gives you."
        </p>
        <p><code data-testid="redirect-uri">{view.redirect_uri.clone()}</code></p>
        {move || other_error().map(|m| view! { <p class="notice error" role="alert">{m}</p> })}
        <section class="card" aria-labelledby="provider-title">
            <h2 id="provider-title">"Identity provider"</h2>
            {provider.clone().map(|p| view! {
                <p class="muted small">{format!("{} — last changed {}", p.name, date_time(p.updated_at))}</p>
            })}
            {move || saved().then(|| view! { <p class="notice ok" role="status">"Saved."</p> })}
            <ActionForm action=save attr:class="form" attr:novalidate=true>
                {customer_input}
                <TextField id="sso-issuer" name="issuer" label="Issuer URL" value=issuer kind="url" error=field("issuer")/>
                <TextField id="sso-client-id" name="client_id" label="Client id" value=client_id kind="text" error=field("client_id")/>
                <TextField
                    id="sso-client-secret"
                    name="client_secret"
                    label=if existing { "Client secret (leave empty to keep the saved one)" } else { "Client secret" }
                    value=String::new()
                    kind="password"
                    error=field("client_secret")
                />
                <TextField id="sso-name" name="name" label="Name on the sign-in page" value=name kind="text" error=field("name")/>
                <div class="field checkbox">
                    <input id="sso-create-users" type="checkbox" name="create_users" checked=create_users/>
                    <label for="sso-create-users">"Make unknown people of our domains members at their first sign-in (without a seat)"</label>
                </div>
                <div class="field checkbox">
                    <input id="sso-passwords" type="checkbox" name="passwords_allowed" checked=passwords_allowed/>
                    <label for="sso-passwords">"Let our people also sign in with a password"</label>
                </div>
                <button type="submit" class="button primary" disabled=move || save.pending().get()>"Save provider"</button>
            </ActionForm>
            {existing.then(|| view! {
                <ActionForm action=remove attr:class="inline">
                    {customer_input}
                    <button type="submit" class="button danger small">"Remove provider"</button>
                </ActionForm>
            })}
        </section>
        <section class="card" aria-labelledby="domains-title">
            <h2 id="domains-title">"Email domains"</h2>
            <p class="muted">
                "People whose email is at one of these domains are sent to your provider. The vendor confirms each domain before it is used."
            </p>
            <table class="table">
                <thead><tr><th>"Domain"</th><th>"Status"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                <tbody>
                    {domains.into_iter().map(|d| view! { <DomainRow d slug=slug.clone() confirms drop_domain confirm/> }).collect_view()}
                </tbody>
            </table>
            <ActionForm action=add attr:class="form inline-form" attr:novalidate=true>
                {customer_input}
                <TextField id="sso-domain" name="domain" label="Add a domain" value=String::new() kind="text" error=add_error/>
                <button type="submit" class="button secondary">"Add domain"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn DomainRow(
    d: DomainView,
    slug: String,
    confirms: bool,
    drop_domain: ServerAction<RemoveSsoDomain>,
    confirm: ServerAction<ConfirmSsoDomain>,
) -> impl IntoView {
    let status = match d.confirmed_at {
        Some(at) => view! { <span class="badge status-active" title=date_time(at)>"Confirmed"</span> }.into_any(),
        None => view! { <span class="badge status-pending">"Awaiting the vendor's confirmation"</span> }.into_any(),
    };
    let unconfirmed = d.confirmed_at.is_none();
    let domain = d.domain.clone();
    view! {
        <tr data-domain=d.domain.clone()>
            <td><code>{d.domain.clone()}</code></td>
            <td>{status}</td>
            <td class="actions">
                {(confirms && unconfirmed).then(|| {
                    let (slug, domain) = (slug.clone(), domain.clone());
                    view! {
                        <ActionForm action=confirm attr:class="inline">
                            <input type="hidden" name="customer" value=slug/>
                            <input type="hidden" name="domain" value=domain.clone()/>
                            <button type="submit" class="button primary small" aria-label=format!("Confirm {domain}")>"Confirm"</button>
                        </ActionForm>
                    }
                })}
                <ActionForm action=drop_domain attr:class="inline">
                    {confirms.then(|| view! { <input type="hidden" name="customer" value=slug.clone()/> })}
                    <input type="hidden" name="domain" value=domain.clone()/>
                    <button type="submit" class="button danger small" aria-label=format!("Remove {domain}")>"Remove"</button>
                </ActionForm>
            </td>
        </tr>
    }
}

/// The vendor's own domains whose new people join as staff through the vendor's provider.
#[component]
fn StaffDomains(view: StaffDomainsView, staff: ServerAction<SetStaffDomain>) -> impl IntoView {
    let error = Signal::derive(move || staff.value().get().and_then(Result::err).and_then(|e| e.for_field("domain")));
    let note = match view.provider.clone() {
        Some(name) => format!(
            "Vendor staff sign in with {name}. Someone of a domain below who has no account yet is made vendor staff at their first sign-in; anyone else must be added first."
        ),
        None => "No vendor provider is configured (TESSERA_OIDC_ISSUER): staff sign in with passwords.".to_owned(),
    };
    view! {
        <section class="card" aria-labelledby="staff-domains-title">
            <h2 id="staff-domains-title">"New staff through single sign-on"</h2>
            <p class="muted">{note}</p>
            <ul class="plain">
                {view.domains.into_iter().map(|d| {
                    let label = format!("Stop {d}");
                    let (key, shown) = (d.clone(), d.clone());
                    view! {
                        <li data-domain=key>
                            <code>{shown}</code>
                            <ActionForm action=staff attr:class="inline">
                                <input type="hidden" name="domain" value=d/>
                                <button type="submit" class="button danger small" aria-label=label>"Stop"</button>
                            </ActionForm>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <ActionForm action=staff attr:class="form inline-form" attr:novalidate=true>
                <input type="hidden" name="allow" value="on"/>
                <TextField id="staff-domain" name="domain" label="Allow a domain" value=String::new() kind="text" error/>
                <button type="submit" class="button secondary">"Allow"</button>
            </ActionForm>
        </section>
    }
}
