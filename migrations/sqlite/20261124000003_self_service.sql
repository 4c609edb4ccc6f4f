-- Self-service: invitations, add-ons, change requests, and the daily seat and instance
-- figures the charts show.

-- An invitation lets a new user of a customer set their password, once, before it expires.
-- Only the hash of its token is kept; the link is shown once, to the admin who made it.
CREATE TABLE invitations (
    id           INTEGER PRIMARY KEY,
    customer_id  INTEGER NOT NULL REFERENCES customers (id),
    user_id      INTEGER NOT NULL REFERENCES users (id),
    token_hash   TEXT    NOT NULL CONSTRAINT invitations_token_unique UNIQUE,
    invited_by   INTEGER REFERENCES users (id),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    accepted_at  INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX invitations_user_idx ON invitations (user_id);

-- Add-ons: features, quotas and extra seats or instances sold on top of a plan.
CREATE TABLE addons (
    id          INTEGER PRIMARY KEY,
    product_id  INTEGER NOT NULL REFERENCES products (id),
    key         TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    seats       INTEGER NOT NULL DEFAULT 0 CHECK (seats >= 0),
    instances   INTEGER NOT NULL DEFAULT 0 CHECK (instances >= 0),
    created_at  INTEGER NOT NULL,
    CONSTRAINT addons_product_key_unique UNIQUE (product_id, key)
);

CREATE TABLE addon_features (
    addon_id      INTEGER NOT NULL REFERENCES addons (id),
    feature_id    INTEGER NOT NULL REFERENCES features (id),
    quota         INTEGER CHECK (quota IS NULL OR quota >= 0),
    quota_period  TEXT CHECK (quota_period IS NULL OR quota_period IN ('day', 'month', 'year')),
    rule          TEXT    NOT NULL DEFAULT '"always"',
    PRIMARY KEY (addon_id, feature_id)
);

CREATE TABLE entitlement_addons (
    entitlement_id  INTEGER NOT NULL REFERENCES entitlements (id),
    addon_id        INTEGER NOT NULL REFERENCES addons (id),
    added_at        INTEGER NOT NULL,
    PRIMARY KEY (entitlement_id, addon_id)
);

-- What a customer admin asks for; staff decide. `entitlement_version` is the version the
-- request was made against, so that a decision can tell when the entitlement moved since.
CREATE TABLE change_requests (
    id                   INTEGER PRIMARY KEY,
    customer_id          INTEGER NOT NULL REFERENCES customers (id),
    entitlement_id       INTEGER NOT NULL REFERENCES entitlements (id),
    kind                 TEXT    NOT NULL CHECK (kind IN ('plan', 'seats', 'addon', 'renewal')),
    target_plan_id       INTEGER REFERENCES plans (id),
    seats                INTEGER CHECK (seats IS NULL OR seats > 0),
    addon_id             INTEGER REFERENCES addons (id),
    at_renewal           INTEGER NOT NULL DEFAULT 0 CHECK (at_renewal IN (0, 1)),
    reason               TEXT    NOT NULL,
    status               TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected', 'withdrawn')),
    entitlement_version  INTEGER NOT NULL,
    requested_by         INTEGER NOT NULL REFERENCES users (id),
    created_at           INTEGER NOT NULL,
    decided_by           INTEGER REFERENCES users (id),
    decided_at           INTEGER,
    comment              TEXT,
    updated_at           INTEGER NOT NULL
);
CREATE INDEX change_requests_customer_idx ON change_requests (customer_id, created_at);
CREATE INDEX change_requests_status_idx ON change_requests (status, created_at);

-- Seats used and live instances per entitlement and day: the day's peak and its last value
-- (which carries over days without a change).
CREATE TABLE entitlement_daily (
    entitlement_id  INTEGER NOT NULL REFERENCES entitlements (id),
    day             INTEGER NOT NULL,
    seats_peak      INTEGER NOT NULL,
    seats_end       INTEGER NOT NULL,
    instances_peak  INTEGER NOT NULL,
    instances_end   INTEGER NOT NULL,
    PRIMARY KEY (entitlement_id, day)
);
