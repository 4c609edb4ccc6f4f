-- The sales demo: customers flagged demo are the only ones the demo controls change.
ALTER TABLE customers ADD COLUMN demo INTEGER NOT NULL DEFAULT 0 CHECK (demo IN (0, 1));
