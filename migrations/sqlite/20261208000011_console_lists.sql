-- The console's lists at a vendor's size: customers paged by name, entitlements found by
-- the date that is coming (trials ending, terms ending, renewals), and counted by plan
-- without reading every entitlement.

CREATE INDEX customers_name_idx ON customers (name, id);
CREATE INDEX entitlements_trial_ends_idx ON entitlements (trial_ends_at) WHERE status = 'trial';
CREATE INDEX entitlements_ends_idx ON entitlements (ends_at) WHERE ends_at IS NOT NULL;
CREATE INDEX entitlements_renews_idx ON entitlements (renews_at) WHERE renews_at IS NOT NULL;
CREATE INDEX entitlements_plan_idx ON entitlements (plan_id);
