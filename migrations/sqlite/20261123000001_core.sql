-- The core of the entitlement store. Times are integer Unix seconds (UTC);
-- flags are 0/1 integers, so that one store code path serves SQLite and PostgreSQL.

CREATE TABLE products (
    id          INTEGER PRIMARY KEY,
    key         TEXT    NOT NULL CONSTRAINT products_key_unique UNIQUE,
    name        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE features (
    id          INTEGER PRIMARY KEY,
    product_id  INTEGER NOT NULL REFERENCES products (id),
    key         TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    metered     INTEGER NOT NULL DEFAULT 0 CHECK (metered IN (0, 1)),
    unit        TEXT,
    CONSTRAINT features_product_key_unique UNIQUE (product_id, key)
);

CREATE TABLE plans (
    id          INTEGER PRIMARY KEY,
    product_id  INTEGER NOT NULL REFERENCES products (id),
    key         TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    version     INTEGER NOT NULL DEFAULT 1,
    rank        INTEGER NOT NULL,
    seats       INTEGER NOT NULL CHECK (seats >= 0),
    instances   INTEGER NOT NULL CHECK (instances >= 0),
    trial_days  INTEGER NOT NULL DEFAULT 14,
    grace_days  INTEGER NOT NULL DEFAULT 7,
    created_at  INTEGER NOT NULL,
    CONSTRAINT plans_product_key_version_unique UNIQUE (product_id, key, version)
);

CREATE TABLE plan_features (
    plan_id       INTEGER NOT NULL REFERENCES plans (id),
    feature_id    INTEGER NOT NULL REFERENCES features (id),
    quota         INTEGER CHECK (quota IS NULL OR quota >= 0),
    quota_period  TEXT CHECK (quota_period IS NULL OR quota_period IN ('day', 'month', 'year')),
    PRIMARY KEY (plan_id, feature_id)
);

CREATE TABLE customers (
    id          INTEGER PRIMARY KEY,
    slug        TEXT    NOT NULL CONSTRAINT customers_slug_unique UNIQUE,
    name        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    customer_id    INTEGER REFERENCES customers (id),
    email          TEXT    NOT NULL CONSTRAINT users_email_unique UNIQUE,
    name           TEXT    NOT NULL,
    role           TEXT    NOT NULL CHECK (role IN ('customer_admin', 'customer_member', 'vendor_admin', 'vendor_staff', 'sales')),
    password_hash  TEXT,
    external_id    TEXT    CONSTRAINT users_external_id_unique UNIQUE,
    disabled       INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at     INTEGER NOT NULL,
    -- customer roles belong to a customer, vendor roles to none
    CHECK ((role IN ('customer_admin', 'customer_member')) = (customer_id IS NOT NULL))
);
CREATE INDEX users_customer_idx ON users (customer_id);

CREATE TABLE entitlements (
    id                 INTEGER PRIMARY KEY,
    customer_id        INTEGER NOT NULL REFERENCES customers (id),
    product_id         INTEGER NOT NULL REFERENCES products (id),
    plan_id            INTEGER NOT NULL REFERENCES plans (id),
    status             TEXT    NOT NULL CHECK (status IN ('trial', 'active', 'suspended', 'expired', 'cancelled')),
    seats_override     INTEGER CHECK (seats_override IS NULL OR seats_override >= 0),
    instances_override INTEGER CHECK (instances_override IS NULL OR instances_override >= 0),
    starts_at          INTEGER NOT NULL,
    ends_at            INTEGER,
    renews_at          INTEGER,
    trial_ends_at      INTEGER,
    grace_days         INTEGER NOT NULL DEFAULT 7,
    auto_renew         INTEGER NOT NULL DEFAULT 1 CHECK (auto_renew IN (0, 1)),
    regions            TEXT,
    status_reason      TEXT,
    version            INTEGER NOT NULL DEFAULT 1,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    CONSTRAINT entitlements_customer_product_unique UNIQUE (customer_id, product_id)
);

CREATE TABLE seats (
    id              INTEGER PRIMARY KEY,
    entitlement_id  INTEGER NOT NULL REFERENCES entitlements (id),
    user_id         INTEGER NOT NULL REFERENCES users (id),
    assigned_at     INTEGER NOT NULL,
    CONSTRAINT seats_entitlement_user_unique UNIQUE (entitlement_id, user_id)
);
CREATE INDEX seats_user_idx ON seats (user_id);

-- Append-only, hash-chained record of every change. `audit_head` holds the
-- chain's tip; updating it first serialises writers on both engines.
CREATE TABLE audit_events (
    seq          INTEGER PRIMARY KEY,
    at           INTEGER NOT NULL,
    actor_id     INTEGER REFERENCES users (id),
    actor        TEXT    NOT NULL,
    customer_id  INTEGER REFERENCES customers (id),
    kind         TEXT    NOT NULL,
    subject      TEXT    NOT NULL,
    before_json  TEXT,
    after_json   TEXT,
    prev_hash    TEXT    NOT NULL,
    hash         TEXT    NOT NULL
);
CREATE INDEX audit_events_customer_idx ON audit_events (customer_id, seq);

CREATE TABLE audit_head (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    seq   INTEGER NOT NULL,
    hash  TEXT    NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
