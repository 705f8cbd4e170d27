package redisstore_test

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/store/redisstore"
)

// faultLoad drives s from a few workers for dur, on the wall clock, while
// disrupt runs, and reports every wrong success: a wrong code accepted, or
// one code accepted twice. Each worker issues a fresh code to one of its
// users, guesses wrong, consumes the code, then tries it again. It returns
// how many calls failed and how many codes were consumed.
func faultLoad(t *testing.T, s *redisstore.CodeStore, dur time.Duration, disrupt func(ctx context.Context)) (failed, consumed int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), dur)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { disrupt(ctx) })
	var nFailed, nConsumed atomic.Int64
	for w := range 8 {
		wg.Go(func() {
			call := context.Background() // the calls are bounded by the client's timeouts
			for gen := 0; ctx.Err() == nil; gen++ {
				user := fmt.Sprintf("u:%d-%d", w, gen%4)
				code := fmt.Sprintf("%d-%d", w, gen)
				now := time.Now()
				check := func(code string, consume bool) recovery.Outcome {
					out, err := s.Check(call, recovery.CheckParams{Pool: "p", UserKey: user, Candidates: []recovery.KeyedHash{hk(code)}, Consume: consume, Now: now, Limits: lenient})
					if err != nil {
						nFailed.Add(1)
						return 0
					}
					return out
				}
				if _, err := s.Issue(call, recovery.IssueParams{Pool: "p", UserKey: user, Code: hk(code), ExpiresAt: now.Add(10 * time.Minute), Now: now, Limits: lenient}); err != nil {
					nFailed.Add(1) // the code may or may not be stored: both are fine
				}
				if out := check("wrong", true); out == recovery.OutcomeOK {
					t.Errorf("worker %d: a wrong code was accepted for %s", w, user)
				}
				if out := check(code, true); out == recovery.OutcomeOK {
					nConsumed.Add(1)
				}
				if out := check(code, true); out == recovery.OutcomeOK {
					t.Errorf("worker %d: code %s was accepted a second time", w, code)
				}
			}
		})
	}
	wg.Wait()
	return nFailed.Load(), nConsumed.Load()
}

// wantRecovered checks that s works again: within a few seconds a code can
// be issued and consumed, and then twenty in a row go through without error.
func wantRecovered(t *testing.T, s *redisstore.CodeStore) {
	t.Helper()
	ctx := t.Context()
	round := func(i int) error {
		now := time.Now()
		user := fmt.Sprintf("u:after-%d", i)
		out, err := s.Issue(ctx, recovery.IssueParams{Pool: "p", UserKey: user, Code: hk("after"), ExpiresAt: now.Add(time.Minute), Now: now, Limits: lenient})
		if err != nil || out != recovery.OutcomeOK {
			return fmt.Errorf("Issue: %v, %v", out, err)
		}
		out, err = s.Check(ctx, recovery.CheckParams{Pool: "p", UserKey: user, Candidates: []recovery.KeyedHash{hk("after")}, Consume: true, Now: now, Limits: lenient})
		if err != nil || out != recovery.OutcomeOK {
			return fmt.Errorf("Check: %v, %v", out, err)
		}
		return nil
	}
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if err = round(0); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("the store did not recover within 5s: %v", err)
	}
	for i := 1; i <= 20; i++ {
		if err := round(i); err != nil {
			t.Fatalf("round %d after recovery: %v", i, err)
		}
	}
}

// TestFaultServerRestart kills a throwaway redis-server in the middle of a
// load and starts it again on the same port, empty: calls fail meanwhile,
// nothing is wrongly accepted, and the store works again afterwards without
// being told.
func TestFaultServerRestart(t *testing.T) {
	requireBinaries(t, "redis-server")
	dir := t.TempDir()
	ports, err := freePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	port := ports[0]
	srv, err := startRedis(dir, port)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex // guards srv
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if srv != nil {
			srv.Process.Kill()
			srv.Wait()
		}
	})
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port),
		DialTimeout: 100 * time.Millisecond, ReadTimeout: 500 * time.Millisecond, WriteTimeout: 500 * time.Millisecond,
		DialerRetries: 1, MaxRetryBackoff: 50 * time.Millisecond})
	t.Cleanup(func() { c.Close() })
	if err := redisstore.LoadScripts(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	s := newCodeStore(t, c, "rk:")

	restarted := false
	failed, consumed := faultLoad(t, s, 1500*time.Millisecond, func(ctx context.Context) {
		time.Sleep(400 * time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		srv.Process.Kill()
		srv.Wait()
		srv = nil
		time.Sleep(300 * time.Millisecond)
		if srv, err = startRedis(dir, port); err != nil {
			t.Errorf("restarting redis-server: %v", err)
			return
		}
		restarted = true
	})
	t.Logf("%d codes consumed, %d calls failed", consumed, failed)
	if !restarted {
		t.FailNow()
	}
	if failed == 0 {
		t.Errorf("no call failed while Redis was down")
	}
	if consumed == 0 {
		t.Errorf("no code was consumed: the load did not run")
	}
	wantRecovered(t, s)
}

// TestFaultClientKill kills the store's connections to the shared Redis
// (and only those, picked by client name) every few milliseconds during a
// load: nothing is wrongly accepted, and the store works afterwards.
func TestFaultClientKill(t *testing.T) {
	base := realRedis(t)
	prefix := newPrefix()
	deleteOnCleanup(t, base, prefix)
	opts := *base.Options()
	opts.ClientName = strings.TrimSuffix(prefix, ":")
	opts.ClientName = strings.ReplaceAll(opts.ClientName, ":", "-")
	c := redis.NewClient(&opts)
	t.Cleanup(func() { c.Close() })
	s := newCodeStore(t, c, prefix)

	var kills int
	failed, consumed := faultLoad(t, s, time.Second, func(ctx context.Context) {
		for ctx.Err() == nil {
			time.Sleep(20 * time.Millisecond)
			list, err := base.ClientList(context.Background()).Result()
			if err != nil {
				t.Errorf("CLIENT LIST: %v", err)
				return
			}
			sc := bufio.NewScanner(strings.NewReader(list))
			for sc.Scan() {
				fields := strings.Fields(sc.Text())
				if !strings.Contains(" "+sc.Text()+" ", " name="+opts.ClientName+" ") || len(fields) == 0 {
					continue
				}
				id := strings.TrimPrefix(fields[0], "id=")
				if n, err := base.Do(context.Background(), "CLIENT", "KILL", "ID", id).Int(); err == nil {
					kills += n
				}
			}
		}
	})
	t.Logf("%d connections killed, %d codes consumed, %d calls failed", kills, consumed, failed)
	if kills == 0 {
		t.Errorf("no connection was killed")
	}
	if consumed == 0 {
		t.Errorf("no code was consumed: the load did not run")
	}
	wantRecovered(t, s)
}
