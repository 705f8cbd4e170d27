-- issue.lua: recovery.CodeStore.Issue as one atomic step on one user's record.
--
-- KEYS[1]  the user's record: a hash, see "Record" below
-- ARGV[1]  Now, Unix milliseconds
-- ARGV[2]  Limits.Window, milliseconds
-- ARGV[3]  Limits.Budget
-- ARGV[4]  Limits.Cooldown, milliseconds
-- ARGV[5]  the new code's keyed hash (raw bytes)
-- ARGV[6]  its key ID
-- ARGV[7]  its expiry (ExpiresAt), Unix milliseconds
--
-- Returns an integer that stands for a recovery.Outcome:
--   1  OK: an event was charged at Now and the code replaced the previous one
--   4  LimitExceeded: Budget events fall in the window; nothing was written
--   5  Locked: the lock has not ended; nothing was written
--
--
-- The record's fields and the shared rules are in record.lua, which runs
-- first.

local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local budget = tonumber(ARGV[3])
local cooldown = tonumber(ARGV[4])

local r = load(key, now)
local out = gate(r, now, window, budget)
if out then
  return out
end

-- Charge an event at Now and store the code: the latest code wins.
charge(r, ARGV[1], budget)
r.h, r.k, r.x = ARGV[5], ARGV[6], tonumber(ARGV[7])
save(key, r, now, window, cooldown)
return 1
