-- Webhooks: the vendor's systems are told of every published event. Deliveries are made
-- from the audit log itself (each endpoint keeps the sequence number it has read up to),
-- so an event committed is an event delivered, whatever happens between the two.

CREATE TABLE webhook_endpoints (
    id                INTEGER PRIMARY KEY,
    -- The product whose API keys manage it, when one made it; NULL: made in the console
    -- (vendor admins manage every endpoint).
    product_id        INTEGER REFERENCES products (id),
    url               TEXT    NOT NULL,
    description       TEXT    NOT NULL,
    -- The event types it receives, space-separated; empty for every published type.
    event_types       TEXT    NOT NULL,
    -- The signing secret, sealed under the deployment's secret; during a rotation the
    -- one before it too, until previous_until.
    secret            TEXT    NOT NULL,
    previous_secret   TEXT,
    previous_until    INTEGER,
    enabled           INTEGER NOT NULL,
    disabled_reason   TEXT,
    -- The audit log's sequence number it has been given deliveries up to.
    cursor            INTEGER NOT NULL,
    -- Since when every attempt has failed; NULL after a success.
    failing_since     INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);

CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY,
    endpoint_id      INTEGER NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_seq        INTEGER NOT NULL REFERENCES audit_events (seq),
    kind             TEXT    NOT NULL,
    -- pending, delivered or failed (given up after the retry window).
    status           TEXT    NOT NULL,
    attempts         INTEGER NOT NULL,
    -- When it is next tried, in Unix milliseconds; a dispatcher that takes it pushes
    -- this forward while it tries, so no other dispatcher takes it too.
    next_attempt_ms  INTEGER NOT NULL,
    first_attempt_at INTEGER,
    last_attempt_at  INTEGER,
    last_status      INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    UNIQUE (endpoint_id, event_seq)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (status, next_attempt_ms);
CREATE INDEX webhook_deliveries_created_idx ON webhook_deliveries (created_at);
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, status, id);

CREATE TABLE webhook_attempts (
    delivery_id  INTEGER NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt      INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    duration_ms  INTEGER NOT NULL,
    status       INTEGER,
    error        TEXT,
    response     TEXT,
    PRIMARY KEY (delivery_id, attempt)
);

-- Derived events (a quota's threshold, a trial or term ending, a cap reached) are
-- recorded once each: the notice's key is kept beside the event.
CREATE TABLE notices (
    key  TEXT    PRIMARY KEY,
    at   INTEGER NOT NULL
);
