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
            AppError::Internal => 500,
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
