-- user_create.sql: recovery.UserCreator.CreateUser, one statement.
-- Takes $1 pool, $2 sub, $3 sub_key, $4 username, $5 username_key, $6 email,
-- $7 email_verified, $8 phone_number, $9 phone_number_verified,
-- $10 preferred_username, $11 enabled, $12 status, $13 password_hash (NULL:
-- none), $14 attributes (jsonb), $15 sms_mfa, $16 email_mfa, $17 alias keys
-- (text[], distinct), $18 the attribute of each alias (text[]).
-- Inserts the user and its aliases; returns one row with the sub. A taken
-- sub or username violates recovery_users_pkey or
-- recovery_users_username_key_idx, a taken alias
-- recovery_user_aliases_pkey (unique_violation, 23505).
WITH u AS (
    INSERT INTO /* TEMPLATE: schema */recovery_users (
        pool, sub, sub_key, username, username_key, email, email_verified, phone_number,
        phone_number_verified, preferred_username, enabled, status, password_hash, attributes,
        sms_mfa, email_mfa)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
    RETURNING pool, sub
), a AS (
    INSERT INTO /* TEMPLATE: schema */recovery_user_aliases (pool, alias_key, sub, attribute)
    SELECT u.pool, k.alias_key, u.sub, k.attribute
    FROM u, unnest($17::text[], $18::text[]) AS k(alias_key, attribute)
)
SELECT sub FROM u
