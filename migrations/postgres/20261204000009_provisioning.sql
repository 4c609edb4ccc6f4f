-- The vendor's back office drives Tessera through the provisioning API: customers and
-- entitlements carry the CRM's own ids, orders name the catalog by SKU, a retried call
-- with the same Idempotency-Key is answered once, and an API key may give an approval.

-- The CRM's or billing system's own id for a customer and for an entitlement.
ALTER TABLE customers ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX customers_external_id_unique ON customers (external_id);
ALTER TABLE entitlements ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX entitlements_external_id_unique ON entitlements (external_id);

-- What an order's SKU sells: a plan (every version of it) or an add-on of a product.
CREATE TABLE skus (
    sku         TEXT    PRIMARY KEY,
    product_id  BIGINT  NOT NULL REFERENCES products (id),
    plan_key    TEXT,
    addon_key   TEXT,
    created_at  BIGINT  NOT NULL,
    CHECK ((plan_key IS NULL) <> (addon_key IS NULL))
);

-- Calls made with an Idempotency-Key, per API key, kept a day: the first call's request
-- (a fingerprint of its method, path and body) and, once answered, its response.
CREATE TABLE idempotency_keys (
    api_key_id   BIGINT  NOT NULL REFERENCES api_keys (id),
    key          TEXT    NOT NULL,
    fingerprint  TEXT    NOT NULL,
    started_at   BIGINT  NOT NULL,
    status       BIGINT,
    headers      TEXT,
    body         TEXT,
    PRIMARY KEY (api_key_id, key)
);
CREATE INDEX idempotency_keys_started_idx ON idempotency_keys (started_at);

-- An approval is a person's (`user:<id>`) or the vendor's systems' through an API key
-- (`api`, one for all keys, so that two keys never make two approvals).
ALTER TABLE request_approvals DROP CONSTRAINT request_approvals_pkey;
ALTER TABLE request_approvals ADD COLUMN approver TEXT;
UPDATE request_approvals SET approver = 'user:' || user_id;
ALTER TABLE request_approvals ALTER COLUMN approver SET NOT NULL;
ALTER TABLE request_approvals ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE request_approvals ADD COLUMN api_key_id BIGINT REFERENCES api_keys (id);
ALTER TABLE request_approvals ADD CONSTRAINT request_approvals_pkey PRIMARY KEY (request_id, approver);

-- Events are read in order of their sequence number; the feed filters by kind.
CREATE INDEX audit_events_kind_idx ON audit_events (kind, seq);
