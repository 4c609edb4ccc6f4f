//! The event catalog: every kind of change Tessera records. The names are stable API
//! (the audit log shows them, and webhooks and the event feed publish exactly these);
//! a kind is added, never renamed.

use std::collections::BTreeSet;

/// What a kind of event changes beyond its own row, so that the write path knows what to
/// refresh once the change has committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Touches {
    /// The event's customer: its entitlement snapshots are re-read.
    Customer,
    /// The catalog or the API keys: both are re-read.
    Catalog,
    /// The signing keys (and, for other replicas, the catalog notice that carries them).
    SigningKeys,
    /// Nothing enforcement reads (a sign-in, a request filed, usage counted in memory).
    Nothing,
}

macro_rules! event_kinds {
    ($($variant:ident = $name:literal => $touches:ident, $doc:literal;)+) => {
        /// One kind of event of the catalog; `as_str` gives its stable name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum EventKind {
            $(#[doc = $doc] $variant,)+
        }

        impl EventKind {
            /// Every kind, in catalog order.
            pub const ALL: &'static [EventKind] = &[$(EventKind::$variant,)+];

            /// The stable dotted name, e.g. `seat.assigned`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(EventKind::$variant => $name,)+
                }
            }

            /// What the change touches beyond its own row.
            pub const fn touches(self) -> Touches {
                match self {
                    $(EventKind::$variant => Touches::$touches,)+
                }
            }

            /// One sentence on what the event means, for the catalog's documentation.
            pub const fn description(self) -> &'static str {
                match self {
                    $(EventKind::$variant => $doc,)+
                }
            }
        }
    };
}

event_kinds! {
    UserCreated = "user.created" => Nothing, "A vendor admin was made with `tessera admin create`.";
    UserSignedIn = "user.signed_in" => Nothing, "A user signed in, with a password or through single sign-on (`method`, `provider`).";
    UserSignedOut = "user.signed_out" => Nothing, "A user signed out, ending that sign-in.";
    UserSignedOutEverywhere = "user.signed_out_everywhere" => Nothing, "A user ended their sign-ins on other browsers, or on all of them.";
    UserSignInFailed = "user.sign_in_failed" => Nothing, "A sign-in was refused: a wrong password, or an unknown or disabled account.";
    UserSsoRefused = "user.sso_refused" => Nothing, "A single sign-on was refused: the provider's answer did not hold, or named no account that may use it.";
    UserJoinedBySso = "user.joined_by_sso" => Customer, "Someone a provider vouched for was made a user at their first single sign-on: a member (no seat) of a customer that allows it, or staff of a vendor domain a vendor admin allowed.";
    SsoProviderSaved = "sso.provider_saved" => Nothing, "A customer's OpenID Connect provider was connected or changed (never its secret).";
    SsoProviderRemoved = "sso.provider_removed" => Nothing, "A customer's OpenID Connect provider was removed.";
    SsoDomainClaimed = "sso.domain_claimed" => Nothing, "A customer claimed an email domain for its provider; it routes no one until staff confirm it.";
    SsoDomainConfirmed = "sso.domain_confirmed" => Nothing, "Vendor staff confirmed a customer's email domain: its people sign in through the customer's provider.";
    SsoDomainRemoved = "sso.domain_removed" => Nothing, "A customer's email domain was removed from its provider.";
    StaffDomainAllowed = "sso.staff_domain_allowed" => Nothing, "A vendor admin let new people of a vendor domain join as staff through the vendor's provider.";
    StaffDomainRemoved = "sso.staff_domain_removed" => Nothing, "A vendor admin stopped new people of a vendor domain joining as staff.";
    UserSignInLocked = "user.sign_in_locked" => Nothing, "Sign-ins to an account, or from a client address, were locked for a while after failures in a row.";
    UserPasswordChanged = "user.password_changed" => Nothing, "A user changed their password; their other sign-ins ended.";
    UserPasswordResetIssued = "user.password_reset_issued" => Nothing, "An admin made a password reset link for a user.";
    UserPasswordReset = "user.password_reset" => Nothing, "A user set a new password with a reset link; their sign-ins ended.";
    UserInvited = "user.invited" => Customer, "A user was invited to an organisation; the invitation link was made.";
    UserInvitationReissued = "user.invitation_reissued" => Nothing, "A new invitation link replaced the old one.";
    UserInvitationAccepted = "user.invitation_accepted" => Customer, "An invited user set a password and joined.";
    UserRemoved = "user.removed" => Customer, "A user left an organisation; their seats were freed and sessions ended.";
    UserRoleChanged = "user.role_changed" => Customer, "A user's role in their organisation was changed (admin or member).";
    CustomerCreated = "customer.created" => Customer, "A customer was created (by staff, with its first admin, or through the provisioning API).";
    CustomerUpdated = "customer.updated" => Nothing, "A customer's name or external id was changed.";
    CustomerViewedAs = "customer.viewed_as" => Nothing, "Vendor staff opened a customer's portal read-only.";
    EntitlementGranted = "entitlement.granted" => Customer, "An entitlement was granted to a customer.";
    EntitlementAmended = "entitlement.amended" => Customer, "An entitlement's plan, caps or regions were changed by staff or through the provisioning API.";
    EntitlementAddonAdded = "entitlement.addon_added" => Customer, "An add-on was added to an entitlement by an order.";
    EntitlementAmendmentProposed = "entitlement.amendment_proposed" => Nothing, "Staff proposed a change of terms that the approval rules send to two people; it waits for a second.";
    EntitlementAmendmentRejected = "entitlement.amendment_rejected" => Nothing, "A second member of staff rejected a proposed change of terms.";
    EntitlementSuspended = "entitlement.suspended" => Customer, "An entitlement was suspended, with a reason.";
    EntitlementResumed = "entitlement.resumed" => Customer, "A suspended entitlement was resumed.";
    EntitlementTrialEndSet = "entitlement.trial_end_set" => Customer, "A trial was extended (its end date set).";
    EntitlementRenewed = "entitlement.renewed" => Customer, "An entitlement was renewed for another term.";
    EntitlementCancelled = "entitlement.cancelled" => Customer, "An entitlement was cancelled.";
    EntitlementPlanVersionMoved = "entitlement.plan_version_moved" => Customer, "An entitlement moved to its plan's newest version.";
    SeatAssigned = "seat.assigned" => Customer, "A seat was assigned to a user.";
    SeatFreed = "seat.freed" => Customer, "A user's seat was freed.";
    InstanceActivated = "instance.activated" => Customer, "An instance was activated under an entitlement.";
    InstanceDeactivated = "instance.deactivated" => Customer, "An instance was deactivated, freeing its slot.";
    InstanceLapsed = "instance.lapsed" => Customer, "An instance's heartbeat lapsed and its slot was freed.";
    InstanceLicensed = "instance.licensed" => Customer, "An offline licence was issued to an instance; it holds its slot until the licence expires.";
    LicenseKeyCreated = "license_key.created" => Customer, "An entitlement that had no license key was given one.";
    LicenseKeyRegenerated = "license_key.regenerated" => Customer, "An entitlement's license key was replaced; the old one stopped working at once.";
    LicenseKeyViewed = "license_key.viewed" => Nothing, "Vendor staff, or the vendor's systems through the provisioning API, read a customer's license key.";
    UsageRecorded = "usage.recorded" => Nothing, "A batch of usage events was counted.";
    RequestFiled = "request.filed" => Nothing, "A customer admin asked for a change.";
    RequestWithdrawn = "request.withdrawn" => Nothing, "A pending change request was withdrawn.";
    RequestApprovalRecorded = "request.approval_recorded" => Nothing, "A first of two approvals was recorded.";
    RequestApproved = "request.approved" => Customer, "Staff approved a change request; it applied or was scheduled.";
    RequestAutoApproved = "request.auto_approved" => Customer, "An approval rule approved a change request at filing.";
    RequestRejected = "request.rejected" => Nothing, "Staff rejected a change request with a comment.";
    RequestApplied = "request.applied" => Customer, "A change approved for the renewal date was applied.";
    OrderPlaced = "order.placed" => Nothing, "The vendor's CRM or billing placed an order (SKU, quantity, term); the changes it made are events of their own.";
    CatalogProductAdded = "catalog.product_added" => Catalog, "A product was added to the catalog.";
    CatalogFeatureAdded = "catalog.feature_added" => Catalog, "A feature was added to a product.";
    CatalogPlanSaved = "catalog.plan_saved" => Catalog, "A plan was saved as a new version.";
    CatalogAddonAdded = "catalog.addon_added" => Catalog, "An add-on was added to a product.";
    CatalogRuleAdded = "catalog.rule_added" => Catalog, "An approval rule was added.";
    CatalogRuleRetired = "catalog.rule_retired" => Catalog, "An approval rule was retired.";
    CatalogSkuSet = "catalog.sku_set" => Nothing, "A SKU was set to sell a plan or an add-on.";
    CatalogSkuRemoved = "catalog.sku_removed" => Nothing, "A SKU was removed from the catalog.";
    ApiKeyCreated = "api_key.created" => Catalog, "A vendor API key was created.";
    ApiKeyRotated = "api_key.rotated" => Catalog, "A vendor API key was replaced by a new one.";
    ApiKeyRevoked = "api_key.revoked" => Catalog, "A vendor API key was revoked.";
    ApiKeyScopesChanged = "api_key.scopes_changed" => Catalog, "A vendor API key's scopes were changed.";
    SigningKeyCreated = "signing_key.created" => SigningKeys, "A new signing key became the one that signs licences.";
    SigningKeyRetired = "signing_key.retired" => SigningKeys, "A signing key left the JWKS.";
    QuotaThresholdReached = "quota.threshold_reached" => Nothing, "A metered feature's use this period reached 80% or 100% of its quota (`feature`, `percent`, `period`); once each a period.";
    EntitlementTrialEnding = "entitlement.trial_ending" => Nothing, "A trial ends in 7 days or less; once a trial end.";
    EntitlementEnding = "entitlement.ending" => Nothing, "An entitlement that does not renew ends in 30 days, then in 7 (`days`); once each an end date.";
    SeatCapReached = "seat.cap_reached" => Nothing, "The last free seat of an entitlement was assigned.";
    InstanceCapReached = "instance.cap_reached" => Nothing, "The last free instance slot of an entitlement was taken.";
    WebhookEndpointCreated = "webhook.endpoint_created" => Nothing, "A vendor admin, or the vendor's systems through the API, added a webhook endpoint.";
    WebhookEndpointUpdated = "webhook.endpoint_updated" => Nothing, "A webhook endpoint's address, description or event types were changed.";
    WebhookEndpointEnabled = "webhook.endpoint_enabled" => Nothing, "A disabled webhook endpoint was enabled again; it goes on from the event it had reached.";
    WebhookEndpointDisabled = "webhook.endpoint_disabled" => Nothing, "A webhook endpoint was disabled: by hand, or because every attempt to it failed for the set time (`reason`).";
    WebhookEndpointRemoved = "webhook.endpoint_removed" => Nothing, "A webhook endpoint was removed with its delivery log.";
    WebhookSecretRotated = "webhook.secret_rotated" => Nothing, "A webhook endpoint was given a new signing secret; the one before signs too until `previous_signs_until`.";
    WebhookDeliveryResent = "webhook.delivery_resent" => Nothing, "A webhook delivery was sent again by hand.";
    DemoSeeded = "demo.seeded" => Customer, "The demo data was written at first start.";
    DemoPlanSwitched = "demo.plan_switched" => Customer, "Sales switched the demo customer's plan.";
    DemoReset = "demo.reset" => Customer, "Sales reset the demo customer.";
    BenchSeeded = "bench.seeded" => Customer, "The benchmark data was written.";
}

impl EventKind {
    /// Whether the event feed (and what reads it) publishes this kind: the changes to
    /// customers, their people, entitlements, seats, instances, license keys, usage,
    /// requests, orders and the catalog, the notices derived from them (a quota's
    /// threshold, a trial or term ending, a cap reached) and a webhook endpoint disabled.
    /// Sign-ins and passwords, single sign-on settings, staff reading something, proposals
    /// waiting for a second member of staff, the vendor's own API and signing keys, the
    /// other changes of webhook endpoints and the demo stay in the audit log only.
    pub const fn published(self) -> bool {
        use EventKind::*;
        !matches!(
            self,
            UserCreated
                | UserSignedIn
                | UserSignedOut
                | UserSignedOutEverywhere
                | UserSignInFailed
                | UserSsoRefused
                | UserSignInLocked
                | UserPasswordChanged
                | UserPasswordResetIssued
                | UserPasswordReset
                | SsoProviderSaved
                | SsoProviderRemoved
                | SsoDomainClaimed
                | SsoDomainConfirmed
                | SsoDomainRemoved
                | StaffDomainAllowed
                | StaffDomainRemoved
                | CustomerViewedAs
                | LicenseKeyViewed
                | EntitlementAmendmentProposed
                | EntitlementAmendmentRejected
                | ApiKeyCreated
                | ApiKeyRotated
                | ApiKeyRevoked
                | ApiKeyScopesChanged
                | SigningKeyCreated
                | SigningKeyRetired
                | WebhookEndpointCreated
                | WebhookEndpointUpdated
                | WebhookEndpointEnabled
                | WebhookEndpointRemoved
                | WebhookSecretRotated
                | WebhookDeliveryResent
                | DemoSeeded
                | DemoPlanSwitched
                | DemoReset
                | BenchSeeded
        )
    }

    /// The kind named `name`; `None` for a name outside the catalog.
    pub fn parse(name: &str) -> Option<EventKind> {
        EventKind::ALL.iter().copied().find(|k| k.as_str() == name)
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a committed write changed: what the enforcement snapshots, the signing keys and
/// the other replicas must re-read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Customers whose entitlements, seats, instances or users changed.
    pub customers: BTreeSet<i64>,
    /// The catalog or the API keys changed.
    pub catalog: bool,
    /// The signing keys changed.
    pub signing_keys: bool,
    /// The events recorded, in order.
    pub events: Vec<EventKind>,
}

impl Changes {
    /// A change to `customer` alone, without an event of its own.
    pub fn of_customer(customer: i64) -> Changes {
        Changes { customers: [customer].into(), ..Changes::default() }
    }

    /// Notes an event of `kind` about `customer`.
    pub fn note(&mut self, kind: EventKind, customer: Option<i64>) {
        self.events.push(kind);
        match kind.touches() {
            Touches::Customer => self.customers.extend(customer),
            Touches::Catalog => self.catalog = true,
            Touches::SigningKeys => self.signing_keys = true,
            Touches::Nothing => {}
        }
    }

    /// Whether anything needs re-reading.
    pub fn is_empty(&self) -> bool {
        self.customers.is_empty() && !self.catalog && !self.signing_keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_name_is_unique_dotted_and_parses_back() {
        let mut seen = BTreeSet::new();
        for kind in EventKind::ALL {
            let name = kind.as_str();
            assert!(seen.insert(name), "{name} is in the catalog twice");
            let (noun, verb) = name.split_once('.').unwrap_or_else(|| panic!("{name} is not dotted"));
            assert!(!noun.is_empty() && !verb.is_empty() && !verb.contains('.'), "{name}");
            assert!(name.chars().all(|c| c.is_ascii_lowercase() || c == '_' || c == '.'), "{name}");
            assert_eq!(EventKind::parse(name), Some(*kind));
            assert!(!kind.description().is_empty());
        }
        assert_eq!(EventKind::parse("seat.stolen"), None);
    }

    #[test]
    fn the_readme_documents_every_event_of_the_catalog_and_no_other() {
        let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"));
        let section = readme.split("## The event catalog").nth(1).and_then(|s| s.split("\n## ").next()).unwrap_or_default();
        let documented: Vec<&str> =
            section.lines().filter_map(|l| l.strip_prefix("| `")).filter_map(|l| l.split_once('`')).map(|(name, _)| name).collect();
        let catalog: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(documented, catalog, "README's event catalog, in catalog order");
        for kind in EventKind::ALL {
            assert!(section.contains(kind.description()), "README describes {kind} as the code does");
        }
    }

    #[test]
    fn changes_collect_customers_catalog_and_keys_from_their_events() {
        let mut changes = Changes::default();
        changes.note(EventKind::RequestFiled, Some(1));
        assert!(changes.is_empty(), "a filed request changes nothing enforcement reads");
        changes.note(EventKind::SeatAssigned, Some(7));
        changes.note(EventKind::SeatFreed, Some(7));
        changes.note(EventKind::ApiKeyRevoked, None);
        changes.note(EventKind::SigningKeyRetired, None);
        assert_eq!(changes.customers.into_iter().collect::<Vec<_>>(), vec![7]);
        assert!(changes.catalog && changes.signing_keys);
        assert_eq!(changes.events.len(), 5);
    }
}
