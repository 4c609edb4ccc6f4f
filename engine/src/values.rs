//! Values people type, parsed once where they come in: an [`Email`], a [`Slug`] or a
//! [`Reason`] is valid by construction, so nothing past that point checks it again. On
//! the wire each is its plain string, and a malformed one does not deserialise.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a typed value was refused, with the words to show next to its field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// Nothing was typed (spaces at most).
    Missing(&'static str),
    /// Something was typed, but not a value of this kind.
    Malformed(&'static str),
}

impl ParseError {
    /// The words to show the person who typed the value.
    pub fn message(self) -> &'static str {
        match self {
            ParseError::Missing(m) | ParseError::Malformed(m) => m,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for ParseError {}

/// An email address: trimmed, lower-case, one `@` with a name before it and a dotted
/// domain after it, no spaces, at most 254 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// The longest address accepted, in bytes.
    pub const MAX_LEN: usize = 254;

    /// Trims and lower-cases `raw` and checks its shape. Errors: `Missing` when nothing
    /// is typed, `Malformed` when it is not shaped like `name@domain`.
    pub fn parse(raw: &str) -> Result<Email, ParseError> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err(ParseError::Missing("Enter your email address."));
        }
        let valid = email.len() <= Email::MAX_LEN
            && email.split_once('@').is_some_and(name_and_domain)
            && !email.chars().any(char::is_whitespace)
            && email.matches('@').count() == 1;
        if valid {
            Ok(Email(email))
        } else {
            Err(ParseError::Malformed("Enter an email address like name@example.com."))
        }
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address, as an owned string.
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Whether the two sides of an address's `@` are a name and a dotted domain that neither
/// starts nor ends with a dot.
fn name_and_domain((local, domain): (&str, &str)) -> bool {
    !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
}

/// A customer's address in the portal (`/customers/initech`): trimmed, lower-case, 2 to
/// 40 letters, digits and dashes, neither starting nor ending with a dash.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);

impl Slug {
    /// Trims and lower-cases `raw` and checks it. Errors: `Missing` when nothing is
    /// typed, `Malformed` for any other character, a dash at either end, or a length
    /// outside 2 to 40.
    pub fn parse(raw: &str) -> Result<Slug, ParseError> {
        const MESSAGE: &str = "Use 2 to 40 lower-case letters, digits and dashes, e.g. initech.";
        let slug = raw.trim().to_lowercase();
        if slug.is_empty() {
            return Err(ParseError::Missing(MESSAGE));
        }
        let valid = (2..=40).contains(&slug.len())
            && slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !slug.starts_with('-')
            && !slug.ends_with('-');
        if valid {
            Ok(Slug(slug))
        } else {
            Err(ParseError::Malformed(MESSAGE))
        }
    }

    /// The slug.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The slug, as an owned string.
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Why vendor staff change an entitlement or a customer (suspend, resume, renew, cancel,
/// grant…): trimmed, 1 to 500 characters. It goes into the audit log, and the customer
/// sees it for a suspension or a cancellation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Reason(String);

impl Reason {
    /// The longest reason accepted, in characters.
    pub const MAX_CHARS: usize = 500;

    /// Trims `raw` and checks its length. Errors: `Missing` when nothing is typed,
    /// `Malformed` when it is over [`Reason::MAX_CHARS`] characters.
    pub fn parse(raw: &str) -> Result<Reason, ParseError> {
        const MESSAGE: &str = "Give the reason (up to 500 characters); it goes into the audit log.";
        let reason = raw.trim();
        if reason.is_empty() {
            return Err(ParseError::Missing(MESSAGE));
        }
        if reason.chars().count() > Reason::MAX_CHARS {
            return Err(ParseError::Malformed(MESSAGE));
        }
        Ok(Reason(reason.to_owned()))
    }

    /// The reason.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The reason, as an owned string.
    pub fn into_inner(self) -> String {
        self.0
    }
}

macro_rules! text_value {
    ($name:ident) => {
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = ParseError;

            fn try_from(raw: String) -> Result<Self, ParseError> {
                $name::parse(&raw)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }
    };
}

text_value!(Email);
text_value!(Slug);
text_value!(Reason);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_is_trimmed_and_lower_cased() {
        assert_eq!(Email::parse("  Ada@Initech.Example ").ok().as_ref().map(Email::as_str), Some("ada@initech.example"));
    }

    #[test]
    fn an_empty_email_is_missing() {
        for blank in ["", "   "] {
            assert_eq!(Email::parse(blank), Err(ParseError::Missing("Enter your email address.")));
        }
    }

    #[test]
    fn an_email_without_an_at_sign_is_refused() {
        assert_eq!(Email::parse("ada.initech.example"), Err(ParseError::Malformed("Enter an email address like name@example.com.")));
    }

    #[test]
    fn an_email_with_two_at_signs_is_refused() {
        assert!(matches!(Email::parse("a@b@c.example"), Err(ParseError::Malformed(_))));
    }

    #[test]
    fn an_email_without_a_name_or_a_dotted_domain_is_refused() {
        for bad in ["ada@", "@initech.example", "ada@initech", "ada@.example", "ada@initech.example."] {
            assert!(matches!(Email::parse(bad), Err(ParseError::Malformed(_))), "{bad:?}");
        }
    }

    #[test]
    fn an_email_with_a_space_inside_is_refused() {
        assert!(matches!(Email::parse("a b@x.example"), Err(ParseError::Malformed(_))));
    }

    #[test]
    fn an_email_over_254_bytes_is_refused() {
        let longest = format!("a@{}.example", "d".repeat(244));
        assert_eq!(longest.len(), Email::MAX_LEN);
        assert!(Email::parse(&longest).is_ok());
        assert!(matches!(Email::parse(&format!("a@{}.example", "d".repeat(245))), Err(ParseError::Malformed(_))));
    }

    #[test]
    fn an_email_travels_as_its_string_and_a_malformed_one_does_not_deserialise() {
        let email = Email::parse("ada@initech.example").ok();
        assert_eq!(email.as_ref().and_then(|e| serde_json::to_string(e).ok()).as_deref(), Some(r#""ada@initech.example""#));
        assert_eq!(serde_json::from_str::<Email>(r#""Ada@Initech.Example""#).ok(), email);
        assert!(serde_json::from_str::<Email>(r#""ada""#).is_err());
    }

    #[test]
    fn a_slug_is_trimmed_and_lower_cased() {
        assert_eq!(Slug::parse(" Initech-2 ").ok().as_ref().map(Slug::as_str), Some("initech-2"));
    }

    #[test]
    fn an_empty_slug_is_missing() {
        assert!(matches!(Slug::parse("  "), Err(ParseError::Missing(_))));
    }

    #[test]
    fn a_slug_with_a_dash_at_either_end_is_refused() {
        for bad in ["-initech", "initech-", "-"] {
            assert_eq!(Slug::parse(bad), Err(ParseError::Malformed("Use 2 to 40 lower-case letters, digits and dashes, e.g. initech.")));
        }
    }

    #[test]
    fn a_slug_of_one_character_or_over_forty_is_refused() {
        assert!(Slug::parse("a").is_err());
        assert!(Slug::parse(&"a".repeat(40)).is_ok());
        assert!(Slug::parse(&"a".repeat(41)).is_err());
    }

    #[test]
    fn a_slug_with_anything_but_letters_digits_and_dashes_is_refused() {
        for bad in ["init_tech", "init tech", "init.tech", "inité"] {
            assert!(matches!(Slug::parse(bad), Err(ParseError::Malformed(_))), "{bad:?}");
        }
    }

    #[test]
    fn a_reason_is_trimmed() {
        assert_eq!(Reason::parse("  Unpaid invoice \n").ok().as_ref().map(Reason::as_str), Some("Unpaid invoice"));
    }

    #[test]
    fn an_empty_reason_is_refused() {
        assert_eq!(Reason::parse(" \t "), Err(ParseError::Missing("Give the reason (up to 500 characters); it goes into the audit log.")));
    }

    #[test]
    fn a_reason_of_500_characters_is_taken_and_one_of_501_is_refused() {
        assert!(Reason::parse(&"é".repeat(500)).is_ok());
        assert!(matches!(Reason::parse(&"é".repeat(501)), Err(ParseError::Malformed(_))));
    }

    #[test]
    fn a_refusal_shows_its_message() {
        assert_eq!(ParseError::Missing("Say why.").to_string(), "Say why.");
        assert_eq!(ParseError::Malformed("Too long.").message(), "Too long.");
    }
}
