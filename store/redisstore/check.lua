-- check.lua: recovery.CodeStore.Check as one atomic step on one user's
-- record (the record's fields are described in issue.lua).
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

-- Save writes the record back: the deadline is the latest of the code's
-- expiry, the end of the latest event's window, the lock's end and, with a
-- streak, Cooldown after the latest failure. Absent fields that were
-- present are deleted; a record with nothing left is deleted.
local function ms(n)
  return string.format('%.0f', n)
end
local function save()
  local d = now
  if h then
    d = math.max(d, x)
  end
  if #events > 0 then
    d = math.max(d, tonumber(events[#events]) + window)
  end
  if z then
    d = math.max(d, z)
  end
  if f > 0 then
    d = math.max(d, l + cooldown)
  end
  if d <= now then
    redis.call('DEL', key)
    return
  end
  local new = {h, k, h and ms(x), #events > 0 and table.concat(events, ','),
    f > 0 and ms(f), f > 0 and ms(l), z and ms(z), ms(d)}
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
end

-- 3. The code: valid while Now is before its expiry.
if not h or not x or now >= x then
  if h then
    h, k, x = false, false, nil
    save()
  end
  return 3
end

local match = false
for i = 7, #ARGV - 1, 2 do
  if ARGV[i] == k and ARGV[i + 1] == h then
    match = true
  end
end
if match then
  if ARGV[6] == '1' then
    h, k, x = false, false, nil
    f, l = 0, nil
    save()
  end
  return 1
end

events[#events + 1] = ARGV[1]
while #events > budget do
  table.remove(events, 1)
end
f, l = f + 1, now
if f >= maxFailures then
  z = now + cooldown
end
save()
return 2
