-- users/001_init.down.sql: removes everything users/001_init.up.sql created, data
-- included. pgxstore.Migrate never runs it; it is here for migration tools
-- that pair each up file with a down file. Replace /* TEMPLATE: schema */ as
-- for the up file.
DROP FUNCTION IF EXISTS /* TEMPLATE: schema */recovery_upsert_user(text, text, text, text, text, text, text, boolean, text, boolean, text, boolean, text, text, jsonb, boolean, boolean, text[], text[]);
DROP TABLE IF EXISTS /* TEMPLATE: schema */recovery_user_aliases;
DROP TABLE IF EXISTS /* TEMPLATE: schema */recovery_users;
