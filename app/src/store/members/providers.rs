//! Single sign-on as the store keeps it: each customer's own OpenID Connect provider (its
//! client secret sealed under the deployment's secret), the email domains it answers for
//! (claimed by the customer, confirmed by the vendor's staff, confirmed for one customer at
//! most), the vendor's own domains whose new people may join as staff, and the arrival of
//! a user through a provider: who that is, made or linked when the rules allow, and signed
//! in, in one transaction with its audit events.

use sqlx::Row;

use super::sign_ins::{insert_sign_in, Client};
use super::users::{create_user, NewUser};
use crate::auth::Role;
use crate::engine::CustomerId;
use crate::store::audit::{self, Actor, NewAuditEvent};
use crate::store::events::EventKind;
use crate::store::write::Write;
use crate::store::{flag, Store, StoreError};

/// A customer's provider as the portal shows it (no secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderRow {
    pub customer_id: i64,
    pub issuer: String,
    pub client_id: String,
    pub name: String,
    /// An unknown person of the customer's domains is made a member at first sign-in.
    pub create_users: bool,
    /// The customer's people may still sign in with a password.
    pub passwords_allowed: bool,
    pub updated_at: i64,
}

/// A customer's provider with its client secret opened, for signing someone in. Its
/// `Debug` leaves the secret out.
#[derive(Clone)]
pub struct ProviderSecret {
    pub row: ProviderRow,
    /// The organisation's slug, which names its callback.
    pub slug: String,
    pub client_secret: String,
}

impl std::fmt::Debug for ProviderSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderSecret").field("row", &self.row).field("slug", &self.slug).field("client_secret", &"***").finish()
    }
}

/// A provider as a customer's admin (or staff for them) saves it.
#[derive(Clone)]
pub struct NewProvider<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    /// `None` keeps the secret saved before (an error when there is none).
    pub client_secret: Option<&'a str>,
    pub name: &'a str,
    pub create_users: bool,
    pub passwords_allowed: bool,
}

/// A domain a customer claimed, and whether the vendor's staff confirmed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainRow {
    pub domain: String,
    pub added_at: i64,
    pub confirmed_at: Option<i64>,
}

/// Why a change of domains was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DomainRefusal {
    /// This customer claimed it already.
    Claimed,
    /// It is confirmed for another customer.
    TakenElsewhere,
    /// No such claim of this customer (or confirmed already, for a confirmation).
    NotFound,
}

/// Which provider a user arrived through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// The vendor's provider: the vendor's staff.
    Vendor,
    /// A customer's own provider.
    Customer(CustomerId),
}

/// Who a provider vouched for (a verified email), as it came.
#[derive(Debug, Clone)]
pub struct Vouched<'a> {
    pub arrival: Arrival,
    /// The provider's issuer, as audit events name it.
    pub issuer: &'a str,
    /// Lower-case, verified by the provider.
    pub email: &'a str,
    /// The provider's name for them (`name` claim), if any.
    pub name: Option<&'a str>,
}

/// Why an arrival through a provider signed no one in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArrivalRefusal {
    /// The email's domain is not one this provider answers for (another customer's, or
    /// no one's): a provider vouches for its own customer's people only.
    Domain,
    /// No account, and the rules make none: not invited, not the kind this provider signs
    /// in (a customer's user at the vendor's provider, another customer's user), or removed.
    Unknown,
}

/// What an arrival came to: the user signed in, and whether they were made just now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arrived {
    pub user_id: i64,
    pub created: bool,
}

/// The domain of `email`, lower-case; `None` without one.
pub fn domain_of(email: &str) -> Option<&str> {
    email.rsplit_once('@').map(|(_, d)| d).filter(|d| !d.is_empty())
}

impl Store {
    /// The provider of `customer`, without its secret; `None` when it has none.
    pub async fn identity_provider(&self, customer: CustomerId) -> Result<Option<ProviderRow>, StoreError> {
        let row = sqlx::query(
            "SELECT customer_id, issuer, client_id, name, create_users, passwords_allowed, updated_at
             FROM identity_providers WHERE customer_id = $1",
        )
        .bind(customer.get())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(provider_row).transpose()
    }

    /// The provider of `customer` with its client secret opened, to sign someone in.
    /// `WrongSecret` when the deployment's secret does not open it.
    pub async fn identity_provider_secret(&self, customer: CustomerId) -> Result<Option<ProviderSecret>, StoreError> {
        let row = sqlx::query(
            "SELECT p.customer_id, p.issuer, p.client_id, p.client_secret, p.name, p.create_users, p.passwords_allowed,
                    p.updated_at, c.slug
             FROM identity_providers p JOIN customers c ON c.id = p.customer_id WHERE p.customer_id = $1",
        )
        .bind(customer.get())
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let sealed: String = row.try_get("client_secret")?;
        let opened = self.secret().open(&sealed).ok_or(StoreError::WrongSecret)?;
        let client_secret = String::from_utf8(opened).map_err(|_| StoreError::WrongSecret)?;
        Ok(Some(ProviderSecret { row: provider_row(&row)?, slug: row.try_get("slug")?, client_secret }))
    }

    /// Saves `customer`'s provider (made or changed), audited without its secret. Returns
    /// `Ok(false)` when no secret is given and none was saved before.
    pub async fn save_identity_provider(
        &self,
        actor: &Actor,
        customer: CustomerId,
        new: &NewProvider<'_>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let before = sqlx::query(
            "SELECT customer_id, issuer, client_id, client_secret, name, create_users, passwords_allowed, updated_at
             FROM identity_providers WHERE customer_id = $1",
        )
        .bind(customer.get())
        .fetch_optional(&mut *tx)
        .await?;
        let sealed = match (new.client_secret, &before) {
            (Some(secret), _) => self.secret().seal(secret.as_bytes()),
            (None, Some(row)) => row.try_get("client_secret")?,
            (None, None) => return tx.roll_back(Ok(false)).await,
        };
        let previous = before.as_ref().map(provider_row).transpose()?;
        sqlx::query("DELETE FROM identity_providers WHERE customer_id = $1").bind(customer.get()).execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO identity_providers (customer_id, issuer, client_id, client_secret, name, create_users, passwords_allowed, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(customer.get())
        .bind(new.issuer)
        .bind(new.client_id)
        .bind(sealed)
        .bind(new.name)
        .bind(i64::from(new.create_users))
        .bind(i64::from(new.passwords_allowed))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let shown = |issuer: &str, client_id: &str, name: &str, create: bool, passwords: bool| {
            serde_json::json!({
                "issuer": issuer, "client_id": client_id, "name": name,
                "create_users": create, "passwords_allowed": passwords,
            })
        };
        let mut after = shown(new.issuer, new.client_id, new.name, new.create_users, new.passwords_allowed);
        after["secret_changed"] = serde_json::json!(new.client_secret.is_some());
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: Some(customer.get()),
                kind: EventKind::SsoProviderSaved,
                subject: format!("customer:{}", customer.get()),
                before: previous.map(|p| shown(&p.issuer, &p.client_id, &p.name, p.create_users, p.passwords_allowed)),
                after: Some(after),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Removes `customer`'s provider: its people sign in with passwords again. `NotFound`
    /// when it has none.
    pub async fn remove_identity_provider(&self, actor: &Actor, customer: CustomerId, now: i64) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let removed = sqlx::query("DELETE FROM identity_providers WHERE customer_id = $1 RETURNING issuer")
            .bind(customer.get())
            .fetch_optional(&mut *tx)
            .await?;
        let Some(removed) = removed else { return tx.roll_back(Err(StoreError::NotFound)).await };
        let issuer: String = removed.try_get("issuer")?;
        audit::record(
            &mut tx,
            NewAuditEvent {
                actor,
                customer_id: Some(customer.get()),
                kind: EventKind::SsoProviderRemoved,
                subject: format!("customer:{}", customer.get()),
                before: Some(serde_json::json!({ "issuer": issuer })),
                after: None,
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The domains `customer` claimed, in order.
    pub async fn sso_domains(&self, customer: CustomerId) -> Result<Vec<DomainRow>, StoreError> {
        let rows = sqlx::query("SELECT domain, added_at, confirmed_at FROM sso_domains WHERE customer_id = $1 ORDER BY domain")
            .bind(customer.get())
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(DomainRow { domain: r.try_get("domain")?, added_at: r.try_get("added_at")?, confirmed_at: r.try_get("confirmed_at")? })
            })
            .collect()
    }

    /// Whether any confirmed domain routes to a customer's provider.
    pub async fn any_sso_domain(&self) -> Result<bool, StoreError> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT d.customer_id FROM sso_domains d JOIN identity_providers p ON p.customer_id = d.customer_id
             WHERE d.confirmed_at IS NOT NULL LIMIT 1",
        )
        .fetch_optional(self.pool())
        .await?;
        Ok(found.is_some())
    }

    /// The provider the owner of `email` must sign in through instead of a password, when
    /// the organisation whose confirmed domain it is of allows no passwords and the account
    /// (`account`: the customer of the account with that email, `None` when there is no
    /// account) is that organisation's or none. Someone of that domain who is another
    /// organisation's or the vendor's keeps their password.
    pub async fn password_barred(&self, email: &str, account: Option<Option<i64>>) -> Result<Option<String>, StoreError> {
        let domain = domain_of(email).unwrap_or_default();
        let only = self.sso_only_provider(domain).await?;
        Ok(only.filter(|(customer, _)| account.is_none_or(|of| of == Some(customer.get()))).map(|(_, name)| name))
    }

    /// The organisation whose confirmed domain `domain` is, and its provider's name, when
    /// that organisation signs its people in through its provider only (no passwords).
    async fn sso_only_provider(&self, domain: &str) -> Result<Option<(CustomerId, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT p.customer_id, p.name FROM sso_domains d JOIN identity_providers p ON p.customer_id = d.customer_id
             WHERE d.domain = $1 AND d.confirmed_at IS NOT NULL AND p.passwords_allowed = 0",
        )
        .bind(domain.to_lowercase())
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| Ok((CustomerId(r.try_get("customer_id")?), r.try_get("name")?))).transpose()
    }

    /// The customer a confirmed `domain` routes to; `None` when it routes no one.
    pub async fn customer_of_domain(&self, domain: &str) -> Result<Option<CustomerId>, StoreError> {
        let id: Option<i64> = sqlx::query_scalar("SELECT customer_id FROM sso_domains WHERE domain = $1 AND confirmed_at IS NOT NULL")
            .bind(domain.to_lowercase())
            .fetch_optional(self.pool())
            .await?;
        Ok(id.map(CustomerId))
    }

    /// `customer` claims `domain` (lower-case); it routes no one until staff confirm it.
    pub async fn claim_sso_domain(
        &self,
        actor: &Actor,
        customer: CustomerId,
        domain: &str,
        now: i64,
    ) -> Result<Result<(), DomainRefusal>, StoreError> {
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO sso_domains (customer_id, domain, added_by, added_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (customer_id, domain) DO NOTHING RETURNING id",
        )
        .bind(customer.get())
        .bind(domain)
        .bind(actor.user_id)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        if inserted.is_none() {
            return tx.roll_back(Ok(Err(DomainRefusal::Claimed))).await;
        }
        domain_changed(tx, actor, Some(customer), EventKind::SsoDomainClaimed, domain, now).await?;
        Ok(Ok(()))
    }

    /// Vendor staff confirm `customer`'s claim of `domain`: it routes that customer's
    /// people to its provider from now on.
    pub async fn confirm_sso_domain(
        &self,
        actor: &Actor,
        customer: CustomerId,
        domain: &str,
        now: i64,
    ) -> Result<Result<(), DomainRefusal>, StoreError> {
        let mut tx = self.begin_write().await?;
        let elsewhere: Option<i64> =
            sqlx::query_scalar("SELECT customer_id FROM sso_domains WHERE domain = $1 AND confirmed_at IS NOT NULL AND customer_id <> $2")
                .bind(domain)
                .bind(customer.get())
                .fetch_optional(&mut *tx)
                .await?;
        if elsewhere.is_some() {
            return tx.roll_back(Ok(Err(DomainRefusal::TakenElsewhere))).await;
        }
        let confirmed = sqlx::query(
            "UPDATE sso_domains SET confirmed_by = $3, confirmed_at = $4
             WHERE customer_id = $1 AND domain = $2 AND confirmed_at IS NULL",
        )
        .bind(customer.get())
        .bind(domain)
        .bind(actor.user_id)
        .bind(now)
        .execute(&mut *tx)
        .await;
        match confirmed {
            Ok(done) if done.rows_affected() == 1 => {}
            Ok(_) => return tx.roll_back(Ok(Err(DomainRefusal::NotFound))).await,
            // Confirmed for another customer in the meantime.
            Err(e) if matches!(&e, sqlx::Error::Database(db) if db.is_unique_violation()) => {
                return tx.roll_back(Ok(Err(DomainRefusal::TakenElsewhere))).await;
            }
            Err(e) => return tx.roll_back(Err(e.into())).await,
        }
        domain_changed(tx, actor, Some(customer), EventKind::SsoDomainConfirmed, domain, now).await?;
        Ok(Ok(()))
    }

    /// Removes `customer`'s claim of `domain`, confirmed or not.
    pub async fn remove_sso_domain(
        &self,
        actor: &Actor,
        customer: CustomerId,
        domain: &str,
        now: i64,
    ) -> Result<Result<(), DomainRefusal>, StoreError> {
        let mut tx = self.begin_write().await?;
        let removed = sqlx::query("DELETE FROM sso_domains WHERE customer_id = $1 AND domain = $2")
            .bind(customer.get())
            .bind(domain)
            .execute(&mut *tx)
            .await?;
        if removed.rows_affected() != 1 {
            return tx.roll_back(Ok(Err(DomainRefusal::NotFound))).await;
        }
        domain_changed(tx, actor, Some(customer), EventKind::SsoDomainRemoved, domain, now).await?;
        Ok(Ok(()))
    }

    /// The vendor's domains whose new people join as staff at their first sign-in.
    pub async fn staff_domains(&self) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT domain FROM staff_domains ORDER BY domain").fetch_all(self.pool()).await?)
    }

    /// A vendor admin lets new people of `domain` join as staff (`allow`), or stops that.
    /// `Ok(false)` when nothing changed.
    pub async fn set_staff_domain(&self, actor: &Actor, domain: &str, allow: bool, now: i64) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let changed = if allow {
            sqlx::query("INSERT INTO staff_domains (domain, added_by, added_at) VALUES ($1, $2, $3) ON CONFLICT (domain) DO NOTHING")
                .bind(domain)
                .bind(actor.user_id)
                .bind(now)
                .execute(&mut *tx)
                .await?
        } else {
            sqlx::query("DELETE FROM staff_domains WHERE domain = $1").bind(domain).execute(&mut *tx).await?
        };
        if changed.rows_affected() != 1 {
            return tx.roll_back(Ok(false)).await;
        }
        let kind = if allow { EventKind::StaffDomainAllowed } else { EventKind::StaffDomainRemoved };
        domain_changed(tx, actor, None, kind, domain, now).await?;
        Ok(true)
    }

    /// Signs in the user a provider vouched for, as sign-in `handle` from `client`: the
    /// account with that email when this provider may sign it in; an invited user's first
    /// sign-in accepts the invitation; an unknown person is made a member (a customer that
    /// allows it) or staff (a vendor domain a vendor admin allowed). All in one
    /// transaction with its audit events; a refusal changes nothing.
    pub async fn arrive_through_sso(
        &self,
        vouched: &Vouched<'_>,
        handle: &str,
        client: &Client,
        now: i64,
    ) -> Result<Result<Arrived, ArrivalRefusal>, StoreError> {
        let mut tx = self.begin_write().await?;
        let Some(domain) = domain_of(vouched.email) else { return tx.roll_back(Ok(Err(ArrivalRefusal::Domain))).await };
        // Whether this provider answers for the email's domain, and what it may make.
        let may_create = match vouched.arrival {
            Arrival::Vendor => {
                let allowed: Option<String> =
                    sqlx::query_scalar("SELECT domain FROM staff_domains WHERE domain = $1").bind(domain).fetch_optional(&mut *tx).await?;
                allowed.is_some()
            }
            Arrival::Customer(customer) => {
                let routed: Option<i64> = sqlx::query_scalar(
                    "SELECT customer_id FROM sso_domains WHERE domain = $1 AND confirmed_at IS NOT NULL AND customer_id = $2",
                )
                .bind(domain)
                .bind(customer.get())
                .fetch_optional(&mut *tx)
                .await?;
                if routed.is_none() {
                    return tx.roll_back(Ok(Err(ArrivalRefusal::Domain))).await;
                }
                let create: Option<i64> = sqlx::query_scalar("SELECT create_users FROM identity_providers WHERE customer_id = $1")
                    .bind(customer.get())
                    .fetch_optional(&mut *tx)
                    .await?;
                create == Some(1)
            }
        };
        let existing = sqlx::query("SELECT id, customer_id, disabled, sso_at FROM users WHERE email = $1")
            .bind(vouched.email)
            .fetch_optional(&mut *tx)
            .await?;
        let (user_id, created) = match existing {
            Some(row) => {
                let customer_id: Option<i64> = row.try_get("customer_id")?;
                let belongs = match vouched.arrival {
                    Arrival::Vendor => customer_id.is_none(),
                    Arrival::Customer(customer) => customer_id == Some(customer.get()),
                };
                if !belongs {
                    return tx.roll_back(Ok(Err(ArrivalRefusal::Unknown))).await;
                }
                if flag(&row, "disabled")? {
                    return tx.roll_back(Ok(Err(ArrivalRefusal::Unknown))).await;
                }
                let user_id: i64 = row.try_get("id")?;
                if row.try_get::<Option<i64>, _>("sso_at")?.is_none() {
                    link_first_sso(&mut tx, user_id, customer_id, vouched, now).await?;
                }
                (user_id, false)
            }
            None if may_create => (join_through_sso(&mut tx, vouched, now).await?, true),
            None => return tx.roll_back(Ok(Err(ArrivalRefusal::Unknown))).await,
        };
        insert_sign_in(&mut tx, user_id, handle, client, Some(vouched.issuer), now).await?;
        tx.commit().await?;
        Ok(Ok(Arrived { user_id, created }))
    }
}

fn provider_row(r: &sqlx::any::AnyRow) -> Result<ProviderRow, StoreError> {
    Ok(ProviderRow {
        customer_id: r.try_get("customer_id")?,
        issuer: r.try_get("issuer")?,
        client_id: r.try_get("client_id")?,
        name: r.try_get("name")?,
        create_users: flag(r, "create_users")?,
        passwords_allowed: flag(r, "passwords_allowed")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// Records a change of `domain` (an event of `kind`; `customer`'s, or the vendor's own)
/// and commits it.
async fn domain_changed(
    mut tx: Write<'_>,
    actor: &Actor,
    customer: Option<CustomerId>,
    kind: EventKind,
    domain: &str,
    now: i64,
) -> Result<(), StoreError> {
    audit::record(
        &mut tx,
        NewAuditEvent {
            actor,
            customer_id: customer.map(CustomerId::get),
            kind,
            subject: format!("domain:{domain}"),
            before: None,
            after: Some(serde_json::json!({ "domain": domain })),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A user's first single sign-on: noted on the account, and an open invitation to join
/// is accepted by it (audited as the invitation's acceptance, by single sign-on).
async fn link_first_sso(
    tx: &mut Write<'_>,
    user_id: i64,
    customer_id: Option<i64>,
    vouched: &Vouched<'_>,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE users SET sso_at = $2 WHERE id = $1").bind(user_id).bind(now).execute(&mut **tx).await?;
    let accepted = sqlx::query(
        "UPDATE invitations SET accepted_at = $2
         WHERE user_id = $1 AND purpose = 'join' AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(user_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    if accepted.rows_affected() > 0 {
        audit::record(
            tx,
            NewAuditEvent {
                actor: &Actor::user(user_id, vouched.email),
                customer_id,
                kind: EventKind::UserInvitationAccepted,
                subject: format!("user:{user_id}"),
                before: None,
                after: Some(serde_json::json!({ "method": "sso", "provider": vouched.issuer })),
            },
            now,
        )
        .await?;
    }
    Ok(())
}

/// Makes the account of someone a provider vouched for: a member of the customer (no
/// seat), or vendor staff.
async fn join_through_sso(tx: &mut Write<'_>, vouched: &Vouched<'_>, now: i64) -> Result<i64, StoreError> {
    let (customer_id, role) = match vouched.arrival {
        Arrival::Vendor => (None, Role::VendorStaff),
        Arrival::Customer(customer) => (Some(customer.get()), Role::CustomerMember),
    };
    let fallback = vouched.email.split('@').next().unwrap_or(vouched.email);
    let name: String = vouched.name.map(str::trim).filter(|n| !n.is_empty()).unwrap_or(fallback).chars().take(120).collect();
    let user_id = create_user(tx, &NewUser { customer_id, email: vouched.email, name: &name, role, password_hash: None }, now).await?;
    sqlx::query("UPDATE users SET sso_at = $2 WHERE id = $1").bind(user_id).bind(now).execute(&mut **tx).await?;
    audit::record(
        tx,
        NewAuditEvent {
            actor: &Actor::system("single sign-on"),
            customer_id,
            kind: EventKind::UserJoinedBySso,
            subject: format!("user:{user_id}"),
            before: None,
            after: Some(serde_json::json!({
                "email": vouched.email, "name": name, "role": role.as_str(), "provider": vouched.issuer,
            })),
        },
        now,
    )
    .await?;
    Ok(user_id)
}
