-- code_restore.sql: recovery.CodeStore.Restore, one statement.
-- Takes $1 pool, $2 user_key, $3 candidate key ids (text[]), $4 candidate
-- hashes (bytea[], pairwise with $3), $5 now.
-- Marks the current code unused again when it is used, unexpired at $5 and
-- one of the candidates (same key id, equal hash by recovery_hash_equal);
-- returns no rows. A used, unexpired code keeps its row from lapsing, so no
-- lapse check is needed.
UPDATE /* TEMPLATE: schema */recovery_codes AS r
SET used = false
WHERE r.pool = $1 AND r.user_key = $2 AND r.used AND $5 < r.expires_at
    AND EXISTS (SELECT FROM unnest($3::text[], $4::bytea[]) AS c(key_id, hash)
        WHERE c.key_id = r.key_id AND /* TEMPLATE: schema */recovery_hash_equal(c.hash, r.hash))
