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
-- Record (times in Unix ms; a field is absent when it has no value):
--   h  current code's keyed hash      k  its key ID       x  its expiry
--   e  budget events, comma-separated, oldest first, at most Budget of them
--   f  consecutive failures           l  latest failure   z  lock end
--   d  deadline: when code, events, lock and streak have all lapsed
-- A consumed, revoked or expired code is removed (h, k, x deleted): that is
-- the "used" flag. The key's TTL is d - Now, so Redis drops the record at
-- its deadline; a record read with d <= Now (possible when the caller's
-- clock runs ahead of Redis's) is treated as absent and deleted. Every time
-- comes from ARGV: the script never reads a clock. check.lua has the same
-- record code; keep the two in step.

local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local budget = tonumber(ARGV[3])
local cooldown = tonumber(ARGV[4])

local names = {'h', 'k', 'x', 'e', 'f', 'l', 'z', 'd'}
local old = redis.call('HMGET', key, unpack(names))
if old[8] and now >= tonumber(old[8]) then
  redis.call('DEL', key)
  old = {}
end
local h, k, x = old[1], old[2], tonumber(old[3])
local f, l, z = tonumber(old[5]) or 0, tonumber(old[6]), tonumber(old[7])

-- 1. The lock. An ended lock is cleared with the streak.
if z then
  if now < z then
    return 5
  end
  z, f, l = nil, 0, nil
end

-- 2. The budget: events at or before Now-Window are forgotten.
local events = {}
if old[4] then
  local cutoff = now - window
  for t in string.gmatch(old[4], '%d+') do
    if tonumber(t) > cutoff then
      events[#events + 1] = t
    end
  end
end
if #events >= budget then
  return 4
end

-- 3. Charge an event at Now and store the code: the latest code wins.
events[#events + 1] = ARGV[1]
while #events > budget do
  table.remove(events, 1)
end
h, k, x = ARGV[5], ARGV[6], tonumber(ARGV[7])

-- Save: the deadline is the latest of the code's expiry, the end of the
-- latest event's window, the lock's end and, with a streak, Cooldown after
-- the latest failure. Absent fields that were present are deleted.
local function ms(n)
  return string.format('%.0f', n)
end
local d = math.max(x, now + window)
if f > 0 then
  d = math.max(d, l + cooldown)
end
if d <= now then
  redis.call('DEL', key)
  return 1
end
local new = {h, k, ms(x), table.concat(events, ','), false, false, false, ms(d)}
if f > 0 then
  new[5], new[6] = ms(f), ms(l)
end
local set, del = {}, {}
for i, name in ipairs(names) do
  if new[i] then
    set[#set + 1] = name
    set[#set + 1] = new[i]
  elseif old[i] then
    del[#del + 1] = name
  end
end
redis.call('HSET', key, unpack(set))
if #del > 0 then
  redis.call('HDEL', key, unpack(del))
end
redis.call('PEXPIRE', key, ms(d - now))
return 1
