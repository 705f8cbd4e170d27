-- check.lua: recovery.CodeStore.Check as one atomic step on one user's
-- record. The record's fields and the shared rules are in record.lua, which
-- runs first.
--
-- KEYS[1]  the user's record
-- ARGV[1]  Now, Unix milliseconds
-- ARGV[2]  Limits.Window, milliseconds
-- ARGV[3]  Limits.Budget
-- ARGV[4]  Limits.Cooldown, milliseconds
-- ARGV[5]  Limits.MaxFailures
-- ARGV[6]  Consume: "1" to use a matching code up, "0" to leave it
-- ARGV[7], ARGV[8], ...  the candidates as (key ID, keyed hash) pairs
--
-- Returns an integer that stands for a recovery.Outcome:
--   1  OK: a candidate matched (the code is removed and the streak reset
--      when Consume is "1"; otherwise nothing was written)
--   2  Mismatch: a current code differs from every candidate with its key
--      ID; an event at Now and a failure were charged, and the lock set to
--      Now+Cooldown when the streak reached MaxFailures
--   3  Expired: no current code (never issued, used, revoked, expired);
--      nothing was charged
--   4  LimitExceeded: Budget events fall in the window; nothing was written
--   5  Locked: the lock has not ended; nothing was written
--
-- Hashes are compared with Lua string equality, which is not constant
-- time. That is safe here: the stored value and the candidates are HMACs
-- under a server key, so an attacker cannot choose a candidate's bytes and
-- cannot learn anything useful from how many leading bytes of two HMACs
-- agree. Every candidate is compared, matched or not.

local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local budget = tonumber(ARGV[3])
local cooldown = tonumber(ARGV[4])
local maxFailures = tonumber(ARGV[5])

local r = load(key, now)
local out = gate(r, now, window, budget)
if out then
  return out
end

-- 3. The code: valid while Now is before its expiry.
if not r.h or not r.x or now >= r.x then
  if r.h then
    r.h, r.k, r.x = false, false, nil
    save(key, r, now, window, cooldown)
  end
  return 3
end

local match = false
for i = 7, #ARGV - 1, 2 do
  if ARGV[i] == r.k and ARGV[i + 1] == r.h then
    match = true
  end
end
if match then
  if ARGV[6] == '1' then
    r.h, r.k, r.x = false, false, nil
    r.f, r.l = 0, nil
    save(key, r, now, window, cooldown)
  end
  return 1
end

charge(r, ARGV[1], budget)
r.f, r.l = r.f + 1, now
if r.f >= maxFailures then
  r.z = now + cooldown
end
save(key, r, now, window, cooldown)
return 2
