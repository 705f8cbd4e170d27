-- record.lua: the per-user record that issue.lua, check.lua and restore.lua
-- share. It is not a script of its own: each of them is run as this file
-- followed by its own text (see scripts.go), so the rules of the lock, the
-- budgets and saving the record are written once.
--
-- Record (times in Unix ms; a field is absent when it has no value):
--   h  current code's keyed hash      k  its key ID       x  its expiry
--   u  "1" when the code was used (consumed); absent: unused
--   e  issues, comma-separated, oldest first, at most Budget of them
--   m  failed checks, comma-separated, oldest first, at most FailureBudget
--   f  consecutive failures           l  latest failure   z  lock end
--   d  deadline: when code, issues, failures, lock and streak have all lapsed
-- A revoked or expired code is removed (h, k, x, u deleted); a consumed one
-- keeps its fields with u set until it expires, so that Restore can bring
-- it back. The key's TTL is d - Now, so Redis drops the record at its
-- deadline; a record read with d <= Now (possible when the caller's clock
-- runs ahead of Redis's) is treated as absent and deleted. Every time comes
-- from ARGV: the script never reads a clock.

local NAMES = {'h', 'k', 'x', 'u', 'e', 'm', 'f', 'l', 'z', 'd'}

local function ms(n)
  return string.format('%.0f', n)
end

-- load reads the record at key; a lapsed one is deleted and read as empty.
local function load(key, now)
  local old = redis.call('HMGET', key, unpack(NAMES))
  if old[10] and now >= tonumber(old[10]) then
    redis.call('DEL', key)
    old = {}
  end
  return {
    old = old,
    h = old[1], k = old[2], x = tonumber(old[3]), u = old[4] == '1',
    raw_issues = old[5], raw_misses = old[6],
    f = tonumber(old[7]) or 0, l = tonumber(old[8]), z = tonumber(old[9]),
  }
end

-- recent returns the times of a comma-separated list after cutoff.
local function recent(raw, cutoff)
  local out = {}
  if raw then
    for t in string.gmatch(raw, '%d+') do
      if tonumber(t) > cutoff then
        out[#out + 1] = t
      end
    end
  end
  return out
end

-- gate applies the rules every Issue and Check starts with: 1. the lock (an
-- ended lock is cleared with the streak), 2. the budgets (times at or
-- before Now-Window are forgotten; the issue budget counts for Issue only).
-- It returns 5 (Locked) or 4 (LimitExceeded), or nil with r.issues and
-- r.misses set to the times inside the window.
local function gate(r, now, window, budget, failure_budget, issuing)
  if r.z then
    if now < r.z then
      return 5
    end
    r.z, r.f, r.l = nil, 0, nil
  end
  r.issues = recent(r.raw_issues, now - window)
  r.misses = recent(r.raw_misses, now - window)
  if #r.misses >= failure_budget or (issuing and #r.issues >= budget) then
    return 4
  end
  return nil
end

-- charge appends now (text, as ARGV carries it) to a list of times, keeping
-- at most limit of them.
local function charge(list, now, limit)
  list[#list + 1] = now
  while #list > limit do
    table.remove(list, 1)
  end
end

-- matches reports whether a candidate (ARGV pairs of key ID and hash from
-- index first on) is the current code. Every candidate is compared. Lua
-- string equality is not constant time; that is safe here: the stored
-- value and the candidates are HMACs under a server key, so an attacker
-- cannot choose a candidate's bytes and learns nothing useful from how
-- many leading bytes of two HMACs agree.
local function matches(r, first)
  local match = false
  for i = first, #ARGV - 1, 2 do
    if ARGV[i] == r.k and ARGV[i + 1] == r.h then
      match = true
    end
  end
  return match
end

-- save writes r back: the deadline is the latest of the code's expiry, the
-- end of the window of the latest issue and of the latest failure, the
-- lock's end and, with a streak, Cooldown after the latest failure; the
-- key's TTL is deadline - Now. Absent fields that were present are deleted;
-- a record with nothing left is deleted.
local function save(key, r, now, window, cooldown)
  local d = now
  if r.h then
    d = math.max(d, r.x)
  end
  if r.issues and #r.issues > 0 then
    d = math.max(d, tonumber(r.issues[#r.issues]) + window)
  end
  if r.misses and #r.misses > 0 then
    d = math.max(d, tonumber(r.misses[#r.misses]) + window)
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
  local new = {r.h, r.h and r.k, r.h and ms(r.x), r.h and r.u and '1',
    r.issues and #r.issues > 0 and table.concat(r.issues, ','),
    r.misses and #r.misses > 0 and table.concat(r.misses, ','),
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
