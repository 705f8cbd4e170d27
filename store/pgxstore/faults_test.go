package pgxstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/internal/faultload"
	"github.com/recoverykit/recoverykit/store/pgxstore"
)

// TestFaultLoad runs the fault suite on the code store and the user store
// of one pool. Each outage terminates the pool's backends with
// pg_terminate_backend, from a connection of its own, every 5 ms until it
// ends; the pool is never told and reconnects by itself.
func TestFaultLoad(t *testing.T) {
	recoverytest.OptIn(t, recoverytest.EnvFaults, "fault suite")
	t.Parallel()
	cfg := poolConfig(t, 8)
	app := "pgxstore-faults-" + randomSchema()[len("pgxstore_test_"):]
	cfg.ConnConfig.RuntimeParams["application_name"] = app
	pool := openPool(t, cfg)
	opts := newSchema(t, pool)
	codes := must[*pgxstore.CodeStore](t)(pgxstore.NewCodeStore(pool, opts))
	users := must[*pgxstore.UserStore](t)(pgxstore.NewUserStore(pool, opts)).WithCodeStore(codes)

	killer := must[*pgx.Conn](t)(pgx.ConnectConfig(t.Context(), poolConfig(t, 1).ConnConfig))
	defer killer.Close(context.Background())
	var killed atomic.Int64
	cut, restore := faultload.Repeatedly(5*time.Millisecond, func() {
		var n int64
		// Only the backends of this test's pool: they carry its
		// application_name.
		err := killer.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))
			FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()`, app).Scan(&n)
		if err != nil {
			t.Errorf("terminating backends: %v", err)
			return
		}
		killed.Add(n)
	})

	faultload.Run(t, faultload.Config{
		Codes:        codes,
		Users:        users,
		PasswordHash: users.PasswordHash,
		Events:       codeEvents(pool, opts.Schema),
		// The user store consumes the code in the transaction that sets
		// the password, so a Confirm cut off by a terminated backend can be
		// retried with its code.
		FailedConfirmsRetryable: true,
		Cut:                     cut,
		Restore:                 restore,
		MinOutage:               50 * time.Millisecond,
	})
	t.Logf("%d backends terminated", killed.Load())
	if killed.Load() == 0 {
		t.Error("no backend was terminated")
	}
}

// codeEvents reads the issue and failure times of a user's row in
// recovery_codes, for faultload.Config.Events.
func codeEvents(pool *pgxpool.Pool, schema string) func(ctx context.Context, p, userKey string) ([]time.Time, []time.Time, error) {
	q := "SELECT issues, misses FROM " + pgx.Identifier{schema, "recovery_codes"}.Sanitize() + " WHERE pool = $1 AND user_key = $2"
	return func(ctx context.Context, p, userKey string) ([]time.Time, []time.Time, error) {
		var issues, failures []time.Time
		err := pool.QueryRow(ctx, q, p, userKey).Scan(&issues, &failures)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, nil, nil
		}
		return issues, failures, err
	}
}

// TestTerminatedBackends kills the pool's server processes with
// pg_terminate_backend, from a separate connection, again and again during a
// bounded load. Calls may fail, with an error and without panicking, but
// never answer wrongly: a wrong code is never OK and no code is OK twice.
// Afterwards the same pool serves calls again, nothing restarted.
func TestTerminatedBackends(t *testing.T) {
	t.Parallel()
	const (
		workers   = 8
		loadFor   = 1500 * time.Millisecond
		killEvery = 100 * time.Millisecond
	)
	cfg := poolConfig(t, workers)
	app := "pgxstore-fault-" + randomSchema()[len("pgxstore_test_"):]
	cfg.ConnConfig.RuntimeParams["application_name"] = app
	pool := openPool(t, cfg)
	opts := newSchema(t, pool)
	codes := must[*pgxstore.CodeStore](t)(pgxstore.NewCodeStore(pool, opts))

	killer := must[*pgx.Conn](t)(pgx.ConnectConfig(t.Context(), poolConfig(t, 1).ConnConfig))
	defer killer.Close(context.Background())

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	stop := make(chan struct{})
	var killed atomic.Int64
	var killerDone sync.WaitGroup
	killerDone.Go(func() {
		tick := time.NewTicker(killEvery)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			var n int64
			err := killer.QueryRow(ctx, `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))
				FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&n)
			if err != nil {
				t.Errorf("terminating backends: %v", err)
				return
			}
			killed.Add(n)
		}
	})

	// Each worker drives its own user with its own clock: one second per
	// step, so budget events leave the window as fast as they come.
	limits := recovery.CodeLimits{Budget: 10, FailureBudget: 10, Window: 5 * time.Second, MaxFailures: 1000, Cooldown: time.Second}
	var (
		calls, failures atomic.Int64
		mu              sync.Mutex
		problems        []string
		firstErr        error
	)
	failed := func(err error) {
		failures.Add(1)
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = err
		}
	}
	report := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(problems) < 10 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	var wg sync.WaitGroup
	deadline := time.Now().Add(loadFor)
	for w := range workers {
		wg.Go(func() {
			defer func() {
				if p := recover(); p != nil {
					report("worker %d panicked: %v", w, p)
				}
			}()
			user := fmt.Sprintf("u:%d", w)
			now := base
			step := func() time.Time { now = now.Add(time.Second); return now }
			for i := 0; time.Now().Before(deadline); i++ {
				code := hk(fmt.Sprintf("%d-%d", w, i))
				calls.Add(1)
				out, err := codes.Issue(ctx, recovery.IssueParams{Pool: "p", UserKey: user, Code: code, ExpiresAt: now.Add(time.Hour), Now: step(), Limits: limits})
				if err != nil {
					failed(err)
				} else if out != recovery.OutcomeOK {
					report("Issue %d of worker %d = %v", i, w, out)
				}
				// Whether or not Issue reported success, the code was
				// stored at most once; it must match at most once.
				calls.Add(1)
				out, err = codes.Check(ctx, recovery.CheckParams{Pool: "p", UserKey: user, Candidates: []recovery.KeyedHash{hk("wrong")}, Consume: true, Now: step(), Limits: limits})
				if err != nil {
					failed(err)
				} else if out == recovery.OutcomeOK {
					report("a wrong code was accepted (worker %d, step %d)", w, i)
				}
				oks := 0
				for range 2 {
					calls.Add(1)
					out, err := codes.Check(ctx, recovery.CheckParams{Pool: "p", UserKey: user, Candidates: []recovery.KeyedHash{code}, Consume: true, Now: step(), Limits: limits})
					if err != nil {
						failed(err)
					} else if out == recovery.OutcomeOK {
						oks++
					}
				}
				if oks > 1 {
					report("code %d of worker %d was accepted %d times", i, w, oks)
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	killerDone.Wait()
	t.Logf("%d calls, %d failed; %d backends terminated; first error: %v", calls.Load(), failures.Load(), killed.Load(), firstErr)
	for _, p := range problems {
		t.Error(p)
	}
	if killed.Load() == 0 || failures.Load() == 0 {
		t.Errorf("the fault did not bite (%d backends terminated, %d calls failed): the test proves nothing", killed.Load(), failures.Load())
	}

	// Recovery: each dead connection fails at most one call, so after at
	// most workers failures the pool is healthy; then every call succeeds.
	now := base.Add(24 * time.Hour)
	fails := 0
	for i := range 50 {
		now = now.Add(time.Second)
		out, err := codes.Issue(ctx, recovery.IssueParams{Pool: "p", UserKey: "u:after", Code: hk(fmt.Sprint(i)), ExpiresAt: now.Add(time.Hour), Now: now, Limits: lenient})
		if err != nil {
			fails++
			if i >= workers+1 {
				t.Errorf("call %d after the fault failed: %v", i, err)
			}
			continue
		}
		if out != recovery.OutcomeOK {
			t.Errorf("Issue after the fault = %v", out)
		}
	}
	t.Logf("%d of 50 calls after the fault failed (dead pooled connections found on use)", fails)
	if out, err := codes.Check(ctx, recovery.CheckParams{Pool: "p", UserKey: "u:after", Candidates: []recovery.KeyedHash{hk("49")}, Consume: true, Now: now, Limits: lenient}); err != nil || out != recovery.OutcomeOK {
		t.Errorf("consuming the last code after the fault: %v, %v", out, err)
	}
}
