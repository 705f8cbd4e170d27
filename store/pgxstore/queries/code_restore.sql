-- code_restore.sql: recovery.CodeStore.Restore, one statement.
-- Takes $1 pool, $2 user_key, $3 candidate key ids (text[]), $4 candidate
-- hashes (bytea[], pairwise with $3), $5 now.
-- Marks the current code unused again when it is used, unexpired at $5 and
-- one of the candidates (recovery_codes_matches); returns no rows. A used,
-- unexpired code keeps its row from lapsing, so no lapse check is needed.
UPDATE /* TEMPLATE: schema */recovery_codes AS r
SET used = false
WHERE r.pool = $1 AND r.user_key = $2 AND r.used AND $5 < r.expires_at
    AND /* TEMPLATE: schema */recovery_codes_matches(r, $3, $4)
