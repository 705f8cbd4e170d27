-- issue.lua: recovery.CodeStore.Issue as one atomic step on one user's record.
-- The record's fields and the shared rules are in record.lua, which runs
-- first.
--
-- KEYS[1]  the user's record
-- ARGV[1]  Now, Unix milliseconds
-- ARGV[2]  Limits.Window, milliseconds
-- ARGV[3]  Limits.Budget
-- ARGV[4]  Limits.Cooldown, milliseconds
-- ARGV[5]  the new code's keyed hash (raw bytes)
-- ARGV[6]  its key ID
-- ARGV[7]  its expiry (ExpiresAt), Unix milliseconds
-- ARGV[8]  Limits.FailureBudget
--
-- Returns an integer that stands for a recovery.Outcome:
--   1  OK: an issue was charged at Now and the code replaced the previous one
--   4  LimitExceeded: Budget issues or FailureBudget failures fall in the
--      window; nothing was written
--   5  Locked: the lock has not ended; nothing was written

local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local budget = tonumber(ARGV[3])
local cooldown = tonumber(ARGV[4])

local r = load(key, now)
local out = gate(r, now, window, budget, tonumber(ARGV[8]), true)
if out then
  return out
end

-- Charge an issue at Now and store the code, unused: the latest code wins.
charge(r.issues, ARGV[1], budget)
r.h, r.k, r.x, r.u = ARGV[5], ARGV[6], tonumber(ARGV[7]), false
save(key, r, now, window, cooldown)
return 1
