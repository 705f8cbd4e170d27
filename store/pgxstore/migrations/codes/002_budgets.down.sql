-- codes/002_budgets.down.sql: back to version 1's functions and columns. Failed
-- checks are forgotten (version 1 kept them among its events). Replace
-- /* TEMPLATE: schema */ as for the up file; then run the function
-- definitions of 001_init.up.sql again (recovery_codes_lapse, recovery_issue
-- and recovery_check), which this file cannot repeat without copying them.

DROP FUNCTION IF EXISTS /* TEMPLATE: schema */recovery_abort(text);
DROP FUNCTION IF EXISTS /* TEMPLATE: schema */recovery_check(text, text, text[], bytea[], boolean, timestamptz, integer, interval, integer, interval);
DROP FUNCTION IF EXISTS /* TEMPLATE: schema */recovery_issue(text, text, text, bytea, timestamptz, timestamptz, integer, integer, interval, integer, interval);
DROP FUNCTION IF EXISTS /* TEMPLATE: schema */recovery_codes_gate(/* TEMPLATE: schema */recovery_codes, timestamptz, interval, integer, integer, boolean);
DROP FUNCTION IF EXISTS /* TEMPLATE: schema */recovery_codes_charge(timestamptz[], timestamptz, integer);
DROP FUNCTION IF EXISTS /* TEMPLATE: schema */recovery_codes_lapse(timestamptz, timestamptz, timestamptz, timestamptz, integer, timestamptz, interval, interval);
UPDATE /* TEMPLATE: schema */recovery_codes SET used = true WHERE hash IS NULL;
ALTER TABLE /* TEMPLATE: schema */recovery_codes DROP COLUMN misses;
ALTER TABLE /* TEMPLATE: schema */recovery_codes RENAME COLUMN issues TO events;
