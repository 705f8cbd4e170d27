-- allow.lua: recovery.RequestLimiter.Allow, all or nothing across the
-- request's counters, as one atomic step. The counters of one pool share a
-- hash tag, so they are in one Cluster slot (see the Limiter's doc comment).
--
-- KEYS[1..n]  the counters to charge: hashes with fields
--               w  window, ms   i  index of the current fixed window
--               p  previous window's count   c  current window's count
-- ARGV[1]     Now, Unix milliseconds
-- ARGV[2i], ARGV[2i+1]  window (ms, at least 1) and limit of KEYS[i]
--
-- Returns 1 when every counter is under its limit: each is charged one
-- request; 0 when any is not: nothing is written.
--
-- Each counter is a sliding window estimated from two fixed windows aligned
-- to the Unix epoch: the previous window's count weighted by the share of it
-- the sliding window still covers, plus the current count. It never allows
-- more than the limit within one fixed window. A counter's TTL ends when it
-- stops mattering, at the end of the fixed window after its current one.

local now = tonumber(ARGV[1])
local counters = {}
for i, key in ipairs(KEYS) do
  local w = tonumber(ARGV[2 * i])
  local limit = tonumber(ARGV[2 * i + 1])
  local idx = math.floor(now / w)
  local cur = redis.call('HMGET', key, 'w', 'i', 'p', 'c')
  local cw, ci = tonumber(cur[1]), tonumber(cur[2])
  local p, c = tonumber(cur[3]) or 0, tonumber(cur[4]) or 0
  if cw ~= w or not ci or idx > ci + 1 then
    ci, p, c = idx, 0, 0
  elseif idx == ci + 1 then
    ci, p, c = idx, c, 0
  end
  -- (idx < ci: the caller's clock went back; keep counting where we were.)
  local overlap = 1 - (now - ci * w) / w
  if overlap < 0 then
    overlap = 0
  elseif overlap > 1 then
    overlap = 1
  end
  if p * overlap + c + 1 > limit then
    return 0
  end
  counters[i] = {w, ci, p, c + 1}
end

for i, key in ipairs(KEYS) do
  local s = counters[i]
  local w, ci = s[1], s[2]
  redis.call('HSET', key, 'w', string.format('%.0f', w), 'i', string.format('%.0f', ci),
    'p', string.format('%.0f', s[3]), 'c', string.format('%.0f', s[4]))
  redis.call('PEXPIRE', key, string.format('%.0f', (ci + 2) * w - now))
end
return 1
