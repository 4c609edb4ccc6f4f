-- The vendor console: approval rules, second approvals and changes scheduled for renewal.

-- Rules are data: which change requests need no human (`auto_approve`) and which need a
-- second approval by other staff (`two_approvals`). A rule matches a request of its kind
-- on an entitlement of its plan (any plan when `plan_key` is NULL), asking for seats in
-- [min_seats, max_seats] and a plan jump of at least `min_rank_jump` tiers, where set.
CREATE TABLE approval_rules (
    id             INTEGER PRIMARY KEY,
    product_id     INTEGER NOT NULL REFERENCES products (id),
    effect         TEXT    NOT NULL CHECK (effect IN ('auto_approve', 'two_approvals')),
    kind           TEXT    NOT NULL CHECK (kind IN ('plan', 'seats', 'addon', 'renewal')),
    plan_key       TEXT,
    min_seats      INTEGER CHECK (min_seats IS NULL OR min_seats > 0),
    max_seats      INTEGER CHECK (max_seats IS NULL OR max_seats > 0),
    min_rank_jump  INTEGER CHECK (min_rank_jump IS NULL OR min_rank_jump > 0),
    created_at     INTEGER NOT NULL,
    retired_at     INTEGER
);

-- Each approval of a request that needs more than one, from different staff.
CREATE TABLE request_approvals (
    request_id  INTEGER NOT NULL REFERENCES change_requests (id),
    user_id     INTEGER NOT NULL REFERENCES users (id),
    comment     TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (request_id, user_id)
);

-- How many approvals a request needs, fixed when it is filed.
ALTER TABLE change_requests ADD COLUMN approvals_needed INTEGER NOT NULL DEFAULT 1;
-- An approved change asked for at renewal applies on `applies_at`; `applied_at` says when
-- it did (for a change applied on approval, the approval's time).
ALTER TABLE change_requests ADD COLUMN applies_at INTEGER;
ALTER TABLE change_requests ADD COLUMN applied_at INTEGER;
CREATE INDEX change_requests_due_idx ON change_requests (status, applied_at, applies_at);
