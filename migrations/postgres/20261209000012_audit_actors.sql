-- The audit log searched by who acted at a vendor's size: everyone who has ever acted, once
-- (a few thousand names where the log holds millions of events), and each one's events by
-- the index, newest first. A search reads the names, then only the events of those matching.

CREATE TABLE audit_actors (actor TEXT PRIMARY KEY);
INSERT INTO audit_actors (actor) SELECT DISTINCT actor FROM audit_events;
CREATE INDEX audit_events_actor_idx ON audit_events (actor, seq);
