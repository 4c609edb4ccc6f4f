//! Users: people of a customer or of the vendor, with their role.

use sqlx::Row;

use crate::auth::{CurrentUser, CustomerRef, Role};
use crate::store::write::Write;
use crate::store::{flag, Store, StoreError};

/// A user as sign-in needs them.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub id: i64,
    pub email: String,
    pub password_hash: Option<String>,
    pub disabled: bool,
    pub customer_id: Option<i64>,
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub customer_id: Option<i64>,
    pub email: &'a str,
    pub name: &'a str,
    pub role: Role,
    pub password_hash: Option<&'a str>,
}

/// Creates a user; `Duplicate(Unique::UserEmail)` when the email is taken.
pub async fn create_user(tx: &mut Write<'_>, u: &NewUser<'_>, at: i64) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO users (customer_id, email, name, role, password_hash, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(u.customer_id)
    .bind(u.email.to_lowercase())
    .bind(u.name)
    .bind(u.role.as_str())
    .bind(u.password_hash)
    .bind(at)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get("id")?)
}

impl Store {
    /// The credentials of the user with `email` (any case); `None` when there is none.
    pub async fn find_credentials(&self, email: &str) -> Result<Option<Credentials>, StoreError> {
        let row = sqlx::query("SELECT id, email, password_hash, disabled, customer_id FROM users WHERE email = $1")
            .bind(email.trim().to_lowercase())
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| {
            Ok(Credentials {
                id: r.try_get("id")?,
                email: r.try_get("email")?,
                password_hash: r.try_get("password_hash")?,
                disabled: flag(&r, "disabled")?,
                customer_id: r.try_get("customer_id")?,
            })
        })
        .transpose()
    }

    /// The signed-in user with `id`, or `None` when it no longer exists or is disabled.
    pub async fn find_current_user(&self, id: i64) -> Result<Option<CurrentUser>, StoreError> {
        let row = sqlx::query(
            "SELECT u.id, u.email, u.name, u.role, c.id AS customer_id, c.slug, c.name AS customer_name
             FROM users u LEFT JOIN customers c ON c.id = u.customer_id
             WHERE u.id = $1 AND u.disabled = 0",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        let Some(r) = row else { return Ok(None) };
        let role: String = r.try_get("role")?;
        let Some(role) = Role::parse(&role) else { return Ok(None) };
        let customer = match r.try_get::<Option<i64>, _>("customer_id")? {
            Some(id) => Some(CustomerRef { id, slug: r.try_get("slug")?, name: r.try_get("customer_name")? }),
            None => None,
        };
        Ok(Some(CurrentUser { id: r.try_get("id")?, email: r.try_get("email")?, name: r.try_get("name")?, role, customer }))
    }

    /// Makes a vendor admin with a password (the first of a deployment without the demo),
    /// audited as `user.created`. `Duplicate(Unique::UserEmail)` when the email is taken.
    pub async fn create_vendor_admin(&self, email: &str, name: &str, password_hash: &str, at: i64) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let user = NewUser { customer_id: None, email, name, role: Role::VendorAdmin, password_hash: Some(password_hash) };
        let id = match create_user(&mut tx, &user, at).await {
            Ok(id) => id,
            Err(e) => return tx.roll_back(Err(e)).await,
        };
        crate::store::audit::record(
            &mut tx,
            crate::store::audit::NewAuditEvent {
                actor: &crate::store::audit::Actor::system("admin create"),
                customer_id: None,
                kind: crate::store::events::EventKind::UserCreated,
                subject: format!("user:{id}"),
                before: None,
                after: Some(serde_json::json!({ "email": email.to_lowercase(), "name": name, "role": Role::VendorAdmin.as_str() })),
            },
            at,
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// True when no user exists yet: the database is new.
    pub async fn is_empty(&self) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(self.pool()).await?;
        Ok(n == 0)
    }
}
