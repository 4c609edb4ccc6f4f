//! Single sign-on settings, as server functions. An organisation's admin sets up its own
//! provider and claims its domains; the vendor's admins and staff may do the same for it
//! (`customer` names it) and they alone confirm a domain. Vendor admins choose the
//! vendor domains whose new people join as staff. Every change is audited.

use leptos::prelude::*;

use super::{SsoView, StaffDomainsView};
use crate::error::AppError;

/// An organisation's single sign-on settings: its provider (no secret), its domains and
/// the redirect URI to register. Its admins, and the vendor's admins and staff.
#[server(prefix = "/api", endpoint = "get_sso")]
pub async fn get_sso(customer: Option<String>) -> Result<SsoView, AppError> {
    use crate::ssr::auth::{Caller, Guard, Roles};
    let Caller { state, user, scope: customer, .. } = Guard::new().role(Roles::MANAGERS).customer(customer.as_deref()).await?;
    let id = crate::engine::CustomerId(customer.id);
    let provider = state.store.identity_provider(id).await?.map(|p| super::ProviderView {
        issuer: p.issuer,
        client_id: p.client_id,
        name: p.name,
        create_users: p.create_users,
        passwords_allowed: p.passwords_allowed,
        updated_at: p.updated_at,
    });
    let domains = state
        .store
        .sso_domains(id)
        .await?
        .into_iter()
        .map(|d| super::DomainView { domain: d.domain, added_at: d.added_at, confirmed_at: d.confirmed_at })
        .collect();
    let slug = customer.slug;
    Ok(SsoView {
        organisation: customer.name,
        slug: slug.clone(),
        provider,
        domains,
        redirect_uri: format!("{}{}", state.public_url, crate::ssr::sso::customer_callback_path(&slug)),
        confirms: user.role.is_vendor(),
    })
}

/// Connects or changes the organisation's provider. `client_secret` left empty keeps the
/// one saved before; `create_users` and `passwords_allowed` are checkboxes.
/// Errors: `Invalid` on the field that is wrong (an issuer that is not https, an empty
/// client id or name, no secret for a new provider).
#[server(prefix = "/api", endpoint = "save_sso_provider")]
pub async fn save_sso_provider(
    customer: Option<String>,
    issuer: String,
    client_id: String,
    client_secret: String,
    name: String,
    create_users: Option<String>,
    passwords_allowed: Option<String>,
) -> Result<(), AppError> {
    use crate::ssr::auth::{Caller, Guard, Roles};
    use crate::ssr::forms::{checkbox, optional, text};
    use crate::store::members::providers::NewProvider;
    let Caller { state, actor, scope: customer, .. } = Guard::new().role(Roles::MANAGERS).customer(customer.as_deref()).await?;
    let issuer = issuer.trim().to_owned();
    let reach = crate::ssr::sso::Reach::organisation(state.public_url.starts_with("https://"));
    if issuer.len() > 512 || !crate::ssr::sso::issuer_allowed(&issuer, reach) {
        return Err(AppError::invalid(
            "issuer",
            "Enter the provider's issuer URL exactly as the provider names it: https://, at a public address.",
        ));
    }
    let client_id = text("client_id", &client_id, 255, "Enter the client id the provider gave Tessera.")?;
    let name = text("name", &name, 60, "Enter the name your people know the provider by (at most 60 characters).")?;
    let secret = optional(Some(&client_secret));
    if secret.is_some_and(|s| s.len() > 1024) {
        return Err(AppError::invalid("client_secret", "That client secret is too long."));
    }
    let new = NewProvider {
        issuer: &issuer,
        client_id: &client_id,
        client_secret: secret,
        name: &name,
        create_users: checkbox(create_users.as_deref()),
        passwords_allowed: checkbox(passwords_allowed.as_deref()),
    };
    if !state.store.save_identity_provider(&actor, crate::engine::CustomerId(customer.id), &new, crate::store::now()).await? {
        return Err(AppError::invalid("client_secret", "Enter the client secret the provider gave Tessera."));
    }
    Ok(())
}

/// Removes the organisation's provider: its people sign in with passwords again.
#[server(prefix = "/api", endpoint = "remove_sso_provider")]
pub async fn remove_sso_provider(customer: Option<String>) -> Result<(), AppError> {
    use crate::ssr::auth::{Caller, Guard, Roles};
    let Caller { state, actor, scope: customer, .. } = Guard::new().role(Roles::MANAGERS).customer(customer.as_deref()).await?;
    state.store.remove_identity_provider(&actor, crate::engine::CustomerId(customer.id), crate::store::now()).await?;
    Ok(())
}

/// Claims an email domain for the organisation's provider; it routes no one until the
/// vendor's staff confirm it. Errors: `Invalid` on `domain` (malformed, or claimed already).
#[server(prefix = "/api", endpoint = "add_sso_domain")]
pub async fn add_sso_domain(customer: Option<String>, domain: String) -> Result<(), AppError> {
    use crate::ssr::auth::{Caller, Guard, Roles};
    let Caller { state, actor, scope: customer, .. } = Guard::new().role(Roles::MANAGERS).customer(customer.as_deref()).await?;
    let domain = crate::ssr::forms::domain("domain", &domain)?;
    state
        .store
        .claim_sso_domain(&actor, crate::engine::CustomerId(customer.id), &domain, crate::store::now())
        .await?
        .map_err(|_| AppError::invalid("domain", "That domain is added already."))
}

/// Removes a domain from the organisation's provider, confirmed or not.
#[server(prefix = "/api", endpoint = "remove_sso_domain")]
pub async fn remove_sso_domain(customer: Option<String>, domain: String) -> Result<(), AppError> {
    use crate::ssr::auth::{Caller, Guard, Roles};
    let Caller { state, actor, scope: customer, .. } = Guard::new().role(Roles::MANAGERS).customer(customer.as_deref()).await?;
    let domain = crate::ssr::forms::domain("domain", &domain)?;
    state
        .store
        .remove_sso_domain(&actor, crate::engine::CustomerId(customer.id), &domain, crate::store::now())
        .await?
        .map_err(|_| AppError::NotFound("Domain".into()))
}

/// The vendor's staff confirm that an organisation's claimed domain is its own: the
/// domain's people are sent to its provider from now on. Errors: `Invalid` on `domain`
/// when it is confirmed for another organisation; `NotFound` when not claimed (or
/// confirmed already).
#[server(prefix = "/api", endpoint = "confirm_sso_domain")]
pub async fn confirm_sso_domain(customer: String, domain: String) -> Result<(), AppError> {
    use crate::ssr::auth::{Caller, Guard, Roles};
    use crate::store::members::providers::DomainRefusal;
    let Caller { state, actor, scope: customer, .. } = Guard::new().role(Roles::STAFF).customer(Some(&customer)).await?;
    let domain = crate::ssr::forms::domain("domain", &domain)?;
    state.store.confirm_sso_domain(&actor, crate::engine::CustomerId(customer.id), &domain, crate::store::now()).await?.map_err(|refusal| {
        match refusal {
            DomainRefusal::TakenElsewhere => AppError::invalid("domain", "That domain is confirmed for another organisation."),
            DomainRefusal::Claimed | DomainRefusal::NotFound => AppError::NotFound("Domain claim".into()),
        }
    })
}

/// The vendor domains whose new people join as staff through the vendor's provider.
/// Vendor admins.
#[server(prefix = "/api", endpoint = "get_staff_domains")]
pub async fn get_staff_domains() -> Result<StaffDomainsView, AppError> {
    use crate::ssr::auth::{Caller, Guard, Roles};
    let Caller { state, .. } = Guard::new().role(Roles::VENDOR_ADMIN).caller().await?;
    Ok(StaffDomainsView { domains: state.store.staff_domains().await?, provider: state.sso.as_ref().map(|p| p.name().to_owned()) })
}

/// Lets new people of a vendor domain join as staff at their first sign-in through the
/// vendor's provider (`allow` ticked), or stops that. Vendor admins; audited.
/// Errors: `Invalid` on `domain`; `NotFound` when there was nothing to change.
#[server(prefix = "/api", endpoint = "set_staff_domain")]
pub async fn set_staff_domain(domain: String, allow: Option<String>) -> Result<(), AppError> {
    use crate::ssr::auth::{Caller, Guard, Roles};
    let Caller { state, actor, .. } = Guard::new().role(Roles::VENDOR_ADMIN).caller().await?;
    let domain = crate::ssr::forms::domain("domain", &domain)?;
    let allow = crate::ssr::forms::checkbox(allow.as_deref());
    if !state.store.set_staff_domain(&actor, &domain, allow, crate::store::now()).await? {
        return Err(if allow {
            AppError::invalid("domain", "That domain is allowed already.")
        } else {
            AppError::NotFound("Domain".into())
        });
    }
    Ok(())
}
