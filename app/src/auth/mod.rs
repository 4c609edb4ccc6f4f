//! Who is signed in, and what they are.

pub mod api;
pub mod pages;

use serde::{Deserialize, Serialize};

/// What a user is to Tessera. Customer roles belong to one customer (the tenant);
/// vendor roles belong to none and work across customers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    CustomerAdmin,
    CustomerMember,
    VendorAdmin,
    VendorStaff,
    Sales,
}

impl Role {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::CustomerAdmin => "customer_admin",
            Role::CustomerMember => "customer_member",
            Role::VendorAdmin => "vendor_admin",
            Role::VendorStaff => "vendor_staff",
            Role::Sales => "sales",
        }
    }

    /// Parses a stored role name; `None` for anything else.
    pub fn parse(s: &str) -> Option<Role> {
        [Role::CustomerAdmin, Role::CustomerMember, Role::VendorAdmin, Role::VendorStaff, Role::Sales].into_iter().find(|r| r.as_str() == s)
    }

    /// The words shown to people.
    pub fn label(self) -> &'static str {
        match self {
            Role::CustomerAdmin => "Customer admin",
            Role::CustomerMember => "Member",
            Role::VendorAdmin => "Vendor admin",
            Role::VendorStaff => "Vendor staff",
            Role::Sales => "Sales",
        }
    }

    /// True for the vendor's own people.
    pub fn is_vendor(self) -> bool {
        matches!(self, Role::VendorAdmin | Role::VendorStaff | Role::Sales)
    }
}

/// The signed-in user as the UI sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// The customer (tenant) a customer user belongs to; `None` for vendor users.
    pub customer: Option<CustomerRef>,
}

impl CurrentUser {
    /// Where this user starts after signing in.
    pub fn home(&self) -> &'static str {
        match self.role {
            Role::Sales => "/demo",
            Role::VendorAdmin | Role::VendorStaff => "/dashboard",
            Role::CustomerAdmin | Role::CustomerMember => "/entitlements",
        }
    }
}

/// A customer's id, slug and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerRef {
    pub id: i64,
    pub slug: String,
    pub name: String,
}

/// One of a user's live sign-ins, as their account page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInView {
    /// The sign-in of this very browser.
    pub current: bool,
    pub started_at: i64,
    pub last_seen_at: i64,
    /// The client address it signed in from.
    pub address: String,
    /// The browser and system, in a few words (`Chrome on Linux`).
    pub browser: String,
}

/// A few words for a browser's `User-Agent`: the browser and the system it runs on.
pub fn browser_name(user_agent: &str) -> String {
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Chromium/", "Chromium"),
        ("Safari/", "Safari"),
    ]
    .into_iter()
    .find(|(mark, _)| user_agent.contains(mark))
    .map(|(_, name)| name);
    let system =
        [("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iOS"), ("Windows", "Windows"), ("Mac OS X", "macOS"), ("Linux", "Linux")]
            .into_iter()
            .find(|(mark, _)| user_agent.contains(mark))
            .map(|(_, name)| name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b.to_owned(),
        (None, Some(s)) => format!("A browser on {s}"),
        (None, None) if user_agent.is_empty() => "Unknown client".to_owned(),
        (None, None) => user_agent.chars().take(40).collect(),
    }
}

/// Returns `next` when it is a path on this site, else `None`; this keeps the
/// sign-in redirect from sending anyone to another site.
pub fn local_path(next: &str) -> Option<&str> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.len() <= 512
        && next.bytes().all(|b| b.is_ascii_graphic());
    ok.then_some(next)
}

/// What the sign-in page offers beside a password.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInOptions {
    /// The vendor's provider's name: "Sign in with …".
    pub vendor: Option<String>,
    /// Single sign-on by email: the organisation's provider found by the email's domain.
    pub by_email: bool,
}

/// What a user of an organisation that signs in through its own provider only is told
/// when they use a password.
pub fn sso_only_message(provider: &str) -> String {
    format!("Your organisation signs in through {provider}: use \u{201c}Continue with single sign-on\u{201d} with your email.")
}

/// The sign-in page's words for a refused single sign-on, by the code the server sends
/// back with it (`/signin?sso=code`).
pub fn sso_refusal(code: &str) -> Option<&'static str> {
    Some(match code {
        "provider" => "Single sign-on is not available right now: the identity provider could not be reached. Try again, or sign in with your password.",
        "denied" => "The identity provider did not sign you in.",
        "state" => "That single sign-on did not start in this browser, or took too long. Start again.",
        "code" => "The identity provider's answer was already used or not meant for Tessera. Start again.",
        "token" => "The identity provider's answer could not be verified. Start again; if it keeps failing, tell your administrator.",
        "unverified" => "Your identity provider has not verified your email address, so it cannot sign you in here.",
        "unknown" => "No Tessera account may sign in with that identity. Ask your administrator to invite you first.",
        "domain" => "Your identity provider does not answer for your email's domain here. Ask your administrator.",
        "nodomain" => "Single sign-on is not set up for that email's domain. Sign in with your password.",
        "email" => "Enter your work email address to continue with single sign-on.",
        "internal" => "Tessera could not finish signing you in. Try again.",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_round_trips_through_its_stored_name() {
        for role in [Role::CustomerAdmin, Role::CustomerMember, Role::VendorAdmin, Role::VendorStaff, Role::Sales] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn a_browser_is_named_by_its_kind_and_system() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";
        assert_eq!(browser_name(chrome), "Chrome on Linux");
        assert_eq!(browser_name("Mozilla/5.0 (Windows NT 10.0; rv:130.0) Gecko/20100101 Firefox/130.0"), "Firefox on Windows");
        assert_eq!(browser_name("curl/8.5.0"), "curl/8.5.0");
        assert_eq!(browser_name(""), "Unknown client");
    }

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(local_path("/entitlements"), Some("/entitlements"));
        assert_eq!(local_path("/customers/initech?tab=seats"), Some("/customers/initech?tab=seats"));
        for bad in ["https://evil.example/", "//evil.example", "/\\evil.example", "entitlements", "/a b", "/\u{e9}"] {
            assert_eq!(local_path(bad), None, "{bad}");
        }
    }
}
