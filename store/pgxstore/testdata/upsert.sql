-- upsert.sql: pgbench's floor for CodeStore.Issue: one single-row upsert of
-- a recovery_codes row, doing the writes Issue does (the code, one budget
-- event, lapses_at) without any of its rules. Run it on a schema made from
-- migrations/codes/*.up.sql as compare.sh does; 10,000 users, as in
-- BenchmarkCodeStore/Issue.
\set uid random(1, 10000)
INSERT INTO pgxstore_pgbench.recovery_codes AS c (pool, user_key, key_id, hash, expires_at, issues, lapses_at)
VALUES ('bench', 'u:' || :uid, 'k1', '\x1b32c28cb38c05480eccc1bd60ff97029b57a05c96718b96dad7e9d84894f549',
    now() + interval '1 hour', ARRAY[now()], now() + interval '1 hour')
ON CONFLICT (pool, user_key) DO UPDATE SET
    key_id = EXCLUDED.key_id, hash = EXCLUDED.hash, expires_at = EXCLUDED.expires_at, used = false,
    issues = (c.issues || EXCLUDED.issues)[greatest(1, cardinality(c.issues) - 3):],
    lapses_at = EXCLUDED.lapses_at;
