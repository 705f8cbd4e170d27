package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/recoverykit/recoverykit/recovery"
)

var _ recovery.RequestLimiter = (*Limiter)(nil)

// Limiter is a recovery.RequestLimiter on Redis with sliding windows,
// estimated from two fixed windows aligned to the Unix epoch (the previous
// window's count weighted by how much of it the sliding window still
// covers, plus the current count), as memstore.Limiter does. It never
// allows more than Limit requests of a key in one fixed window, even under
// concurrent calls from many processes. It is safe for concurrent use. The
// zero value is not usable; call NewLimiter.
//
// Allow is one Lua script (allow.lua) that checks every counter of the
// request and charges all of them or none, in one round trip. For that the
// counters must be in one Cluster slot, so all counters of a pool share the
// hash tag {<pool>}: the per-client and per-IP counters of every request of
// a pool live on one Cluster node. The trade-off is a hot slot: that node
// runs one small script per request of the pool. A Redis core runs tens of
// thousands of them per second, far more than password recovery sees, and
// the code store, which does the heavier work, still spreads its users over
// every slot. Pools spread over slots too, one slot each. The alternative,
// one key per script call with a refund when a later key refuses, would take
// two round trips on a refusal and would let a concurrent request see, and be
// refused by, a charge that is about to be refunded.
type Limiter struct {
	c      redis.Scripter
	prefix string
}

// NewLimiter returns a limiter on c, usually a redis.UniversalClient. It
// reports a nil client or an invalid Options.Prefix; it does not contact
// Redis (see LoadScripts).
func NewLimiter(c redis.Scripter, o Options) (*Limiter, error) {
	p, err := o.prefix(c)
	if err != nil {
		return nil, err
	}
	return &Limiter{c: c, prefix: p}, nil
}

// Allow implements recovery.RequestLimiter. A request without keys is
// allowed without a call to Redis.
func (l *Limiter) Allow(ctx context.Context, r recovery.LimitRequest) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, wrap("allow", err)
	}
	if len(r.Keys) == 0 {
		return true, nil
	}
	keys := make([]string, len(r.Keys))
	args := make([]any, 0, 1+2*len(r.Keys))
	args = append(args, ms(r.Now))
	for i, k := range r.Keys {
		keys[i] = rateKey(l.prefix, r.Pool, k.Key)
		args = append(args, max(k.Rate.Window, time.Millisecond).Milliseconds(), k.Rate.Limit)
	}
	n, err := allowScript.Run(ctx, l.c, keys, args...).Int64()
	if err != nil {
		return false, wrap("allow", err)
	}
	switch n {
	case 0:
		return false, nil
	case 1:
		return true, nil
	}
	return false, fmt.Errorf("redisstore: allow: the script returned %d, want 0 or 1", n)
}
