//! What forms send, parsed once into what server functions work with: one function per
//! kind of input. Each error is `Invalid` on the form field it names, in the words the
//! form shows next to that field.

use std::ops::RangeInclusive;

use chrono::NaiveDate;

use crate::engine::{Email, Reason, Slug};
use crate::error::AppError;

/// An optional text field: trimmed, and `None` when absent or empty.
pub fn optional(raw: Option<&str>) -> Option<&str> {
    raw.map(str::trim).filter(|s| !s.is_empty())
}

/// A checkbox: a ticked box is sent with its value (`on` unless the form says otherwise),
/// an unticked one not at all; so it is on when the field is present.
pub fn checkbox(raw: Option<&str>) -> bool {
    raw.is_some()
}

/// A trimmed, non-empty text of at most `max` characters; `Invalid` on `field` with
/// `message` otherwise.
pub fn text(field: &str, raw: &str, max: usize, message: &str) -> Result<String, AppError> {
    let t = raw.trim();
    if t.is_empty() || t.chars().count() > max {
        return Err(AppError::invalid(field, message));
    }
    Ok(t.to_owned())
}

/// The reason staff give for a change, for the audit log (see [`Reason`]); `Invalid` on
/// `reason` when it is empty or too long.
pub fn reason(raw: &str) -> Result<Reason, AppError> {
    Reason::parse(raw).map_err(|e| AppError::invalid("reason", e.message()))
}

/// An email address (see [`Email`]); `Invalid` on `field` when it is empty or not
/// shaped like `name@domain`.
pub fn email(field: &str, raw: &str) -> Result<Email, AppError> {
    Email::parse(raw).map_err(|e| AppError::invalid(field, e.message()))
}

/// A customer's slug, its address in the portal (see [`Slug`]); `Invalid` on `field`
/// when it is malformed.
pub fn slug(field: &str, raw: &str) -> Result<Slug, AppError> {
    Slug::parse(raw).map_err(|e| AppError::invalid(field, e.message()))
}

/// A catalog key (of a product, feature, plan or add-on): trimmed, 1 to 40 lower-case
/// letters, digits, dots and dashes; `Invalid` on `field` otherwise.
pub fn key(field: &str, raw: &str) -> Result<String, AppError> {
    let k = raw.trim();
    let valid = (1..=40).contains(&k.len()) && k.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    if valid {
        Ok(k.to_owned())
    } else {
        Err(AppError::invalid(field, "Use 1 to 40 lower-case letters, digits, dots and dashes."))
    }
}

/// A whole number from 0 to `hi`; `Invalid` on `field` otherwise.
pub fn whole(field: &str, raw: &str, hi: i64) -> Result<i64, AppError> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| (0..=hi).contains(n))
        .ok_or_else(|| AppError::invalid(field, format!("A whole number from 0 to {hi}.")))
}

/// An optional whole number in `range`: `None` when empty; `Invalid` on `field` with
/// `message` when it is not a whole number in range.
pub fn number(field: &str, raw: Option<&str>, range: RangeInclusive<i64>, message: &str) -> Result<Option<i64>, AppError> {
    match optional(raw) {
        None => Ok(None),
        Some(s) => match s.parse::<i64>() {
            Ok(n) if range.contains(&n) => Ok(Some(n)),
            _ => Err(AppError::invalid(field, message)),
        },
    }
}

/// A count of days in `range`; `Invalid` on `field` with `message` when it is outside it
/// or missing.
pub fn days(field: &str, raw: Option<i64>, range: RangeInclusive<i64>, message: &str) -> Result<i64, AppError> {
    raw.filter(|d| range.contains(d)).ok_or_else(|| AppError::invalid(field, message))
}

/// An optional date (YYYY-MM-DD): `None` when empty; `Invalid` on `field` with `message`
/// when it is not a date.
pub fn date(field: &str, raw: Option<&str>, message: &str) -> Result<Option<NaiveDate>, AppError> {
    match optional(raw) {
        None => Ok(None),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d").map(Some).map_err(|_| AppError::invalid(field, message)),
    }
}

/// Region codes (letters, digits, dashes), comma-separated, lower-cased and joined with
/// commas; `None` when there are none; `Invalid` on `regions` for more than 50 codes or
/// a malformed one.
pub fn regions(raw: Option<&str>) -> Result<Option<String>, AppError> {
    let codes: Vec<String> = raw.unwrap_or("").split(',').map(|r| r.trim().to_lowercase()).filter(|r| !r.is_empty()).collect();
    if codes.is_empty() {
        return Ok(None);
    }
    let valid = codes.len() <= 50 && codes.iter().all(|c| c.len() <= 20 && c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-'));
    if !valid {
        return Err(AppError::invalid("regions", "List region codes separated by commas, e.g. eu, us-east."));
    }
    Ok(Some(codes.join(",")))
}

/// An email domain (`example.com`): trimmed, lower-case, dotted labels of letters, digits
/// and inner dashes, at most 253 bytes; `Invalid` on `field` otherwise.
pub fn domain(field: &str, raw: &str) -> Result<String, AppError> {
    let d = raw.trim().trim_start_matches('@').to_ascii_lowercase();
    let label = |l: &str| {
        (1..=63).contains(&l.len())
            && l.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if d.len() <= 253 && d.contains('.') && d.split('.').all(label) {
        Ok(d)
    } else {
        Err(AppError::invalid(field, "Enter a domain like example.com."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_dotted_labels_lowercased() {
        assert_eq!(domain("domain", " @Initech.Example ").ok().as_deref(), Some("initech.example"));
        for bad in ["", "initech", "-initech.example", "initech-.example", "ini tech.example", "initech..example", "init\u{e9}ch.example"] {
            assert!(domain("domain", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn emails_are_trimmed_and_lowercased() {
        assert_eq!(email("email", "  Ada@Initech.Example ").ok().as_ref().map(Email::as_str), Some("ada@initech.example"));
    }

    #[test]
    fn malformed_emails_are_refused_on_the_field_named() {
        for bad in ["", "   ", "ada", "ada@", "@initech.example", "ada@initech", "a b@x.example", "a@b@c.example", "ada@.example"] {
            let err = email("admin_email", bad).err();
            assert!(err.as_ref().and_then(|e| e.for_field("admin_email")).is_some(), "{bad:?} gave {err:?}");
        }
    }

    #[test]
    fn a_slug_is_lowercased_and_may_not_start_or_end_with_a_dash() {
        assert_eq!(slug("slug", " Initech ").ok().as_ref().map(Slug::as_str), Some("initech"));
        for bad in ["a", "-initech", "initech-", "ini tech", "initech!"] {
            assert!(slug("slug", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_checkbox_is_on_when_its_field_is_sent_and_off_when_it_is_not() {
        assert!(checkbox(Some("on")));
        assert!(checkbox(Some("true")));
        assert!(!checkbox(None));
        assert!(checkbox(Some("")), "present is ticked, whatever its value");
    }

    #[test]
    fn empty_optional_fields_are_none_and_bad_ones_name_their_field() {
        assert_eq!(number("seats", Some("  "), 0..=10, "m"), Ok(None));
        assert_eq!(number("seats", Some("11"), 0..=10, "m"), Err(AppError::invalid("seats", "m")));
        assert_eq!(date("ends", Some("2027-01-31"), "m"), Ok(NaiveDate::from_ymd_opt(2027, 1, 31)));
        assert!(date("ends", Some("31/01/2027"), "m").is_err());
        assert_eq!(regions(Some(" EU, us-east ,")), Ok(Some("eu,us-east".to_owned())));
    }

    #[test]
    fn a_day_starts_at_midnight_utc() {
        assert_eq!(NaiveDate::from_ymd_opt(1970, 1, 2).map(crate::engine::dates::start_of_day), Some(86_400));
    }
}
