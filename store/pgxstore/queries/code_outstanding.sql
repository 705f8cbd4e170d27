-- code_outstanding.sql: recovery.CodeInspector.Outstanding, one statement.
-- Takes $1 pool, $2 user_key, $3 key_id, $4 hash, $5 now.
-- Returns one boolean: the user's current code is that code (same key id,
-- equal hash, compared with recovery_hash_equal), unused and unexpired at
-- now. Reads only.
SELECT EXISTS (
    SELECT FROM /* TEMPLATE: schema */recovery_codes
    WHERE pool = $1 AND user_key = $2 AND key_id = $3 AND NOT used AND $5 < expires_at
        AND /* TEMPLATE: schema */recovery_hash_equal(hash, $4)
)
