//! Single sign-on as an organisation sets it up: its own OpenID Connect provider, the
//! email domains it answers for (confirmed by the vendor's staff before they route anyone)
//! and its rules (make unknown people members, or refuse them; passwords beside it, or
//! not); and the vendor's own domains whose new people may join as staff. The sign-in
//! flow itself is in `ssr::sso`.

pub mod api;
pub mod pages;

use serde::{Deserialize, Serialize};

/// An organisation's provider as its settings show it: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderView {
    pub issuer: String,
    pub client_id: String,
    /// The provider's name on the sign-in page.
    pub name: String,
    /// An unknown person of the organisation's domains is made a member at first sign-in.
    pub create_users: bool,
    /// The organisation's people may still sign in with a password.
    pub passwords_allowed: bool,
    /// Unix seconds.
    pub updated_at: i64,
}

/// An email domain an organisation claimed for its provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainView {
    pub domain: String,
    pub added_at: i64,
    /// When the vendor's staff confirmed it; until then it routes no one.
    pub confirmed_at: Option<i64>,
}

/// An organisation's single sign-on settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoView {
    pub organisation: String,
    pub slug: String,
    pub provider: Option<ProviderView>,
    pub domains: Vec<DomainView>,
    /// What to register with the provider as the redirect URI, exactly.
    pub redirect_uri: String,
    /// The caller is the vendor's staff, who confirm domains.
    pub confirms: bool,
}

/// The vendor's own domains whose new people join as staff at their first sign-in
/// through the vendor's provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffDomainsView {
    pub domains: Vec<String>,
    /// The vendor's provider's name, when one is configured.
    pub provider: Option<String>,
}
