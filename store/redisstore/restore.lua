-- restore.lua: recovery.CodeStore.Restore as one atomic step on one user's
-- record. The record's fields and the shared rules are in record.lua, which
-- runs first.
--
-- KEYS[1]  the user's record
-- ARGV[1]  Now, Unix milliseconds
-- ARGV[2], ARGV[3], ...  the candidates as (key ID, keyed hash) pairs
--
-- Returns 1 when the current code was used, unexpired and one of the
-- candidates, and is now unused again; 0 when nothing changed. The TTL is
-- left as it is: a used code counted towards the deadline already.

local r = load(KEYS[1], tonumber(ARGV[1]))
if r.h and r.u and r.x and tonumber(ARGV[1]) < r.x and matches(r, 2) then
  redis.call('HDEL', KEYS[1], 'u')
  return 1
end
return 0
