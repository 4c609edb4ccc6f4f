//! A customer's people as its admin manages them: who they are and whether they hold a
//! seat, invitations (links that let a new user set a password, once, before they
//! expire) and removal.

use sqlx::Row;

use super::users::{create_user, NewUser};
use crate::auth::Role;
use crate::engine::{CustomerId, EntitlementId, UserId};
use crate::store::audit::{self, Actor, NewAuditEvent};
use crate::store::events::EventKind;
use crate::store::usage::history;
use crate::store::write::Write;
use crate::store::{flag, Store, StoreError, Unique};

/// One user of a customer with what the seats page shows of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRow {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// When they got a seat of the entitlement asked about; `None` without one.
    pub seat_since: Option<i64>,
    /// How many seats of the entitlement were assigned before theirs (ties by seat id);
    /// `None` without a seat. Seats at or past the cap in this order are held back.
    pub seats_before: Option<i64>,
    /// True until they have set a password through their invitation.
    pub invited: bool,
    /// The newest open invitation's expiry, if one is open.
    pub invitation_expires_at: Option<i64>,
}

/// What inviting came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invite {
    /// The new (or re-invited) user's id.
    Invited(i64),
    /// A user of this customer has this email already.
    AlreadyMember,
    /// The email belongs to a user of another customer or of the vendor.
    TakenElsewhere,
}

/// An invitation as its link shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationRow {
    pub user_id: i64,
    pub customer_id: i64,
    pub email: String,
    pub name: String,
    pub organisation: String,
    pub expires_at: i64,
    pub accepted_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// A password reset link (for a user who has a password), not an invitation to join.
    pub reset: bool,
}

/// What an invitation link is for, as stored in `invitations.purpose`.
const JOIN: &str = "join";
const RESET: &str = "reset";

impl Store {
    /// The active users of `customer`, admins first, with whether each holds a seat of
    /// `entitlement` and whether they are still invited.
    pub async fn list_members(&self, customer: CustomerId, entitlement: EntitlementId, now: i64) -> Result<Vec<MemberRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT u.id, u.email, u.name, u.role, s.assigned_at,
                    CASE WHEN s.id IS NULL THEN NULL ELSE
                      (SELECT COUNT(*) FROM seats o WHERE o.entitlement_id = s.entitlement_id
                        AND (o.assigned_at < s.assigned_at OR (o.assigned_at = s.assigned_at AND o.id < s.id))) END AS seats_before,
                    CASE WHEN u.password_hash IS NULL AND u.sso_at IS NULL THEN 1 ELSE 0 END AS invited,
                    (SELECT MAX(i.expires_at) FROM invitations i
                      WHERE i.user_id = u.id AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > $3) AS invitation_expires_at
             FROM users u LEFT JOIN seats s ON s.user_id = u.id AND s.entitlement_id = $2
             WHERE u.customer_id = $1 AND u.disabled = 0
             ORDER BY CASE WHEN u.role = 'customer_admin' THEN 0 ELSE 1 END, u.name, u.id",
        )
        .bind(customer.get())
        .bind(entitlement.get())
        .bind(now)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let role: String = r.try_get("role")?;
                Ok(MemberRow {
                    id: r.try_get("id")?,
                    email: r.try_get("email")?,
                    name: r.try_get("name")?,
                    role: Role::parse(&role).ok_or_else(|| StoreError::Db(sqlx::Error::Decode("stored role".into())))?,
                    seat_since: r.try_get("assigned_at")?,
                    seats_before: r.try_get("seats_before")?,
                    invited: flag(r, "invited")?,
                    invitation_expires_at: r.try_get("invitation_expires_at")?,
                })
            })
            .collect()
    }

    /// Invites `email` to customer `customer_id` as `role`: creates the user without a
    /// password (or re-enables one removed earlier) and an invitation whose token hashes
    /// to `token_hash`, valid until `expires_at`; one transaction with its audit event.
    /// The email's uniqueness is the database's: when it is taken, [`Invite`] says by whom.
    #[allow(clippy::too_many_arguments)]
    pub async fn invite_user(
        &self,
        actor: &Actor,
        customer_id: i64,
        email: &str,
        name: &str,
        role: Role,
        token_hash: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<Invite, StoreError> {
        let mut tx = self.begin_write().await?;
        // Someone removed earlier comes back as a new invitee: a fresh password.
        let returning: Option<i64> = sqlx::query_scalar(
            "UPDATE users SET disabled = 0, password_hash = NULL, name = $3, role = $4
             WHERE email = $1 AND customer_id = $2 AND disabled <> 0 RETURNING id",
        )
        .bind(email)
        .bind(customer_id)
        .bind(name)
        .bind(role.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let user_id = match returning {
            Some(id) => {
                // A new membership never revives a sign-in of the old one.
                super::sign_ins::end_all(&mut tx, id, now).await?;
                id
            }
            None => {
                let user = NewUser { customer_id: Some(customer_id), email, name, role, password_hash: None };
                match create_user(&mut tx, &user, now).await {
                    Ok(id) => id,
                    Err(StoreError::Duplicate(Unique::UserEmail)) => {
                        tx.roll_back(Ok(())).await?;
                        let owner: Option<Option<i64>> = sqlx::query_scalar("SELECT customer_id FROM users WHERE email = $1")
                            .bind(email.to_lowercase())
                            .fetch_optional(self.pool())
                            .await?;
                        return Ok(if owner == Some(Some(customer_id)) { Invite::AlreadyMember } else { Invite::TakenElsewhere });
                    }
                    Err(e) => return tx.roll_back(Err(e)).await,
                }
            }
        };
        insert_invitation(&mut tx, customer_id, user_id, token_hash, actor.user_id, expires_at, now).await?;
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: Some(customer_id),
                kind: EventKind::UserInvited,
                subject: format!("user:{user_id}"),
                before: None,
                after: Some(serde_json::json!({ "email": email, "name": name, "role": role.as_str(), "expires_at": expires_at })),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Invite::Invited(user_id))
    }

    /// A new link for invited user `user_id` of `customer_id` (the old one stops working);
    /// returns their email. `NotFound` when there is no such invited user in that customer.
    pub async fn reissue_invitation(
        &self,
        actor: &Actor,
        customer_id: i64,
        user_id: i64,
        token_hash: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<String, StoreError> {
        let mut tx = self.begin_write().await?;
        let email: String =
            sqlx::query_scalar("SELECT email FROM users WHERE id = $1 AND customer_id = $2 AND disabled = 0 AND password_hash IS NULL")
                .bind(user_id)
                .bind(customer_id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?;
        insert_invitation(&mut tx, customer_id, user_id, token_hash, actor.user_id, expires_at, now).await?;
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: Some(customer_id),
                kind: EventKind::UserInvitationReissued,
                subject: format!("user:{user_id}"),
                before: None,
                after: Some(serde_json::json!({ "expires_at": expires_at })),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(email)
    }

    /// A password reset link for user `user_id` of `customer_id`, who has a password: the
    /// link whose token hashes to `token_hash` lets them set a new one until `expires_at`
    /// (their earlier open links stop working); audited. Returns their email. `NotFound`
    /// when there is no such active user with a password (an invited user gets a new
    /// invitation instead).
    pub async fn issue_password_reset(
        &self,
        actor: &Actor,
        customer_id: i64,
        user_id: i64,
        token_hash: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<String, StoreError> {
        let mut tx = self.begin_write().await?;
        let email: Option<String> =
            sqlx::query_scalar("SELECT email FROM users WHERE id = $1 AND customer_id = $2 AND disabled = 0 AND password_hash IS NOT NULL")
                .bind(user_id)
                .bind(customer_id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(email) = email else { return tx.roll_back(Err(StoreError::NotFound)).await };
        insert_link(&mut tx, RESET, customer_id, user_id, token_hash, actor.user_id, expires_at, now).await?;
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: Some(customer_id),
                kind: EventKind::UserPasswordResetIssued,
                subject: format!("user:{user_id}"),
                before: None,
                after: Some(serde_json::json!({ "expires_at": expires_at })),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(email)
    }

    /// The invitation whose token hashes to `token_hash`; `NotFound` when there is none.
    pub async fn find_invitation(&self, token_hash: &str) -> Result<InvitationRow, StoreError> {
        let r = sqlx::query(
            "SELECT i.user_id, i.customer_id, u.email, u.name, c.name AS organisation, i.expires_at, i.accepted_at, i.revoked_at, i.purpose
             FROM invitations i JOIN users u ON u.id = i.user_id JOIN customers c ON c.id = i.customer_id
             WHERE i.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok(InvitationRow {
            user_id: r.try_get("user_id")?,
            customer_id: r.try_get("customer_id")?,
            email: r.try_get("email")?,
            name: r.try_get("name")?,
            organisation: r.try_get("organisation")?,
            expires_at: r.try_get("expires_at")?,
            accepted_at: r.try_get("accepted_at")?,
            revoked_at: r.try_get("revoked_at")?,
            reset: r.try_get::<String, _>("purpose")? == RESET,
        })
    }

    /// Uses the invitation whose token hashes to `token_hash`: the user's password becomes
    /// `password_hash`. Returns the user's id; `NotFound` when the invitation does not
    /// exist, was used or revoked, or has expired (the claim and the password are one
    /// statement each in one transaction, so a link works once even when raced).
    pub async fn accept_invitation(&self, token_hash: &str, password_hash: &str, now: i64) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let claimed = sqlx::query(
            "UPDATE invitations SET accepted_at = $2
             WHERE token_hash = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2
             RETURNING user_id, customer_id, purpose",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(claimed) = claimed else { return tx.roll_back(Err(StoreError::NotFound)).await };
        let user_id: i64 = claimed.try_get("user_id")?;
        let customer_id: i64 = claimed.try_get("customer_id")?;
        let reset = claimed.try_get::<String, _>("purpose")? == RESET;
        let set = sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1 AND disabled = 0")
            .bind(user_id)
            .bind(password_hash)
            .execute(&mut *tx)
            .await?;
        if set.rows_affected() != 1 {
            return tx.roll_back(Err(StoreError::NotFound)).await;
        }
        // A new password ends every sign-in made with the old one.
        let ended = super::sign_ins::end_all(&mut tx, user_id, now).await?;
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor: &Actor::user(user_id, if reset { "reset link" } else { "invitee" }),
                customer_id: Some(customer_id),
                kind: if reset { EventKind::UserPasswordReset } else { EventKind::UserInvitationAccepted },
                subject: format!("user:{user_id}"),
                before: None,
                after: reset.then(|| serde_json::json!({ "sign_ins_ended": ended })),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(user_id)
    }

    /// Removes `user` from `customer`: their seats are freed, open invitations revoked and
    /// the account disabled (their sessions stop working at the next request). Returns the
    /// entitlements whose seats were freed; `NotFound` when the user is not an active user
    /// of that customer; refused when they are its last admin.
    pub async fn remove_user(
        &self,
        actor: &Actor,
        customer: CustomerId,
        user: UserId,
        now: i64,
    ) -> Result<Result<Vec<i64>, super::RoleRefusal>, StoreError> {
        let (customer_id, user_id) = (customer.get(), user.get());
        let mut tx = self.begin_write().await?;
        if super::leaves_no_admin(&mut tx, customer_id, user_id).await? {
            return tx.roll_back(Ok(Err(super::RoleRefusal::LastAdmin))).await;
        }
        let user = sqlx::query("UPDATE users SET disabled = 1 WHERE id = $1 AND customer_id = $2 AND disabled = 0 RETURNING email")
            .bind(user_id)
            .bind(customer_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(user) = user else { return tx.roll_back(Err(StoreError::NotFound)).await };
        let email: String = user.try_get("email")?;
        let freed: Vec<i64> =
            sqlx::query_scalar("DELETE FROM seats WHERE user_id = $1 RETURNING entitlement_id").bind(user_id).fetch_all(&mut *tx).await?;
        let signed_out = super::sign_ins::end_all(&mut tx, user_id, now).await?;
        sqlx::query("UPDATE invitations SET revoked_at = $2 WHERE user_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL")
            .bind(user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        for entitlement in &freed {
            history::record_day(&mut tx, *entitlement, now).await?;
        }
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: Some(customer_id),
                kind: EventKind::UserRemoved,
                subject: format!("user:{user_id}"),
                before: Some(serde_json::json!({ "email": email, "seats": freed, "sign_ins_ended": signed_out })),
                after: None,
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Ok(freed))
    }
}

/// Revokes the open invitations of `user_id` and adds a new one.
pub(crate) async fn insert_invitation(
    tx: &mut Write<'_>,
    customer_id: i64,
    user_id: i64,
    token_hash: &str,
    invited_by: Option<i64>,
    expires_at: i64,
    now: i64,
) -> Result<(), StoreError> {
    insert_link(tx, JOIN, customer_id, user_id, token_hash, invited_by, expires_at, now).await
}

/// Stores a link of `purpose` for `user_id`; the user's earlier open links stop working.
#[allow(clippy::too_many_arguments)]
async fn insert_link(
    tx: &mut Write<'_>,
    purpose: &str,
    customer_id: i64,
    user_id: i64,
    token_hash: &str,
    invited_by: Option<i64>,
    expires_at: i64,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE invitations SET revoked_at = $2 WHERE user_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL")
        .bind(user_id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO invitations (customer_id, user_id, token_hash, invited_by, created_at, expires_at, purpose)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(customer_id)
    .bind(user_id)
    .bind(token_hash)
    .bind(invited_by)
    .bind(now)
    .bind(expires_at)
    .bind(purpose)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
