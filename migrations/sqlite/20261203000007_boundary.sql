-- The browser boundary: sign-ins a user can see and end, and failed sign-ins counted per
-- account and per client address so that guessing slows down and then stops.

-- Each signed-in browser. The session cookie names one of these (by `id`, a random
-- handle); a sign-in with `ended_at` set signs no one in, whatever session names it.
CREATE TABLE sign_ins (
    id            TEXT    PRIMARY KEY,
    user_id       INTEGER  NOT NULL REFERENCES users (id),
    started_at    INTEGER  NOT NULL,
    last_seen_at  INTEGER  NOT NULL,
    address       TEXT    NOT NULL DEFAULT '',
    user_agent    TEXT    NOT NULL DEFAULT '',
    ended_at      INTEGER
);
CREATE INDEX sign_ins_user_idx ON sign_ins (user_id, ended_at);

-- Failed sign-ins in a row, per subject: `account:<email>` (known or not, so that a lock
-- tells nothing of which emails exist) or `address:<client address>`.
CREATE TABLE sign_in_failures (
    subject          TEXT    PRIMARY KEY,
    failures         INTEGER  NOT NULL,
    last_failure_at  INTEGER  NOT NULL,
    locked_until     INTEGER
);

-- What the deployment's secret is checked against at start (a keyed hash of a fixed text
-- under it), so that a wrong secret stops the server before anything is written under it.
CREATE TABLE deployment (
    id            INTEGER  PRIMARY KEY CHECK (id = 1),
    secret_check  TEXT    NOT NULL
);

-- What a link made for a user is for: `join` (an invitation) or `reset` (a new password
-- for someone who has one).
ALTER TABLE invitations ADD COLUMN purpose TEXT NOT NULL DEFAULT 'join' CHECK (purpose IN ('join', 'reset'));

-- How each audit event's link was computed: 1, SHA-256 (events written before this
-- migration); 2, HMAC-SHA-256 under a key derived from the deployment's secret, over the
-- actor's id too.
ALTER TABLE audit_events ADD COLUMN chain INTEGER NOT NULL DEFAULT 1;

-- Signed checkpoints of the chain's head, written periodically and by
-- `tessera audit checkpoint`: kept elsewhere, one shows whether the log was cut or
-- rewritten after it.
CREATE TABLE audit_checkpoints (
    seq    INTEGER  PRIMARY KEY,
    hash   TEXT    NOT NULL,
    at     INTEGER  NOT NULL,
    token  TEXT    NOT NULL
);

-- The audit log is append-only: rows are never changed or removed, and the head never
-- moves back.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_head_forward_only BEFORE UPDATE ON audit_head WHEN NEW.seq < OLD.seq
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

-- Changes of an entitlement's terms by staff that the approval rules send to two people
-- (a jump of tiers, many more seats): one member of staff proposes, another decides.
CREATE TABLE proposed_amendments (
    id              INTEGER PRIMARY KEY,
    entitlement_id  INTEGER  NOT NULL REFERENCES entitlements (id),
    terms_json      TEXT    NOT NULL,
    reason          TEXT    NOT NULL,
    proposed_by     INTEGER  NOT NULL REFERENCES users (id),
    proposed_at     INTEGER  NOT NULL,
    decided_by      INTEGER  REFERENCES users (id),
    decided_at      INTEGER,
    status          TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'applied', 'rejected'))
);
CREATE UNIQUE INDEX proposed_amendments_pending_idx ON proposed_amendments (entitlement_id) WHERE status = 'pending';
