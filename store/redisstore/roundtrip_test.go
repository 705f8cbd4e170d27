package redisstore_test

import (
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/store/redisstore"
)

// TestOneCommandPerCall counts the commands each call sends: one, once the
// scripts are loaded; two (EVALSHA answered NOSCRIPT, then EVAL) for the
// first call of a script that is not.
func TestOneCommandPerCall(t *testing.T) {
	_, c := newMiniredis(t)
	h := &cmdCounter{}
	c.AddHook(h)
	ctx := t.Context()
	if err := c.Ping(ctx).Err(); err != nil { // open the connection: its set-up commands are not counted
		t.Fatal(err)
	}
	s := newCodeStore(t, c, "rk:")
	l := newLimiter(t, c, "rk:")
	limits := recovery.CodeLimits{Budget: 5, FailureBudget: 5, Window: time.Hour, MaxFailures: 3, Cooldown: time.Hour}
	calls := []struct {
		name string
		call func() error
	}{
		{"Issue", func() error {
			_, err := s.Issue(ctx, recovery.IssueParams{Pool: "p", UserKey: "u:1", Code: hk("1"), ExpiresAt: t0.Add(time.Hour), Now: t0, Limits: limits})
			return err
		}},
		{"Check", func() error {
			_, err := s.Check(ctx, recovery.CheckParams{Pool: "p", UserKey: "u:1", Candidates: []recovery.KeyedHash{hk("2"), hk("1")}, Now: t0, Limits: limits})
			return err
		}},
		{"Revoke", func() error { return s.Revoke(ctx, "p", "u:1", hk("1")) }},
		{"Allow with two keys", func() error {
			_, err := l.Allow(ctx, recovery.LimitRequest{Pool: "p", Now: t0, Keys: []recovery.LimitKey{
				{Key: "client:web", Rate: recovery.Rate{Limit: 5, Window: time.Minute}},
				{Key: "ip:192.0.2.1", Rate: recovery.Rate{Limit: 5, Window: time.Minute}},
			}})
			return err
		}},
	}
	count := func(what string, want int64) {
		t.Helper()
		for _, cl := range calls {
			before := h.n.Load()
			if err := cl.call(); err != nil {
				t.Fatalf("%s: %v", cl.name, err)
			}
			if n := h.n.Load() - before; n != want {
				t.Errorf("%s %s sent %d commands, want %d", cl.name, what, n, want)
			}
		}
	}
	count("before the scripts were loaded", 2)
	count("once they ran", 1)
	if err := c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := redisstore.LoadScripts(ctx, c); err != nil {
		t.Fatal(err)
	}
	count("after SCRIPT FLUSH and LoadScripts", 1)
}
