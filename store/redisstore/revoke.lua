-- revoke.lua: recovery.CodeStore.Revoke, compare-and-clear of one user's
-- current code, used or not (the record's fields are described in
-- record.lua).
--
-- KEYS[1]  the user's record
-- ARGV[1]  the key ID of the code to revoke
-- ARGV[2]  its keyed hash (raw bytes)
--
-- Returns 1 when the current code was that code and is now removed, 0 when
-- it was not (a newer code, no code or no record): nothing was written.
-- The key's TTL is left as it is: it still ends at or after every deadline
-- of what remains. Comparing with Lua string equality is safe for the
-- reason given in record.lua.

local cur = redis.call('HMGET', KEYS[1], 'k', 'h')
if cur[1] == ARGV[1] and cur[2] == ARGV[2] then
  redis.call('HDEL', KEYS[1], 'h', 'k', 'x', 'u')
  return 1
end
return 0
