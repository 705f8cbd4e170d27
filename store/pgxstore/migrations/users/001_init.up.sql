-- users/001_init.up.sql: the reference user store (pgxstore.UserStore),
-- version 1 of its own track: pgxstore.MigrateUsers applies it, only for
-- services that keep their users in recovery_users rather than in a table
-- of their own (TableUserStore). The schema marker works as in the code
-- store's files. Every statement is idempotent, because schemas migrated
-- before the tracks were split already hold these tables.

------------------------------------------------------------------------------
-- Reference user store
------------------------------------------------------------------------------

-- One row per user. The *_key columns hold recovery.FoldIdentifier of the
-- column they follow, computed by the Go code that writes the row.
-- email, email_verified, phone_number, phone_number_verified and
-- preferred_username are these Cognito attributes; attributes holds every
-- other attribute (locale, custom:*) as a JSON object of strings.
-- password_hash is the current hash (NULL: none); password_history the
-- previous ones, newest first, at most 23 (24 with the current one).
CREATE TABLE IF NOT EXISTS /* TEMPLATE: schema */recovery_users (
    pool                  text        NOT NULL,
    sub                   text        NOT NULL,
    sub_key               text        NOT NULL,
    username              text        NOT NULL,
    username_key          text        NOT NULL,
    email                 text,
    email_verified        boolean     NOT NULL DEFAULT false,
    phone_number          text,
    phone_number_verified boolean     NOT NULL DEFAULT false,
    preferred_username    text,
    enabled               boolean     NOT NULL DEFAULT true,
    status                text        NOT NULL DEFAULT 'CONFIRMED',
    password_hash         text,
    password_history      text[]      NOT NULL DEFAULT '{}',
    attributes            jsonb       NOT NULL DEFAULT '{}',
    sms_mfa               boolean     NOT NULL DEFAULT false,
    email_mfa             boolean     NOT NULL DEFAULT false,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (sub, pool)
);

-- Every index of the user tables leads with the looked-up key and ends
-- with pool, so each lookup (which always names both) can use exactly one
-- index: a generic plan made while the table is new and unanalyzed cannot
-- pick another index by pool alone and filter a whole pool.
CREATE UNIQUE INDEX IF NOT EXISTS recovery_users_username_key_idx ON /* TEMPLATE: schema */recovery_users (username_key, pool);
CREATE INDEX IF NOT EXISTS recovery_users_sub_key_idx ON /* TEMPLATE: schema */recovery_users (sub_key, pool);

COMMENT ON TABLE /* TEMPLATE: schema */recovery_users IS
    'recoverykit pgxstore: the reference user store (recovery.UserStore)';

-- The aliases that identify a user besides username and sub: the folded
-- preferred_username, and the folded email and phone_number while verified.
-- The primary key makes "a verified alias belongs to at most one user" hold
-- across the three attributes (a preferred_username cannot be another
-- user's verified email either). attribute names where the alias comes from.
CREATE TABLE IF NOT EXISTS /* TEMPLATE: schema */recovery_user_aliases (
    pool      text NOT NULL,
    alias_key text NOT NULL,
    sub       text NOT NULL,
    attribute text NOT NULL CHECK (attribute IN ('preferred_username', 'email', 'phone_number')),
    PRIMARY KEY (alias_key, pool),
    FOREIGN KEY (sub, pool) REFERENCES /* TEMPLATE: schema */recovery_users (sub, pool)
        ON DELETE CASCADE ON UPDATE CASCADE
);

CREATE INDEX IF NOT EXISTS recovery_user_aliases_sub_idx ON /* TEMPLATE: schema */recovery_user_aliases (sub, pool);

-- recovery_upsert_user(pool, sub, new_sub, sub_key, username, username_key,
-- email, email_verified, phone_number, phone_number_verified,
-- preferred_username, enabled, status, password_hash, attributes, sms_mfa,
-- email_mfa, alias_keys, alias_attributes) inserts or updates one user and
-- returns its sub. sub NULL means the user whose username_key matches, or
-- else a new user with new_sub (and sub_key its folded form). password_hash
-- NULL keeps the stored one; a different one pushes the stored one into the
-- history. The user's aliases become exactly alias_keys (from
-- alias_attributes). A username, sub or alias that belongs to another user
-- raises unique_violation naming the constraint.
CREATE OR REPLACE FUNCTION /* TEMPLATE: schema */recovery_upsert_user(
    p_pool text, p_sub text, p_new_sub text, p_sub_key text, p_username text, p_username_key text,
    p_email text, p_email_verified boolean, p_phone_number text, p_phone_number_verified boolean,
    p_preferred_username text, p_enabled boolean, p_status text, p_password_hash text,
    p_attributes jsonb, p_sms_mfa boolean, p_email_mfa boolean,
    p_alias_keys text[], p_alias_attributes text[])
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_sub text := p_sub;
    v_sub_key text := p_sub_key;
    n integer;
BEGIN
    IF v_sub IS NULL THEN
        SELECT sub, sub_key INTO v_sub, v_sub_key FROM /* TEMPLATE: schema */recovery_users
            WHERE pool = p_pool AND username_key = p_username_key;
        IF NOT FOUND THEN
            v_sub := p_new_sub;
            v_sub_key := p_sub_key;
        END IF;
    END IF;

    INSERT INTO /* TEMPLATE: schema */recovery_users AS u (
        pool, sub, sub_key, username, username_key, email, email_verified, phone_number,
        phone_number_verified, preferred_username, enabled, status, password_hash, attributes,
        sms_mfa, email_mfa)
    VALUES (p_pool, v_sub, v_sub_key, p_username, p_username_key, p_email, p_email_verified,
        p_phone_number, p_phone_number_verified, p_preferred_username, p_enabled, p_status,
        p_password_hash, p_attributes, p_sms_mfa, p_email_mfa)
    ON CONFLICT (sub, pool) DO UPDATE SET
        username = EXCLUDED.username, username_key = EXCLUDED.username_key,
        email = EXCLUDED.email, email_verified = EXCLUDED.email_verified,
        phone_number = EXCLUDED.phone_number, phone_number_verified = EXCLUDED.phone_number_verified,
        preferred_username = EXCLUDED.preferred_username, enabled = EXCLUDED.enabled,
        status = EXCLUDED.status, attributes = EXCLUDED.attributes,
        sms_mfa = EXCLUDED.sms_mfa, email_mfa = EXCLUDED.email_mfa,
        password_history = CASE
            WHEN EXCLUDED.password_hash IS NULL OR u.password_hash IS NULL
                OR EXCLUDED.password_hash = u.password_hash THEN u.password_history
            ELSE (ARRAY[u.password_hash] || u.password_history)[1:23] END,
        password_hash = coalesce(EXCLUDED.password_hash, u.password_hash),
        updated_at = now();

    DELETE FROM /* TEMPLATE: schema */recovery_user_aliases
        WHERE pool = p_pool AND sub = v_sub AND alias_key <> ALL (p_alias_keys);
    INSERT INTO /* TEMPLATE: schema */recovery_user_aliases AS a (pool, alias_key, sub, attribute)
        SELECT p_pool, k.alias_key, v_sub, k.attribute
        FROM unnest(p_alias_keys, p_alias_attributes) AS k(alias_key, attribute)
        ON CONFLICT (alias_key, pool) DO UPDATE SET attribute = EXCLUDED.attribute
            WHERE a.sub = EXCLUDED.sub;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n < coalesce(cardinality(p_alias_keys), 0) THEN
        RAISE unique_violation USING
            MESSAGE = 'an alias of the user belongs to another user',
            CONSTRAINT = 'recovery_user_aliases_pkey';
    END IF;
    RETURN v_sub;
END
$$;
