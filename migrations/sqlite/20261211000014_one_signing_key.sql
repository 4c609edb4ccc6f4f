-- One signing key signs at a time. Replicas started together on an empty database could
-- each make a first key: all but the newest stop signing (they keep verifying), and the
-- schema holds the rule from now on.

UPDATE signing_keys SET active = 0
WHERE active = 1 AND kid <> (SELECT kid FROM signing_keys WHERE active = 1 ORDER BY created_at DESC, kid LIMIT 1);
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (active) WHERE active = 1;
