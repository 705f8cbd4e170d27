-- code_revoke.sql: recovery.CodeStore.Revoke, one statement.
-- Takes $1 pool, $2 user_key, $3 key_id, $4 hash.
-- Clears the current code, used or not, when it is still that code (same
-- key id, equal hash, compared with recovery_hash_equal); returns no rows.
-- Without a hash the code can be neither checked nor restored. lapses_at
-- stays as it was: an upper bound, since the limits that would lower it are
-- not known here, and the code functions compute the exact lapse themselves.
UPDATE /* TEMPLATE: schema */recovery_codes
SET key_id = NULL, hash = NULL, expires_at = NULL, used = false
WHERE pool = $1 AND user_key = $2 AND key_id = $3
    AND /* TEMPLATE: schema */recovery_hash_equal(hash, $4)
