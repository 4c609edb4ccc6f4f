//! Everything that can go wrong, each with the words to log or show.

use tessera_engine::licensing::KeyError;

/// Why a call did not give an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The license key as typed is not one (a typo, most often); caught before any call.
    #[error("{0}")]
    InvalidKey(#[from] KeyError),
    /// The JWKS (shipped or fetched) is not a JSON Web Key Set, or one of its Ed25519
    /// keys is not a public key.
    #[error("the JWKS is not valid: {0}")]
    InvalidJwks(String),
    /// Something in the [`Config`](crate::Config) cannot work.
    #[error("the client's configuration cannot work: {0}")]
    Config(String),
    /// An argument the caller passed is out of range (an empty feature, a negative quantity…).
    #[error("{0}")]
    InvalidArgument(String),
    /// The licensing server cannot be reached (no connection, a timeout, a 5xx or a 429),
    /// and for a check, no valid licence could answer instead.
    #[error("the licensing server cannot be reached: {0}")]
    Offline(String),
    /// The server answered with a problem (a 4xx other than 429): `code` is its stable code
    /// (`instance_limit`, `online_only`, `unauthorized`…).
    #[error("the licensing server refused ({status} {code}): {message}")]
    Refused { status: u16, code: String, message: String },
    /// The server's answer is not what this client understands, or the request could not
    /// be made.
    #[error("HTTP: {0}")]
    Http(String),
    /// The state file cannot be read or written.
    #[error("the state file: {0}")]
    State(String),
    /// Not a compact JWT, not signed with EdDSA, not of type `tessera-licence+jwt`, or its
    /// claims are not a licence's.
    #[error("this is not a Tessera licence: {0}")]
    NotALicence(String),
    /// The signature does not match: the licence was altered, or not signed by the key its
    /// header names.
    #[error("the licence's signature does not verify: it was altered or not signed by the licensing server")]
    BadSignature,
    /// The licence names a signing key (`kid`) that the JWKS does not hold.
    #[error("the licence is signed with key {0:?}, which is not in the JWKS")]
    UnknownSigningKey(String),
    /// The licence is for another product.
    #[error("the licence is for product {found:?}, not {expected:?}")]
    WrongAudience { expected: String, found: String },
    /// The licence was issued by another licensing server.
    #[error("the licence was issued by {found:?}, not {expected:?}")]
    WrongIssuer { expected: String, found: String },
    /// The licence is not valid yet (`nbf` is ahead, beyond the clock tolerance).
    #[error("the licence is not valid before {}", time(.nbf))]
    NotYetValid { nbf: i64 },
    /// The licence's `exp` has passed.
    #[error("the licence expired at {}", time(.exp))]
    Expired { exp: i64 },
    /// The licence is bound to another machine's fingerprint.
    #[error("the licence is for another machine (its fingerprint is not this one's)")]
    WrongMachine,
    /// The licence does not answer this machine's pending activation request.
    #[error("the licence does not answer this machine's pending activation request (its nonce differs)")]
    NonceMismatch,
    /// A licence was imported, but no activation request is pending.
    #[error("no activation request is pending: write one with `offline_request` first")]
    NoPendingRequest,
    /// The system clock is earlier than the licence's issue time or than a time this
    /// client has already seen, beyond the tolerance: it was set back.
    #[error("the system clock is behind a time this machine has already seen: set it right to use the offline licence")]
    ClockSetBack,
    /// The call needs an activated instance (or a stored licence) and there is none.
    #[error("this client is not activated")]
    NotActivated,
}

impl Error {
    /// Whether the server could not be reached (so the same call may work later).
    pub fn is_offline(&self) -> bool {
        matches!(self, Error::Offline(_))
    }
}

/// A Unix time as RFC 3339, for messages.
pub(crate) fn time(t: &i64) -> String {
    chrono::DateTime::from_timestamp(*t, 0).map_or_else(|| format!("{t} (Unix seconds)"), |d| d.to_rfc3339())
}
