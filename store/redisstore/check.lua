-- check.lua: recovery.CodeStore.Check as one atomic step on one user's
-- record. The record's fields and the shared rules are in record.lua, which
-- runs first.
--
-- KEYS[1]  the user's record
-- ARGV[1]  Now, Unix milliseconds
-- ARGV[2]  Limits.Window, milliseconds
-- ARGV[3]  Limits.FailureBudget
-- ARGV[4]  Limits.Cooldown, milliseconds
-- ARGV[5]  Limits.MaxFailures
-- ARGV[6]  Consume: "1" to use a matching code up, "0" to leave it
-- ARGV[7], ARGV[8], ...  the candidates as (key ID, keyed hash) pairs
--
-- Returns an integer that stands for a recovery.Outcome:
--   1  OK: a candidate matched (the code is marked used and the streak reset
--      when Consume is "1"; otherwise nothing was written)
--   2  Mismatch: a current code differs from every candidate with its key
--      ID; a failure at Now and a streak step were charged, and the lock set
--      to Now+Cooldown when the streak reached MaxFailures
--   3  Expired: no current unused code (never issued, used, revoked,
--      expired); nothing was charged
--   4  LimitExceeded: FailureBudget failures fall in the window; nothing
--      was written
--   5  Locked: the lock has not ended; nothing was written

local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local failure_budget = tonumber(ARGV[3])
local cooldown = tonumber(ARGV[4])
local maxFailures = tonumber(ARGV[5])

local r = load(key, now)
local out = gate(r, now, window, 0, failure_budget, false)
if out then
  return out
end

-- 3. The code: valid while unused and Now is before its expiry.
if not r.h or not r.x or now >= r.x then
  if r.h then
    r.h, r.k, r.x, r.u = false, false, nil, false
    save(key, r, now, window, cooldown)
  end
  return 3
end
if r.u then
  return 3
end

if matches(r, 7) then
  if ARGV[6] == '1' then
    r.u = true
    r.f, r.l = 0, nil
    save(key, r, now, window, cooldown)
  end
  return 1
end

charge(r.misses, ARGV[1], failure_budget)
r.f, r.l = r.f + 1, now
if r.f >= maxFailures then
  r.z = now + cooldown
end
save(key, r, now, window, cooldown)
return 2
