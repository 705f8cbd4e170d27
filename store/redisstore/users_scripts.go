package redisstore

import "github.com/redis/go-redis/v9"

// The scripts of UserStore. Index fields are "u|" and the folded username,
// "s|" and the folded sub, "a|" and a folded alias; each holds a sub.
var (
	// findUserScript resolves a folded key: username, then sub, then alias.
	// It makes every lookup whether an earlier one matched or not, and when
	// nobody matches it answers a decoy, a random user's record, so that an
	// unknown identifier costs what a known user does (as many calls, a
	// record sent and decoded) and its timing does not tell them apart.
	//
	// KEYS[1] index, KEYS[2] records, KEYS[3] status
	// ARGV[1] the folded key
	// Returns {sub, record JSON, status, found}: found "1" for the user
	// found; "0" for a decoy (status ''), which the caller must treat as
	// nobody found and use nothing of; nil when nobody matches and the
	// pool has no user.
	findUserScript = redis.NewScript(`
local u = redis.call('HGET', KEYS[1], 'u|' .. ARGV[1])
local s = redis.call('HGET', KEYS[1], 's|' .. ARGV[1])
local a = redis.call('HGET', KEYS[1], 'a|' .. ARGV[1])
local sub = u or s or a
local rec = sub and redis.call('HGET', KEYS[2], sub)
if rec then return {sub, rec, redis.call('HGET', KEYS[3], sub) or '', '1'} end
local d = redis.call('HRANDFIELD', KEYS[2])
if not d then return false end
return {d, redis.call('HGET', KEYS[2], d), '', '0'}
`)

	// createUserScript adds a user and its index fields, or nothing.
	//
	// KEYS[1] index, KEYS[2] records, KEYS[3] status, KEYS[4] passwords
	// ARGV[1] sub, ARGV[2] folded sub, ARGV[3] folded username,
	// ARGV[4] record JSON, ARGV[5] status, ARGV[6] password hash ('' for
	// none), ARGV[7...] folded aliases
	// Returns 0 when created, 1 when the username or sub is taken, 2 when
	// an alias is.
	createUserScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], 'u|' .. ARGV[3]) == 1
	or redis.call('HEXISTS', KEYS[1], 's|' .. ARGV[2]) == 1
	or redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then
	return 1
end
for i = 7, #ARGV do
	if redis.call('HEXISTS', KEYS[1], 'a|' .. ARGV[i]) == 1 then return 2 end
end
redis.call('HSET', KEYS[1], 'u|' .. ARGV[3], ARGV[1], 's|' .. ARGV[2], ARGV[1])
for i = 7, #ARGV do
	redis.call('HSET', KEYS[1], 'a|' .. ARGV[i], ARGV[1])
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[5])
if ARGV[6] ~= '' then redis.call('HSET', KEYS[4], ARGV[1], ARGV[6]) end
return 0
`)

	// setPasswordScript stores a new password hash and status.
	//
	// KEYS[1] records, KEYS[2] status, KEYS[3] passwords
	// ARGV[1] sub, ARGV[2] status, ARGV[3] password hash
	// Returns 1 when stored, 0 when no user has the sub.
	setPasswordScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
return 1
`)

	// requireResetScript sets a user's status to RESET_REQUIRED, keeping
	// the password hash.
	//
	// KEYS[1] records, KEYS[2] status
	// ARGV[1] sub
	// Returns 1 when set, 0 when no user has the sub.
	requireResetScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], 'RESET_REQUIRED')
return 1
`)

	// storedHashScript reads a user's password hash by exact sub.
	//
	// KEYS[1] records, KEYS[2] passwords
	// ARGV[1] sub
	// Returns nil when no user has the sub, else the hash ('' for none).
	storedHashScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return false end
return redis.call('HGET', KEYS[2], ARGV[1]) or ''
`)
)
