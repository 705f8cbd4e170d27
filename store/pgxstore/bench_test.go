package pgxstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/store/pgxstore"
)

// These benchmarks run against the server in RECOVERY_TEST_POSTGRES; see
// BENCH.md for how to run them next to pgbench, and the numbers.
//
// Each reports, besides ns/op and allocs/op: queries/op, the statements
// pgx ran per operation (counted by a pgx.QueryTracer), split into
// code-queries/op (recovery_codes) and user-queries/op (recovery_users);
// and ops/s. "serial" runs one operation at a time; "c=16" runs 16
// goroutines (b.RunParallel) on a pool of 16 connections.

// benchConcurrency is the parallel sub-benchmarks' number of goroutines.
const benchConcurrency = 16

// statementCounter is a pgx.QueryTracer that counts statements by the
// table they serve.
type statementCounter struct{ all, codes, users atomic.Int64 }

func (c *statementCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.all.Add(1)
	// A statement that does both (recovery.CodeIssuingFinder's,
	// recovery.CodeConsumingSetter's) counts in both.
	if strings.Contains(d.SQL, "recovery_issue(") || strings.Contains(d.SQL, "recovery_check(") ||
		strings.Contains(d.SQL, "INSERT INTO") && strings.Contains(d.SQL, "recovery_codes") {
		c.codes.Add(1)
	}
	if strings.Contains(d.SQL, "recovery_users") {
		c.users.Add(1)
	}
	return ctx
}

func (c *statementCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c *statementCounter) reset() { c.all.Store(0); c.codes.Store(0); c.users.Store(0) }

func (c *statementCounter) report(b *testing.B) {
	n := float64(b.N)
	b.ReportMetric(float64(c.all.Load())/n, "queries/op")
	b.ReportMetric(float64(c.codes.Load())/n, "code-queries/op")
	b.ReportMetric(float64(c.users.Load())/n, "user-queries/op")
	b.ReportMetric(n/b.Elapsed().Seconds(), "ops/s")
}

// benchDB is a pool of benchConcurrency connections with a statement
// counter, on a fresh schema.
type benchDB struct {
	pool    *pgxpool.Pool
	opts    pgxstore.Options
	counter *statementCounter
}

func newBenchDB(b *testing.B) benchDB {
	cfg := poolConfig(b, benchConcurrency)
	counter := &statementCounter{}
	cfg.ConnConfig.Tracer = counter
	cfg.MinConns = benchConcurrency
	pool := openPool(b, cfg)
	return benchDB{pool: pool, opts: newSchema(b, pool), counter: counter}
}

// seedUsers stores n users (user0000000...) with a verified email, in one
// transaction.
func seedUsers(b *testing.B, db benchDB, n int) []string {
	ctx := context.Background()
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback(ctx)
	users := must[*pgxstore.UserStore](b)(pgxstore.NewUserStore(tx, db.opts))
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("user%07d", i)
		seedUser(b, users, names[i])
	}
	if err := tx.Commit(ctx); err != nil {
		b.Fatal(err)
	}
	return names
}

// clock is the engine's clock in the benchmarks: a fixed instant, or one
// that moves by step at every reading.
type clock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(c.step)
	return c.t
}

func (c *clock) set(t time.Time, step time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t, c.step = t, step
}

// benchEngine is an engine on db's stores that reads clock now and drops
// the messages it sends.
// With !shared its user store is one of its own, as if in another
// database: without WithCodeStore.
func benchEngine(b *testing.B, db benchDB, now func() time.Time, policy recovery.Policy, shared bool) *instance {
	in := newInstance(b, db.pool, db.opts, policy)
	if !shared {
		in.users = must[*pgxstore.UserStore](b)(pgxstore.NewUserStore(db.pool, db.opts))
	}
	e, err := recovery.New(recovery.Config{
		// The request path alone: deliveries are dropped. With the default
		// outbox a worker, whose clock here runs a second per request,
		// would find each delivery older than StaleDelivery and ask the
		// store whether its code is current: a query the figures would
		// count against the request.
		Outbox: droppingOutbox{},
		Users:  in.users, Codes: in.codes, Sender: discardSender,
		Clients: []recovery.Client{{ID: "web"}}, Keys: []recovery.Key{testKey},
		Hasher: insecureHasher, Logger: discardLogger, Now: now, Policy: policy,
	})
	if err != nil {
		b.Fatal(err)
	}
	in.engine = e
	return in
}

// runModes runs op serially and with benchConcurrency goroutines, op(i)
// being the i-th operation of the run (0 <= i < b.N). The first error an op
// returns fails the benchmark.
func runModes(b *testing.B, db benchDB, setup func(b *testing.B), op func(i int) error) {
	for _, mode := range []string{"serial", fmt.Sprintf("c=%d", benchConcurrency)} {
		b.Run(mode, func(b *testing.B) {
			if setup != nil {
				setup(b)
			}
			db.counter.reset()
			b.ReportAllocs()
			b.ResetTimer()
			if mode == "serial" {
				for i := range b.N {
					if err := op(i); err != nil {
						b.Fatalf("operation %d: %v", i, err)
					}
				}
			} else {
				b.SetParallelism((benchConcurrency + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
				var next atomic.Int64
				var firstErr atomic.Pointer[error]
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := op(int(next.Add(1) - 1)); err != nil {
							firstErr.CompareAndSwap(nil, &err)
						}
					}
				})
				if err := firstErr.Load(); err != nil {
					b.Fatal(*err)
				}
			}
			b.StopTimer()
			db.counter.report(b)
		})
	}
}

// BenchmarkRecover measures ForgotPassword through the engine on the
// pgxstore stores sharing one database (UserStore.WithCodeStore): the user
// lookup and the Issue in one statement (recovery.CodeIssuingFinder). The
// clock moves one second per request and 1,000 users take turns, so each
// user sees 3.6 requests per hour, inside the budget of 5.
func BenchmarkRecover(b *testing.B) { benchmarkRecover(b, true) }

// BenchmarkRecoverOwnUserStore is BenchmarkRecover for a host with a user
// store of its own (here UserStore without WithCodeStore): a lookup, then
// an Issue.
func BenchmarkRecoverOwnUserStore(b *testing.B) { benchmarkRecover(b, false) }

func benchmarkRecover(b *testing.B, shared bool) {
	db := newBenchDB(b)
	const population = 1000
	names := seedUsers(b, db, population)
	clk := &clock{t: base, step: time.Second}
	in := benchEngine(b, db, clk.Now, recovery.Policy{}, shared)
	ctx := context.Background()
	var next atomic.Int64 // across runs, so that users keep taking turns
	runModes(b, db, nil, func(int) error {
		_, err := in.engine.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: names[next.Add(1)%population]})
		return err
	})
}

// BenchmarkConfirm measures a successful ConfirmForgotPassword through the
// engine: one user lookup, one Check that consumes the code, and one
// SetPassword (which also invalidates codes, in the same statement). The
// insecure hasher keeps argon2id out of the measurement. Each operation
// needs a fresh code for a distinct user: every run first requests one for
// each of its b.N users at a fixed instant (outside the timer), then
// confirms them a second later.
func BenchmarkConfirm(b *testing.B) {
	db := newBenchDB(b)
	const population = 60_000 // enough for c=16 at 5 s on a fast machine (about 7,000 ops/s)
	names := seedUsers(b, db, population)
	clk := &clock{}
	capture := newCaptureEngine(b, db, clk.Now, recovery.Policy{})
	in := benchEngine(b, db, clk.Now, recovery.Policy{}, true)
	ctx := context.Background()
	run := 0
	codes := make([]string, population)
	runModes(b, db, func(b *testing.B) {
		if b.N > population {
			b.Fatalf("b.N = %d is more than the %d users seeded; use a shorter -benchtime", b.N, population)
		}
		run++
		at := base.Add(time.Duration(run) * 3 * time.Hour) // earlier runs' events are out of the window
		clk.set(at, 0)
		for i := range b.N {
			codes[i] = recoverCode(b, capture, names[i])
		}
		clk.set(at.Add(time.Second), 0)
	}, func(i int) error {
		return in.engine.Confirm(ctx, recovery.ConfirmRequest{ClientID: "web", Username: names[i], ConfirmationCode: codes[i], Password: newPassword})
	})
}

// BenchmarkConfirmWrongCode measures a failed ConfirmForgotPassword: one
// user lookup and one Check that charges a mismatch. The clock moves one
// second per request and 1,000 users take turns, so each user's events
// stay within the budget; codes live 1,000 hours so that they stay current.
func BenchmarkConfirmWrongCode(b *testing.B) {
	db := newBenchDB(b)
	const population = 1000
	names := seedUsers(b, db, population)
	clk := &clock{t: base, step: time.Second}
	policy := recovery.Policy{CodeLifetime: 1000 * time.Hour, MaxFailures: 1 << 30}
	capture := newCaptureEngine(b, db, clk.Now, policy)
	in := benchEngine(b, db, clk.Now, policy, true)
	ctx := context.Background()
	wrong := make([]string, population)
	for i, n := range names {
		wrong[i] = "000000"
		if recoverCode(b, capture, n) == wrong[i] {
			wrong[i] = "000001"
		}
	}
	var next atomic.Int64 // across runs, so that users keep taking turns
	runModes(b, db, nil, func(int) error {
		u := next.Add(1) % population
		err := in.engine.Confirm(ctx, recovery.ConfirmRequest{ClientID: "web", Username: names[u], ConfirmationCode: wrong[u], Password: newPassword})
		if !errors.Is(err, recovery.ErrCodeMismatch) {
			return fmt.Errorf("Confirm of a wrong code: %v, want CodeMismatchException", err)
		}
		return nil
	})
}

// BenchmarkCodeStore measures the code store alone, one statement per
// operation: Issue for 10,000 users in turn (the operation pgbench's
// testdata/upsert.sql mirrors), and Check of a wrong code.
func BenchmarkCodeStore(b *testing.B) {
	db := newBenchDB(b)
	codes := must[*pgxstore.CodeStore](b)(pgxstore.NewCodeStore(db.pool, db.opts))
	ctx := context.Background()
	const population = 10_000
	limits := recovery.CodeLimits{Budget: 5, FailureBudget: 5, Window: time.Hour, MaxFailures: 1 << 30, Cooldown: 24 * time.Hour}
	var tick atomic.Int64 // one second per operation, as in BenchmarkRecover
	now := func() time.Time { return base.Add(time.Duration(tick.Add(1)) * time.Second) }
	hash := hk("bench")
	var next atomic.Int64 // across runs, so that users keep taking turns
	issue := func(s *pgxstore.CodeStore, i int) error {
		t := now()
		out, err := s.Issue(ctx, recovery.IssueParams{Pool: "bench", UserKey: fmt.Sprintf("u:%d", i%population), Code: hash, ExpiresAt: t.Add(1000 * time.Hour), Now: t, Limits: limits})
		if err == nil && out != recovery.OutcomeOK {
			err = fmt.Errorf("Issue = %v", out)
		}
		return err
	}
	// Every user starts with a code (one transaction, outside the timer).
	tx := must[pgx.Tx](b)(db.pool.Begin(ctx))
	txCodes := must[*pgxstore.CodeStore](b)(pgxstore.NewCodeStore(tx, db.opts))
	for i := range population {
		if err := issue(txCodes, i); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		b.Fatal(err)
	}
	b.Run("Issue", func(b *testing.B) {
		runModes(b, db, nil, func(int) error { return issue(codes, int(next.Add(1))) })
	})
	b.Run("CheckMismatch", func(b *testing.B) {
		wrong := []recovery.KeyedHash{hk("wrong")}
		runModes(b, db, nil, func(int) error {
			t := now()
			out, err := codes.Check(ctx, recovery.CheckParams{Pool: "bench", UserKey: fmt.Sprintf("u:%d", next.Add(1)%population), Candidates: wrong, Now: t, Limits: limits})
			if err == nil && out != recovery.OutcomeMismatch {
				err = fmt.Errorf("Check of a wrong code = %v, want mismatch", out)
			}
			return err
		})
	})
}

// BenchmarkUpsertFloor runs the statement of testdata/upsert.sql, pgbench's
// floor for Issue, through pgx on the same pool as the other benchmarks, so
// that the floor and Issue are measured with the same client.
func BenchmarkUpsertFloor(b *testing.B) {
	db := newBenchDB(b)
	raw, err := os.ReadFile("testdata/upsert.sql")
	if err != nil {
		b.Fatal(err)
	}
	var lines []string
	for line := range strings.Lines(string(raw)) {
		if !strings.HasPrefix(line, "--") && !strings.HasPrefix(line, `\`) {
			lines = append(lines, line)
		}
	}
	sql := strings.Join(lines, "")
	sql = strings.ReplaceAll(sql, "pgxstore_pgbench.", pgx.Identifier{db.opts.Schema}.Sanitize()+".")
	sql = strings.ReplaceAll(sql, "'u:' || :uid", "$1")
	ctx := context.Background()
	const population = 10_000
	var next atomic.Int64
	runModes(b, db, nil, func(int) error {
		_, err := db.pool.Exec(ctx, sql, fmt.Sprintf("u:%d", next.Add(1)%population))
		return err
	})
}

// droppingOutbox takes deliveries and does nothing with them.
type droppingOutbox struct{}

func (droppingOutbox) Bind(recovery.Deliverer) error                { return nil }
func (droppingOutbox) Put(context.Context, recovery.Delivery) error { return nil }
