//! What a server function can fail with, as the browser sees it.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// An error returned by a server function. It crosses the wire as JSON, so the UI can
/// match on the variant (never on the message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// No signed-in user.
    #[error("Please sign in to continue.")]
    Unauthenticated,
    /// The signed-in user may not see or do this.
    #[error("You do not have access to this.")]
    Forbidden,
    /// The thing asked for does not exist (or is not visible to the caller).
    #[error("{0} was not found.")]
    NotFound(String),
    /// One input field is wrong; `field` names the form field.
    #[error("{message}")]
    Invalid { field: String, message: String },
    /// Sign-in failed; the same message whether the email or the password was wrong.
    #[error("The email or password is not correct.")]
    BadCredentials,
    /// Sign-in is held back after failures in a row: the next attempt is heard in `secs`
    /// seconds, or the lock lasts that long.
    #[error("{}", held_message(*secs, *locked))]
    SignInHeld { secs: i64, locked: bool },
    /// Too much of one costly kind of work is under way: try again shortly.
    #[error("The server is busy: please try again in a few seconds.")]
    Busy,
    /// The request itself was malformed (missing or undecodable arguments).
    #[error("The request was not understood: {0}")]
    BadRequest(String),
    /// Something failed on the server; details are in the server's log only.
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
}

impl AppError {
    /// Builds an [`AppError::Invalid`] for one form field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AppError::Invalid { field: field.to_owned(), message: message.into() }
    }

    /// The HTTP status the server answers with for this error.
    pub fn status_code(&self) -> u16 {
        match self {
            AppError::Unauthenticated | AppError::BadCredentials => 401,
            AppError::Forbidden => 403,
            AppError::NotFound(_) => 404,
            AppError::Invalid { .. } | AppError::BadRequest(_) => 400,
            AppError::SignInHeld { .. } | AppError::Busy => 429,
            AppError::Internal => 500,
        }
    }

    /// Seconds to wait before trying again, for an error that says so.
    pub fn retry_after(&self) -> Option<i64> {
        match self {
            AppError::SignInHeld { secs, .. } => Some(*secs),
            AppError::Busy => Some(2),
            _ => None,
        }
    }

    /// The message to show next to `field`, when this error is about that field.
    /// The form field an `Invalid` error names; `None` for other errors.
    pub fn for_field_name(&self) -> Option<&str> {
        match self {
            AppError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }

    pub fn for_field(&self, field: &str) -> Option<String> {
        match self {
            AppError::Invalid { field: f, message } if f == field => Some(message.clone()),
            _ => None,
        }
    }
}

fn held_message(secs: i64, locked: bool) -> String {
    if locked {
        let minutes = (secs + 59) / 60;
        format!(
            "Too many failed sign-ins: signing in is locked for {minutes} more minute{}. If these attempts were not yours, \
             ask your admin for a password reset link.",
            if minutes == 1 { "" } else { "s" }
        )
    } else {
        format!("Too many failed sign-ins: wait {secs} second{} before trying again.", if secs == 1 { "" } else { "s" })
    }
}

#[cfg(feature = "ssr")]
mod from_store {
    use std::panic::Location;

    use super::AppError;
    use crate::store::entitlements::StatusRefusal;
    use crate::store::entitlements::{AmendRefusal, DecideAmendRefusal};
    use crate::store::keys::signing::RetireKeyRefusal;
    use crate::store::requests::filing::{FileRefusal, WithdrawRefusal};
    use crate::store::StoreError;

    impl From<StoreError> for AppError {
        /// `NotFound` with a generic noun (a server function names it with
        /// [`crate::ssr::StoreResultExt::or_not_found`]); a duplicate of something typed
        /// into a form is the field error it means; anything else is logged here, once, with
        /// where it happened, and the client gets the opaque `Internal`.
        #[track_caller]
        fn from(err: StoreError) -> Self {
            let typed = match &err {
                StoreError::Duplicate(rule) => rule.field(),
                _ => None,
            };
            if let Some((field, message)) = typed {
                return AppError::invalid(field, message);
            }
            match err {
                StoreError::NotFound => AppError::NotFound("That".to_owned()),
                other => crate::ssr::internal(&format!("store failure at {}", Location::caller()), other),
            }
        }
    }

    impl From<StatusRefusal> for AppError {
        /// `Invalid` on `action`, naming the change the entitlement's status refused.
        fn from(refusal: StatusRefusal) -> Self {
            let what = match refusal {
                StatusRefusal::NotActive => "suspended",
                StatusRefusal::NotSuspended => "resumed",
                StatusRefusal::RenewingCancelled => "renewed",
                StatusRefusal::CancelledAlready => "cancelled",
            };
            AppError::invalid("action", format!("This entitlement cannot be {what} in its present state."))
        }
    }

    impl From<AmendRefusal> for AppError {
        /// `Invalid` on `plan`: nothing would change.
        fn from(refusal: AmendRefusal) -> Self {
            match refusal {
                AmendRefusal::Unchanged => AppError::invalid("plan", "These are the terms it has already."),
                AmendRefusal::ProposalPending => {
                    AppError::invalid("plan", "A change proposed for this entitlement waits for a second approval: decide that one first.")
                }
            }
        }
    }

    impl From<DecideAmendRefusal> for AppError {
        /// `Invalid` on `decision`.
        fn from(refusal: DecideAmendRefusal) -> Self {
            match refusal {
                DecideAmendRefusal::NotPending => AppError::invalid("decision", "This proposal was decided already."),
                DecideAmendRefusal::OwnProposal => {
                    AppError::invalid("decision", "You proposed this change: someone else on the staff must approve it.")
                }
            }
        }
    }

    impl From<FileRefusal> for AppError {
        /// `Invalid` on `kind`: the same change is pending.
        fn from(refusal: FileRefusal) -> Self {
            match refusal {
                FileRefusal::SamePending => {
                    AppError::invalid("kind", "The same change is pending already; withdraw it first to ask again.")
                }
            }
        }
    }

    impl From<WithdrawRefusal> for AppError {
        /// `Invalid` on `id`: the request was decided or withdrawn already.
        fn from(refusal: WithdrawRefusal) -> Self {
            match refusal {
                WithdrawRefusal::NotPending => AppError::invalid("id", "This request is no longer pending."),
            }
        }
    }

    impl From<RetireKeyRefusal> for AppError {
        /// `Invalid` on `kid`: the key signs tokens now.
        fn from(refusal: RetireKeyRefusal) -> Self {
            match refusal {
                RetireKeyRefusal::SigningNow => AppError::invalid("kid", "This key signs tokens now: rotate to a new key first."),
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::store::Unique;

        #[test]
        fn a_refused_status_change_says_which_change_on_the_action_field() {
            let e = AppError::from(StatusRefusal::RenewingCancelled);
            assert_eq!(e.for_field("action").as_deref(), Some("This entitlement cannot be renewed in its present state."));
        }

        #[test]
        fn a_taken_slug_is_a_field_error_and_a_missing_row_a_404() {
            assert_eq!(AppError::from(StoreError::Duplicate(Unique::CustomerSlug)).for_field_name(), Some("slug"));
            assert_eq!(AppError::from(StoreError::NotFound).status_code(), 404);
            assert_eq!(AppError::from(StoreError::Duplicate(Unique::Seat)), AppError::Internal);
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(m) | ServerFnErrorErr::Deserialization(m) | ServerFnErrorErr::MissingArg(m) => AppError::BadRequest(m),
            ServerFnErrorErr::UnsupportedRequestMethod(m) => AppError::BadRequest(m),
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => {
                AppError::BadRequest("the server could not be reached".to_owned())
            }
            _ => AppError::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_arguments_are_a_bad_request_not_a_server_error() {
        let e = AppError::from_server_fn_error(ServerFnErrorErr::Args("missing field `email`".into()));
        assert_eq!(e.status_code(), 400);
    }

    #[test]
    fn a_field_error_is_shown_only_next_to_its_field() {
        let e = AppError::invalid("email", "Enter an email address.");
        assert_eq!(e.for_field("email").as_deref(), Some("Enter an email address."));
        assert_eq!(e.for_field("password"), None);
    }
}
