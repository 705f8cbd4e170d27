package recovery

import (
	"context"
	"time"
)

// Rate is a request limit: at most Limit requests per Window. The zero Rate
// is no limit.
type Rate struct {
	Limit  int
	Window time.Duration
}

// IsZero reports whether r sets no limit.
func (r Rate) IsZero() bool { return r.Limit == 0 && r.Window == 0 }

// LimitKey is one counter a request is charged to.
type LimitKey struct {
	// Key names the counter, for example "client:web" or "ip:192.0.2.1".
	Key string
	// Rate is the limit of this counter.
	Rate Rate
}

// LimitRequest is the input of RequestLimiter.Allow.
type LimitRequest struct {
	// Pool is the user pool ID; limiters keep pools apart.
	Pool string
	// Keys are the counters to charge, one or two (client, IP).
	Keys []LimitKey
	// Now is the current time; limiters never read their own clock.
	Now time.Time
}

// RequestLimiter throttles requests per app client and per IP address
// (TooManyRequestsException). It is optional: set Config.Limiter together with
// Policy.ClientRequests and/or Policy.IPRequests.
//
// Allow is one atomic step (one round trip for a networked store): it answers
// true and charges every key when each is under its rate, and false, charging
// nothing, when any is not. Concurrent calls must never allow more than Limit
// requests of a key within one window. Whether the window is fixed or sliding
// is the implementation's choice; it must say which. Expired counters must
// be reclaimed. An error means the limiter failed (InternalErrorException).
type RequestLimiter interface {
	Allow(ctx context.Context, r LimitRequest) (bool, error)
}
