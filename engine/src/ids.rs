//! Typed ids, so that a customer's id cannot be passed where an entitlement's is wanted.
//! On the wire each is its plain number.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// The plain number.
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl From<i64> for $name {
            fn from(id: i64) -> Self {
                $name(id)
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id! {
    /// The id of a customer (an organisation, the tenant).
    CustomerId
}

id! {
    /// The id of an entitlement (customer × product).
    EntitlementId
}

id! {
    /// The id of a user, of a customer or of the vendor.
    UserId
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_travels_as_its_plain_number() {
        assert_eq!(serde_json::to_string(&CustomerId(42)).ok().as_deref(), Some("42"));
        assert_eq!(serde_json::from_str::<EntitlementId>("7").ok(), Some(EntitlementId(7)));
        assert!(serde_json::from_str::<UserId>(r#""7""#).is_err());
    }

    #[test]
    fn an_id_shows_as_its_number() {
        assert_eq!(UserId::from(9).to_string(), "9");
        assert_eq!(i64::from(CustomerId(3)), 3);
        assert_eq!(EntitlementId(5).get(), 5);
    }
}
