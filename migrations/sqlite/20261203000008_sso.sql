-- Single sign-on for customers' people: each customer may connect its own OpenID Connect
-- provider, which answers for the email domains the vendor's staff have confirmed as the
-- customer's; vendor admins may let new staff of the vendor's own domains in through the
-- vendor's provider.

-- A customer's provider. The client secret is sealed under the deployment's secret.
CREATE TABLE identity_providers (
    customer_id        INTEGER PRIMARY KEY REFERENCES customers (id),
    issuer             TEXT    NOT NULL,
    client_id          TEXT    NOT NULL,
    client_secret      TEXT    NOT NULL,
    name               TEXT    NOT NULL,
    -- an unknown person of the customer's domains is made a member at first sign-in (1)
    -- or refused (0)
    create_users       INTEGER NOT NULL DEFAULT 0 CHECK (create_users IN (0, 1)),
    -- the customer's people may still sign in with a password (1) or only through it (0)
    passwords_allowed  INTEGER NOT NULL DEFAULT 1 CHECK (passwords_allowed IN (0, 1)),
    updated_at         INTEGER NOT NULL
);

-- The email domains a customer's provider answers for. A customer claims a domain; it
-- routes no one until the vendor's staff confirm it, and a domain is confirmed for one
-- customer at most.
CREATE TABLE sso_domains (
    id            INTEGER PRIMARY KEY,
    customer_id   INTEGER NOT NULL REFERENCES customers (id),
    domain        TEXT    NOT NULL,
    added_by      INTEGER REFERENCES users (id),
    added_at      INTEGER NOT NULL,
    confirmed_by  INTEGER REFERENCES users (id),
    confirmed_at  INTEGER,
    CONSTRAINT sso_domains_claim_unique UNIQUE (customer_id, domain)
);
CREATE UNIQUE INDEX sso_domains_confirmed_unique ON sso_domains (domain) WHERE confirmed_at IS NOT NULL;

-- The vendor's own domains whose people, unknown yet, a vendor admin lets in as staff at
-- their first sign-in through the vendor's provider.
CREATE TABLE staff_domains (
    domain    TEXT    PRIMARY KEY,
    added_by  INTEGER REFERENCES users (id),
    added_at  INTEGER NOT NULL
);

-- When a user first signed in through single sign-on (linked, invited or made then): such
-- a user is no longer waiting on an invitation, password or not.
ALTER TABLE users ADD COLUMN sso_at INTEGER;
