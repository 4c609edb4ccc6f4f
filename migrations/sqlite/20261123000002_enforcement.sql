-- Enforcement: feature rules as data, API keys, instances, metered usage, signing keys.

-- What a feature requires under a plan, as a JSON rule (see app/src/engine/rules.rs).
ALTER TABLE plan_features ADD COLUMN rule TEXT NOT NULL DEFAULT '"always"';

CREATE TABLE api_keys (
    id          INTEGER PRIMARY KEY,
    product_id  INTEGER NOT NULL REFERENCES products (id),
    name        TEXT    NOT NULL,
    prefix      TEXT    NOT NULL,
    key_hash    TEXT    NOT NULL CONSTRAINT api_keys_hash_unique UNIQUE,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);

CREATE TABLE instances (
    id                 INTEGER PRIMARY KEY,
    entitlement_id     INTEGER NOT NULL REFERENCES entitlements (id),
    fingerprint        TEXT    NOT NULL,
    name               TEXT,
    activated_at       INTEGER NOT NULL,
    last_heartbeat_at  INTEGER NOT NULL,
    deactivated_at     INTEGER
);
CREATE INDEX instances_entitlement_idx ON instances (entitlement_id, deactivated_at);

CREATE TABLE usage_events (
    id              INTEGER PRIMARY KEY,
    entitlement_id  INTEGER NOT NULL REFERENCES entitlements (id),
    feature_id      INTEGER NOT NULL REFERENCES features (id),
    event_id        TEXT    NOT NULL,
    quantity        INTEGER NOT NULL CHECK (quantity >= 0),
    at              INTEGER NOT NULL,
    received_at     INTEGER NOT NULL,
    CONSTRAINT usage_events_event_unique UNIQUE (entitlement_id, event_id)
);

-- Daily roll-up of usage_events, kept in the same transaction as the events.
CREATE TABLE usage_daily (
    entitlement_id  INTEGER NOT NULL REFERENCES entitlements (id),
    feature_id      INTEGER NOT NULL REFERENCES features (id),
    day             INTEGER NOT NULL,
    quantity        INTEGER NOT NULL,
    PRIMARY KEY (entitlement_id, feature_id, day)
);

CREATE TABLE signing_keys (
    kid          TEXT    PRIMARY KEY,
    secret_key   TEXT    NOT NULL,
    public_key   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    retired_at   INTEGER,
    active       INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1))
);
