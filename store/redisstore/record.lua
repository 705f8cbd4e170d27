-- record.lua: the per-user record that issue.lua and check.lua share. It is
-- not a script of its own: each of the two is run as this file followed by
-- its own text (see scripts.go), so the rules of the lock, the budget and
-- saving the record are written once.
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
-- comes from ARGV: the script never reads a clock.

local NAMES = {'h', 'k', 'x', 'e', 'f', 'l', 'z', 'd'}

local function ms(n)
  return string.format('%.0f', n)
end

-- load reads the record at key; a lapsed one is deleted and read as empty.
local function load(key, now)
  local old = redis.call('HMGET', key, unpack(NAMES))
  if old[8] and now >= tonumber(old[8]) then
    redis.call('DEL', key)
    old = {}
  end
  return {
    old = old,
    h = old[1], k = old[2], x = tonumber(old[3]),
    raw_events = old[4],
    f = tonumber(old[5]) or 0, l = tonumber(old[6]), z = tonumber(old[7]),
  }
end

-- gate applies the rules every call starts with: 1. the lock (an ended lock
-- is cleared with the streak), 2. the budget (events at or before
-- Now-Window are forgotten). It returns 5 (Locked) or 4 (LimitExceeded),
-- or nil with r.events set to the events inside the window.
local function gate(r, now, window, budget)
  if r.z then
    if now < r.z then
      return 5
    end
    r.z, r.f, r.l = nil, 0, nil
  end
  r.events = {}
  if r.raw_events then
    local cutoff = now - window
    for t in string.gmatch(r.raw_events, '%d+') do
      if tonumber(t) > cutoff then
        r.events[#r.events + 1] = t
      end
    end
  end
  if #r.events >= budget then
    return 4
  end
  return nil
end

-- charge records a budget event at now (text, as ARGV carries it).
local function charge(r, now, budget)
  r.events[#r.events + 1] = now
  while #r.events > budget do
    table.remove(r.events, 1)
  end
end

-- save writes r back: the deadline is the latest of the code's expiry, the
-- end of the latest event's window, the lock's end and, with a streak,
-- Cooldown after the latest failure; the key's TTL is deadline - Now.
-- Absent fields that were present are deleted; a record with nothing left
-- is deleted.
local function save(key, r, now, window, cooldown)
  local d = now
  if r.h then
    d = math.max(d, r.x)
  end
  if #r.events > 0 then
    d = math.max(d, tonumber(r.events[#r.events]) + window)
  end
  if r.z then
    d = math.max(d, r.z)
  end
  if r.f > 0 then
    d = math.max(d, r.l + cooldown)
  end
  if d <= now then
    redis.call('DEL', key)
    return
  end
  local new = {r.h, r.k, r.h and ms(r.x), #r.events > 0 and table.concat(r.events, ','),
    r.f > 0 and ms(r.f), r.f > 0 and ms(r.l), r.z and ms(r.z), ms(d)}
  local set, del = {}, {}
  for i, name in ipairs(NAMES) do
    if new[i] then
      set[#set + 1] = name
      set[#set + 1] = new[i]
    elseif r.old[i] then
      del[#del + 1] = name
    end
  end
  redis.call('HSET', key, unpack(set))
  if #del > 0 then
    redis.call('HDEL', key, unpack(del))
  end
  redis.call('PEXPIRE', key, ms(d - now))
end
