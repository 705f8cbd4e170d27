// Package redisstore keeps recovery codes and request counters in Redis,
// through github.com/redis/go-redis/v9: a recovery.CodeStore (NewCodeStore)
// and a recovery.RequestLimiter (NewLimiter), plus a small user store
// (NewUserStore) for services whose only shared state is Redis. They take a
// redis.Scripter,
// the narrowest interface their scripts need, which every
// redis.UniversalClient is: a single node (redis.NewClient), a Sentinel
// failover client (redis.NewFailoverClient) and a Cluster
// (redis.NewClusterClient) all work, and so does go-redis's AutoPipeliner
// (see Throughput). The user store needs Redis 6.2 or later (its lookup
// answers an unknown identifier with a decoy record drawn by HRANDFIELD, so
// that nobody found costs what a user found does).
//
// # One round trip per call
//
// Issue, Check, Revoke, Restore, Outstanding and Allow are each one Lua
// script (issue.lua, check.lua, revoke.lua, restore.lua, outstanding.lua and
// allow.lua, embedded in the package; each starts
// with a comment listing its KEYS, ARGV and return values), run with
// EVALSHA and a fallback to EVAL when Redis answers NOSCRIPT, as
// redis.Script.Run does. A script runs atomically, so the budget, the
// failure streak and single use hold under any number of concurrent calls
// from any number of processes. Call LoadScripts once at start-up to spare
// the first call on each node the NOSCRIPT round trip.
//
// Every time a script uses is passed in (the Now of the call, in Unix
// milliseconds): scripts never read a clock, so tests can roll time forward
// and miniredis runs them unchanged.
//
// # Throughput
//
// Each call is one command, so a call costs one round trip plus the
// script's time in Redis (some 20 microseconds for issue.lua, three Redis
// commands inside). The client's own cost per command, mostly system calls,
// is what limits many concurrent calls from one process.
// go-redis's AutoPipeliner (rdb.AutoPipeline(), EXPERIMENTAL in go-redis)
// batches the commands of concurrent calls into one write; BENCH.md
// measures what it gains. Its caveats are go-redis's: once queued, a call
// no longer honors its context's deadline or cancellation (the store still
// refuses a call whose context is already done), and a batch that fails on
// the network is retried whole.
//
// # Keys
//
// With the default Prefix "recovery:":
//
//	recovery:code:{<pool>|<user key>}   one hash per user: the whole record
//	recovery:rate:{<pool>}:<limit key>  one hash per request counter
//
// where pool and user key are escaped so that '%', '{', '}' and '|' become
// %25, %7B, %7D and %7C. The part in braces is the Cluster hash tag. A user's
// record is one key, so each code-store script touches one slot; the tag
// names the user explicitly so that keys added later stay in that slot. The
// counters of a pool share one tag so that Allow can charge a client's and
// an IP address's counters in one script (see Limiter for the trade-off).
//
// # Memory
//
// Every key is written with a TTL computed by the script from Now and the
// record's deadlines (code expiry, end of the latest event's window, lock
// end, Cooldown after the latest failure), so Redis drops each record when
// the contract allows it to be forgotten and memory stays bounded by the
// live users. The TTL is a duration relative to the Now passed in, never an
// absolute PEXPIREAT, so a caller's clock that differs from Redis's shifts
// nothing but the moment of reclamation; a record that a script finds past
// its deadline is treated as absent and deleted. The store therefore does
// not implement recovery.ExpiredSweeper: there is nothing to sweep.
//
// # Durability
//
// Codes are short-lived secrets, so the package asks nothing of Redis's
// persistence. Without AOF (or with a failover that loses recent writes) a
// restart drops outstanding codes, budgets and locks: users whose code is
// lost get ExpiredCodeException and request a new one, and budgets and locks
// start again from zero. Nothing is ever wrongly accepted, because a code
// that is not in Redis cannot match. Run Redis with appendonly yes if locks
// must survive restarts.
//
// # Errors
//
// Network errors, timeouts, cancelled contexts and errors Redis returns come
// back wrapped (errors.Is and errors.As see through them, and the engine
// answers InternalErrorException); MOVED and ASK redirections are followed
// by the Cluster client. Outcomes are never errors. The package starts no
// goroutines and holds no connection of its own: when Redis comes back, the
// client reconnects and the next call succeeds.
//
// go-redis retries a command whose connection failed (Options.MaxRetries,
// 3 by default). When the first attempt did reach Redis and only its reply
// was lost, the retried script runs a second time: an Issue or a mismatch
// is then charged twice, or a consuming Check whose first run used the code
// answers OutcomeExpired. Both err on the safe side; nothing is accepted
// that should not be. Set MaxRetries to -1 to trade that for more errors
// during network trouble.
package redisstore
