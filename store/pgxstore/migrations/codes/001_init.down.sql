-- codes/001_init.down.sql: removes everything codes/001_init.up.sql created, data
-- included. pgxstore.Migrate never runs it; it is here for migration tools
-- that pair each up file with a down file. Replace /* TEMPLATE: schema */ as
-- for the up file.

DROP FUNCTION IF EXISTS /* TEMPLATE: schema */recovery_allow(text, text[], integer[], bigint[], bigint);
DROP TABLE IF EXISTS /* TEMPLATE: schema */recovery_limits;
DROP FUNCTION IF EXISTS /* TEMPLATE: schema */recovery_check(text, text, text[], bytea[], boolean, timestamptz, integer, interval, integer, interval);
DROP FUNCTION IF EXISTS /* TEMPLATE: schema */recovery_issue(text, text, text, bytea, timestamptz, timestamptz, integer, interval, integer, interval);
DROP FUNCTION IF EXISTS /* TEMPLATE: schema */recovery_codes_lapse(timestamptz, timestamptz, timestamptz, integer, timestamptz, interval, interval);
DROP FUNCTION IF EXISTS /* TEMPLATE: schema */recovery_hash_equal(bytea, bytea);
DROP TABLE IF EXISTS /* TEMPLATE: schema */recovery_codes;
