-- The browser boundary: sign-ins a user can see and end, and failed sign-ins counted per
-- account and per client address so that guessing slows down and then stops.

-- Each signed-in browser. The session cookie names one of these (by `id`, a random
-- handle); a sign-in with `ended_at` set signs no one in, whatever session names it.
CREATE TABLE sign_ins (
    id            TEXT    PRIMARY KEY,
    user_id       BIGINT  NOT NULL REFERENCES users (id),
    started_at    BIGINT  NOT NULL,
    last_seen_at  BIGINT  NOT NULL,
    address       TEXT    NOT NULL DEFAULT '',
    user_agent    TEXT    NOT NULL DEFAULT '',
    ended_at      BIGINT
);
CREATE INDEX sign_ins_user_idx ON sign_ins (user_id, ended_at);

-- Failed sign-ins in a row, per subject: `account:<email>` (known or not, so that a lock
-- tells nothing of which emails exist) or `address:<client address>`.
CREATE TABLE sign_in_failures (
    subject          TEXT    PRIMARY KEY,
    failures         BIGINT  NOT NULL,
    last_failure_at  BIGINT  NOT NULL,
    locked_until     BIGINT
);

-- What the deployment's secret is checked against at start (a keyed hash of a fixed text
-- under it), so that a wrong secret stops the server before anything is written under it.
CREATE TABLE deployment (
    id            BIGINT  PRIMARY KEY CHECK (id = 1),
    secret_check  TEXT    NOT NULL
);

-- What a link made for a user is for: `join` (an invitation) or `reset` (a new password
-- for someone who has one).
ALTER TABLE invitations ADD COLUMN purpose TEXT NOT NULL DEFAULT 'join' CHECK (purpose IN ('join', 'reset'));
