-- codes/001_init.up.sql: the code store and the request limiter, version 1.
--
-- Every table and function name below carries the marker
-- /* TEMPLATE: schema */, which pgxstore.Migrate replaces with the quoted
-- schema and a dot ("recovery".). A migration tool of your own must do the
-- same replacement, or leave the markers (they are comments) and run the file
-- with the target schema first in search_path: the functions then find their
-- tables through the search_path of whoever calls them.
--
-- Times: every function takes "now" from its caller and never reads the
-- server clock.
--
-- Outcome codes returned by the code functions are the values of
-- recovery.Outcome: 1 ok, 2 mismatch, 3 expired, 4 limit exceeded, 5 locked.

------------------------------------------------------------------------------
-- Code store
------------------------------------------------------------------------------

-- One row per (pool, user_key): the recovery record of recovery.CodeStore.
CREATE TABLE /* TEMPLATE: schema */recovery_codes (
    pool            text          NOT NULL,
    user_key        text          NOT NULL,
    key_id          text,                          -- the Key that made hash
    hash            bytea,                         -- keyed hash of the current code; NULL: none issued
    expires_at      timestamptz,                   -- the code is valid while now < expires_at
    used            boolean       NOT NULL DEFAULT false, -- consumed or revoked
    events          timestamptz[] NOT NULL DEFAULT '{}',  -- budget events, ascending, at most Budget
    failures        integer       NOT NULL DEFAULT 0,     -- consecutive failed checks
    last_failure_at timestamptz,
    locked_until    timestamptz,
    lapses_at       timestamptz   NOT NULL,        -- when every deadline has passed (an upper bound)
    PRIMARY KEY (pool, user_key)
);

-- The sweep walks this index from its start.
CREATE INDEX recovery_codes_lapses_at_idx ON /* TEMPLATE: schema */recovery_codes (lapses_at);

COMMENT ON TABLE /* TEMPLATE: schema */recovery_codes IS
    'recoverykit pgxstore: one recovery record per (pool, user_key); see recovery.CodeStore';

-- recovery_hash_equal(a, b) returns whether two hashes are equal, taking the
-- same time for every pair of equal-length inputs (an XOR of the whole bit
-- strings, then a population count), unlike bytea = which stops at the
-- first difference. Hashes of different lengths are unequal; NULL gives
-- NULL. (Not declared STRICT, so that the planner inlines it.)
CREATE FUNCTION /* TEMPLATE: schema */recovery_hash_equal(a bytea, b bytea)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN length(a) <> length(b) THEN false
        WHEN length(a) = 0 THEN true
        ELSE bit_count(('x' || encode(a, 'hex'))::varbit # ('x' || encode(b, 'hex'))::varbit) = 0
    END
$$;

-- recovery_codes_lapse(locked_until, code_expires_at, last_event, failures,
-- last_failure_at, window, cooldown) returns when a record lapses under
-- these limits: the latest of its lock's end, its current code's expiry
-- (NULL when it has no current code), window after its latest budget event
-- and, while it has a failure streak, cooldown after its latest failure;
-- -infinity when none applies. A single expression, so the planner inlines
-- it.
CREATE FUNCTION /* TEMPLATE: schema */recovery_codes_lapse(
    p_locked_until timestamptz, p_code_expires_at timestamptz, p_last_event timestamptz,
    p_failures integer, p_last_failure_at timestamptz, p_window interval, p_cooldown interval)
RETURNS timestamptz LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(greatest(
        p_locked_until,
        p_code_expires_at,
        p_last_event + p_window,
        CASE WHEN p_failures > 0 THEN p_last_failure_at + p_cooldown END
    ), '-infinity')
$$;

-- recovery_issue(pool, user_key, key_id, hash, expires_at, now, budget,
-- window, max_failures, cooldown) is recovery.CodeStore.Issue: it returns 5
-- (locked) or 4 (limit exceeded) and changes nothing, or charges one budget
-- event at now, makes (key_id, hash, expires_at) the current code and
-- returns 1. The row is locked (SELECT ... FOR UPDATE, or the INSERT of a new
-- one) for the rest of the caller's transaction, so concurrent calls for one
-- user run one after the other. A new row also reclaims up to two lapsed
-- rows of other users, so that storage stays bounded without a sweep.
CREATE FUNCTION /* TEMPLATE: schema */recovery_issue(
    p_pool text, p_user_key text, p_key_id text, p_hash bytea, p_expires_at timestamptz,
    p_now timestamptz, p_budget integer, p_window interval, p_max_failures integer, p_cooldown interval)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    r /* TEMPLATE: schema */recovery_codes%ROWTYPE;
    existed boolean;
    n integer;
    k integer;
BEGIN
    FOR attempt IN 1..3 LOOP
        SELECT * INTO r FROM /* TEMPLATE: schema */recovery_codes
            WHERE pool = p_pool AND user_key = p_user_key FOR UPDATE;
        existed := FOUND;
        IF NOT existed OR p_now >= least(r.lapses_at, /* TEMPLATE: schema */recovery_codes_lapse(r.locked_until,
                CASE WHEN r.hash IS NOT NULL AND NOT r.used THEN r.expires_at END,
                r.events[cardinality(r.events)], r.failures, r.last_failure_at, p_window, p_cooldown)) THEN
            -- Absent or lapsed: an empty record.
            r := ROW(p_pool, p_user_key, NULL, NULL, NULL, false, '{}', 0, NULL, NULL, '-infinity');
        END IF;

        -- 1. The lock.
        IF r.locked_until IS NOT NULL THEN
            IF p_now < r.locked_until THEN
                RETURN 5;
            END IF;
            r.locked_until := NULL;
            r.failures := 0;
        END IF;
        -- 2. The budget.
        -- (events is kept ascending: forget a prefix.)
        n := cardinality(r.events);
        k := 1;
        WHILE k <= n AND r.events[k] <= p_now - p_window LOOP
            k := k + 1;
        END LOOP;
        IF k > 1 THEN
            r.events := r.events[k:n]; -- renumbered from 1
            n := n - k + 1;
        END IF;
        IF n >= p_budget THEN
            RETURN 4;
        END IF;

        IF n = 0 OR p_now >= r.events[n] THEN
            r.events := r.events || p_now;
        ELSE -- a clock behind the others'
            r.events := ARRAY(SELECT e FROM unnest(r.events || p_now) AS e ORDER BY e);
        END IF;
        r.key_id := p_key_id;
        r.hash := p_hash;
        r.expires_at := p_expires_at;
        r.used := false;
        r.lapses_at := /* TEMPLATE: schema */recovery_codes_lapse(r.locked_until,
                CASE WHEN r.hash IS NOT NULL AND NOT r.used THEN r.expires_at END,
                r.events[cardinality(r.events)], r.failures, r.last_failure_at, p_window, p_cooldown);

        IF existed THEN
            UPDATE /* TEMPLATE: schema */recovery_codes SET
                key_id = r.key_id, hash = r.hash, expires_at = r.expires_at, used = r.used,
                events = r.events, failures = r.failures, last_failure_at = r.last_failure_at,
                locked_until = r.locked_until, lapses_at = r.lapses_at
            WHERE pool = p_pool AND user_key = p_user_key;
            RETURN 1;
        END IF;

        INSERT INTO /* TEMPLATE: schema */recovery_codes VALUES (r.*)
            ON CONFLICT (pool, user_key) DO NOTHING;
        IF FOUND THEN
            DELETE FROM /* TEMPLATE: schema */recovery_codes
            WHERE ctid = ANY (ARRAY(
                    SELECT ctid FROM /* TEMPLATE: schema */recovery_codes
                    WHERE lapses_at <= p_now
                    ORDER BY lapses_at LIMIT 2 FOR UPDATE SKIP LOCKED))
                AND lapses_at <= p_now;
            RETURN 1;
        END IF;
        -- A concurrent call inserted the row after our SELECT: go round
        -- again, and this time lock it.
    END LOOP;
    RAISE EXCEPTION 'recovery_issue: the row of (%, %) kept appearing and disappearing', p_pool, p_user_key;
END
$$;

-- recovery_check(pool, user_key, key_ids, hashes, consume, now, budget,
-- window, max_failures, cooldown) is recovery.CodeStore.Check. key_ids and
-- hashes are the candidates, pairwise; only a candidate whose key id is the
-- stored one is compared, with recovery_hash_equal. It returns 5 (locked), 4
-- (limit exceeded) or 3 (expired: no current code) and changes nothing, 1 on
-- a match (with consume: the code is used up and the failure streak reset),
-- or 2 on a mismatch, which charges one budget event and one streak step and
-- sets the lock to now + cooldown when the streak reaches max_failures. A
-- lapsed row is deleted when met.
CREATE FUNCTION /* TEMPLATE: schema */recovery_check(
    p_pool text, p_user_key text, p_key_ids text[], p_hashes bytea[], p_consume boolean,
    p_now timestamptz, p_budget integer, p_window interval, p_max_failures integer, p_cooldown interval)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    r /* TEMPLATE: schema */recovery_codes%ROWTYPE;
    matched boolean := false;
    n integer;
    k integer;
BEGIN
    SELECT * INTO r FROM /* TEMPLATE: schema */recovery_codes
        WHERE pool = p_pool AND user_key = p_user_key FOR UPDATE;
    IF NOT FOUND THEN
        RETURN CASE WHEN p_budget <= 0 THEN 4 ELSE 3 END;
    END IF;
    IF p_now >= least(r.lapses_at, /* TEMPLATE: schema */recovery_codes_lapse(r.locked_until,
                CASE WHEN r.hash IS NOT NULL AND NOT r.used THEN r.expires_at END,
                r.events[cardinality(r.events)], r.failures, r.last_failure_at, p_window, p_cooldown)) THEN
        DELETE FROM /* TEMPLATE: schema */recovery_codes WHERE pool = p_pool AND user_key = p_user_key;
        RETURN CASE WHEN p_budget <= 0 THEN 4 ELSE 3 END;
    END IF;

    -- 1. The lock.
    IF r.locked_until IS NOT NULL THEN
        IF p_now < r.locked_until THEN
            RETURN 5;
        END IF;
        r.locked_until := NULL;
        r.failures := 0;
    END IF;
    -- 2. The budget.
    -- (events is kept ascending: forget a prefix.)
    n := cardinality(r.events);
    k := 1;
    WHILE k <= n AND r.events[k] <= p_now - p_window LOOP
        k := k + 1;
    END LOOP;
    IF k > 1 THEN
        r.events := r.events[k:n]; -- renumbered from 1
        n := n - k + 1;
    END IF;
    IF n >= p_budget THEN
        RETURN 4;
    END IF;
    -- 3. The code.
    IF r.hash IS NULL OR r.used OR p_now >= r.expires_at THEN
        RETURN 3;
    END IF;
    FOR i IN 1..coalesce(cardinality(p_key_ids), 0) LOOP
        IF p_key_ids[i] = r.key_id
                AND /* TEMPLATE: schema */recovery_hash_equal(p_hashes[i], r.hash) THEN
            matched := true;
        END IF;
    END LOOP;

    IF matched THEN
        IF NOT p_consume THEN
            RETURN 1;
        END IF;
        r.used := true;
        r.failures := 0;
    ELSE
        IF n = 0 OR p_now >= r.events[n] THEN
            r.events := r.events || p_now;
        ELSE -- a clock behind the others'
            r.events := ARRAY(SELECT e FROM unnest(r.events || p_now) AS e ORDER BY e);
        END IF;
        r.failures := r.failures + 1;
        r.last_failure_at := p_now;
        IF r.failures >= p_max_failures THEN
            r.locked_until := p_now + p_cooldown;
        END IF;
    END IF;
    r.lapses_at := /* TEMPLATE: schema */recovery_codes_lapse(r.locked_until,
                CASE WHEN r.hash IS NOT NULL AND NOT r.used THEN r.expires_at END,
                r.events[cardinality(r.events)], r.failures, r.last_failure_at, p_window, p_cooldown);
    UPDATE /* TEMPLATE: schema */recovery_codes SET
        used = r.used, events = r.events, failures = r.failures,
        last_failure_at = r.last_failure_at, locked_until = r.locked_until, lapses_at = r.lapses_at
    WHERE pool = p_pool AND user_key = p_user_key;
    RETURN CASE WHEN matched THEN 1 ELSE 2 END;
END
$$;

------------------------------------------------------------------------------
-- Request limiter
------------------------------------------------------------------------------

-- One row per (pool, key): a sliding-window counter estimated from two fixed
-- windows aligned to the Unix epoch.
CREATE TABLE /* TEMPLATE: schema */recovery_limits (
    pool         text        NOT NULL,
    key          text        NOT NULL,
    window_ms    bigint      NOT NULL,  -- the window the counts are for
    window_index bigint      NOT NULL,  -- which fixed window curr_count counts: floor(now_ms / window_ms)
    prev_count   integer     NOT NULL DEFAULT 0,
    curr_count   integer     NOT NULL DEFAULT 0,
    expires_at   timestamptz NOT NULL,  -- (window_index + 2) * window_ms: both windows over
    PRIMARY KEY (pool, key)
);

CREATE INDEX recovery_limits_expires_at_idx ON /* TEMPLATE: schema */recovery_limits (expires_at);

COMMENT ON TABLE /* TEMPLATE: schema */recovery_limits IS
    'recoverykit pgxstore: request counters of recovery.RequestLimiter';

-- recovery_allow(pool, keys, limits, windows_ms, now_ms) is
-- recovery.RequestLimiter.Allow. keys must be distinct and sorted (the rows
-- are locked in that order, so concurrent calls cannot deadlock); limits and
-- windows_ms go with them pairwise. For each key the estimate is
-- prev_count * (the share of the previous fixed window that the sliding
-- window still covers) + curr_count. It returns false, charging nothing,
-- when one more request would take any key's estimate above its limit, and
-- otherwise adds one to every key's curr_count and returns true. A new row
-- reclaims up to two expired counters.
CREATE FUNCTION /* TEMPLATE: schema */recovery_allow(
    p_pool text, p_keys text[], p_limits integer[], p_windows_ms bigint[], p_now_ms bigint)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    c /* TEMPLATE: schema */recovery_limits%ROWTYPE;
    n integer := coalesce(cardinality(p_keys), 0);
    w bigint;
    idx bigint;
    win bigint[];
    ind bigint[];
    prev integer[];
    curr integer[];
BEGIN
    FOR i IN 1..n LOOP
        w := greatest(p_windows_ms[i], 1);
        idx := (p_now_ms - ((p_now_ms % w) + w) % w) / w; -- floor division
        LOOP
            SELECT * INTO c FROM /* TEMPLATE: schema */recovery_limits
                WHERE pool = p_pool AND key = p_keys[i] FOR UPDATE;
            EXIT WHEN FOUND;
            INSERT INTO /* TEMPLATE: schema */recovery_limits
                    (pool, key, window_ms, window_index, prev_count, curr_count, expires_at)
                VALUES (p_pool, p_keys[i], w, idx, 0, 0,
                    'epoch'::timestamptz + (idx + 2) * w * interval '1 millisecond')
                ON CONFLICT (pool, key) DO NOTHING;
            IF FOUND THEN
                DELETE FROM /* TEMPLATE: schema */recovery_limits
                WHERE ctid = ANY (ARRAY(
                        SELECT ctid FROM /* TEMPLATE: schema */recovery_limits
                        WHERE expires_at <= 'epoch'::timestamptz + p_now_ms * interval '1 millisecond'
                        ORDER BY expires_at LIMIT 2 FOR UPDATE SKIP LOCKED))
                    AND expires_at <= 'epoch'::timestamptz + p_now_ms * interval '1 millisecond';
            END IF;
        END LOOP;

        -- Move the counter to the fixed window of now.
        IF c.window_ms <> w OR idx > c.window_index + 1 THEN
            c.window_ms := w; c.window_index := idx; c.prev_count := 0; c.curr_count := 0;
        ELSIF idx = c.window_index + 1 THEN
            c.window_index := idx; c.prev_count := c.curr_count; c.curr_count := 0;
        END IF; -- idx < window_index: the clock went back; keep counting where we were.

        IF c.prev_count * greatest(0, 1 - (p_now_ms - c.window_index * w)::float8 / w)
                + c.curr_count + 1 > p_limits[i] THEN
            RETURN false;
        END IF;
        win[i] := w; ind[i] := c.window_index; prev[i] := c.prev_count; curr[i] := c.curr_count + 1;
    END LOOP;

    FOR i IN 1..n LOOP
        UPDATE /* TEMPLATE: schema */recovery_limits SET
            window_ms = win[i], window_index = ind[i], prev_count = prev[i], curr_count = curr[i],
            expires_at = 'epoch'::timestamptz + (ind[i] + 2) * win[i] * interval '1 millisecond'
        WHERE pool = p_pool AND key = p_keys[i];
    END LOOP;
    RETURN true;
END
$$;
