-- The vendor's software at a customer's site: scoped API keys, one license key per
-- entitlement, opaque instance ids, offline licences and air-gapped activation.

-- What an API key may do, space-separated: `enforce`, `provision`, `read`. Keys issued
-- before scopes existed keep what they could do: enforce.
ALTER TABLE api_keys ADD COLUMN scopes TEXT NOT NULL DEFAULT 'enforce';

-- License keys: the credential a customer's admin types into the vendor's software. Only a
-- keyed hash (`lookup`) and the key sealed under the deployment's secret are kept, so a copy
-- of the database alone cannot use one. One live key per entitlement.
CREATE TABLE license_keys (
    id              INTEGER PRIMARY KEY,
    entitlement_id  INTEGER NOT NULL REFERENCES entitlements (id),
    key_id          TEXT    NOT NULL CONSTRAINT license_keys_key_id_unique UNIQUE,
    lookup          TEXT    NOT NULL CONSTRAINT license_keys_lookup_unique UNIQUE,
    sealed          TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    revoked_at      INTEGER
);
CREATE UNIQUE INDEX license_keys_live_idx ON license_keys (entitlement_id) WHERE revoked_at IS NULL;

-- Instances get an opaque id for the API; the integer stays internal.
ALTER TABLE instances ADD COLUMN public_id TEXT;
UPDATE instances SET public_id = 'ins_' || lower(hex(randomblob(16))) WHERE public_id IS NULL;
CREATE UNIQUE INDEX instances_public_id_idx ON instances (public_id);
-- A machine holding an offline licence keeps its slot until the licence expires, whether
-- or not it sends heartbeats.
ALTER TABLE instances ADD COLUMN offline_until INTEGER;

-- How long a site may stay offline under a plan: 0 = online only.
ALTER TABLE plans ADD COLUMN offline_days INTEGER NOT NULL DEFAULT 30 CHECK (offline_days >= 0 AND offline_days <= 3650);

-- Air-gapped documents already used, so that each counts once.
CREATE TABLE offline_nonces (
    key_id   TEXT    NOT NULL,
    nonce    TEXT    NOT NULL,
    used_at  INTEGER NOT NULL,
    PRIMARY KEY (key_id, nonce)
);
