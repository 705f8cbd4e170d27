-- code_revoke.sql: recovery.CodeStore.Revoke, one statement.
-- Takes $1 pool, $2 user_key, $3 key_id, $4 hash.
-- Marks the current code used when it is still that code (same key id,
-- equal hash, compared with recovery_hash_equal); returns no rows. lapses_at
-- stays as it was: an upper bound, since the limits that would lower it are
-- not known here, and the code functions compute the exact lapse themselves.
UPDATE /* TEMPLATE: schema */recovery_codes
SET used = true
WHERE pool = $1 AND user_key = $2 AND key_id = $3 AND NOT used
    AND /* TEMPLATE: schema */recovery_hash_equal(hash, $4)
