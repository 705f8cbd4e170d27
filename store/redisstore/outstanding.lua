-- outstanding.lua: recovery.CodeInspector.Outstanding, a read of one
-- user's record (fields described in record.lua); it writes nothing.
--
-- KEYS[1]  the user's record
-- ARGV[1]  now, Unix ms
-- ARGV[2]  the key ID of the code
-- ARGV[3]  its keyed hash (raw bytes)
--
-- Returns 1 when the current code is that code, unused and unexpired at
-- now; 0 otherwise. Lua string equality is safe here for the reason given
-- in record.lua.

local cur = redis.call('HMGET', KEYS[1], 'h', 'k', 'x', 'u')
if cur[1] == ARGV[3] and cur[2] == ARGV[2] and not cur[4] and cur[3] and tonumber(ARGV[1]) < tonumber(cur[3]) then
  return 1
end
return 0
