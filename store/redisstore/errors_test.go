package redisstore_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/store/redisstore"
)

var lenient = recovery.CodeLimits{Budget: 1000, FailureBudget: 1000, Window: time.Hour, MaxFailures: 1000, Cooldown: time.Hour}

// callAll makes one call of every method on c and returns their errors.
func callAll(ctx context.Context, t *testing.T, c redis.UniversalClient) map[string]error {
	t.Helper()
	s := newCodeStore(t, c, "rk:")
	l := newLimiter(t, c, "rk:")
	errs := map[string]error{}
	_, errs["Issue"] = s.Issue(ctx, recovery.IssueParams{Pool: "p", UserKey: "u:1", Code: hk("1"), ExpiresAt: t0.Add(time.Hour), Now: t0, Limits: lenient})
	_, errs["Check"] = s.Check(ctx, recovery.CheckParams{Pool: "p", UserKey: "u:1", Candidates: []recovery.KeyedHash{hk("1")}, Now: t0, Limits: lenient})
	errs["Revoke"] = s.Revoke(ctx, "p", "u:1", hk("1"))
	_, errs["Allow"] = l.Allow(ctx, recovery.LimitRequest{Pool: "p", Now: t0, Keys: []recovery.LimitKey{{Key: "k", Rate: recovery.Rate{Limit: 1, Window: time.Minute}}}})
	errs["LoadScripts"] = redisstore.LoadScripts(ctx, c)
	return errs
}

// wantErrors reports a method that returned no error, or one that is not
// wrapped by the package or does not satisfy match.
func wantErrors(t *testing.T, errs map[string]error, what string, match func(error) bool) {
	t.Helper()
	for m, err := range errs {
		switch {
		case err == nil:
			t.Errorf("%s with %s: no error", m, what)
		case !strings.HasPrefix(err.Error(), "redisstore: "):
			t.Errorf("%s with %s: error %q does not say it comes from redisstore", m, what, err)
		case !match(err):
			t.Errorf("%s with %s: error %v (%T) is not the one expected", m, what, err, errors.Unwrap(err))
		}
	}
}

func TestErrorClosedClient(t *testing.T) {
	_, c := newMiniredis(t)
	c.Close()
	wantErrors(t, callAll(t.Context(), t, c), "a closed client", func(err error) bool { return errors.Is(err, redis.ErrClosed) })
}

func TestErrorRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second, DialerRetries: 1})
	defer c.Close()
	wantErrors(t, callAll(t.Context(), t, c), "nothing listening", func(err error) bool {
		var op *net.OpError
		return errors.As(err, &op)
	})
}

// blackHole accepts connections and never answers.
func blackHole(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				io.Copy(io.Discard, conn)
			}()
		}
	}()
	return l.Addr().String()
}

func TestErrorTimeout(t *testing.T) {
	addr := blackHole(t)
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, ReadTimeout: 50 * time.Millisecond, WriteTimeout: 50 * time.Millisecond,
		DialerRetries: 1, Protocol: 2, DisableIdentity: true})
	defer c.Close()
	wantErrors(t, callAll(t.Context(), t, c), "a server that never answers", func(err error) bool {
		var ne net.Error
		return errors.As(err, &ne) && ne.Timeout()
	})

	// With the context's deadline in charge of the timeouts.
	cc := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, ContextTimeoutEnabled: true, DialerRetries: 1, Protocol: 2, DisableIdentity: true})
	defer cc.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	wantErrors(t, callAll(ctx, t, cc), "a context deadline", func(err error) bool {
		var ne net.Error
		return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
	})
}

func TestErrorFromRedis(t *testing.T) {
	m, c := newMiniredis(t)
	m.SetError("ERR the server is unwell")
	wantErrors(t, callAll(t.Context(), t, c), "a Redis error reply", func(err error) bool {
		return strings.Contains(err.Error(), "the server is unwell")
	})
	m.SetError("")
	for m, err := range callAll(t.Context(), t, c) {
		if err != nil {
			t.Errorf("%s once the server is well again: %v", m, err)
		}
	}
}

// TestErrorWrongType: a key the store does not own the type of makes the
// script fail with WRONGTYPE; the error comes back, nothing panics.
func TestErrorWrongType(t *testing.T) {
	_, c := newMiniredis(t)
	ctx := t.Context()
	c.Set(ctx, "rk:code:{p|u:1}", "not a hash", 0)
	c.Set(ctx, "rk:rate:{p}:k", "not a hash", 0)
	errs := callAll(ctx, t, c)
	delete(errs, "LoadScripts")
	wantErrors(t, errs, "a key of another type", func(err error) bool { return strings.Contains(err.Error(), "WRONGTYPE") })
}
