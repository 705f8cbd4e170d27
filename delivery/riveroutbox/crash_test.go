package riveroutbox_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/recoverykit/recoverykit/delivery/internal/outboxtest"
	"github.com/recoverykit/recoverykit/delivery/riveroutbox"
	"github.com/recoverykit/recoverykit/delivery/smtpsender"
	"github.com/recoverykit/recoverykit/examples/smtpsink"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/memstore"
	"github.com/recoverykit/recoverykit/store/pgxstore"
)

// The crash test's child processes are this test binary again, running
// TestCrashChild with these variables set.
const (
	envRole   = "RIVEROUTBOX_CRASH_ROLE" // "accept" or "work"
	envSchema = "RIVEROUTBOX_CRASH_SCHEMA"
	envSMTP   = "RIVEROUTBOX_CRASH_SMTP"
	envN      = "RIVEROUTBOX_CRASH_N"
	envMode   = "RIVEROUTBOX_CRASH_MODE" // "stopped" or "slowed"
)

const crashUsers = 200

func crashUser(i int) string { return fmt.Sprintf("crash%04d", i) }

// TestCrashRecovery: a process accepts deliveries for crashUsers users and
// is killed with SIGKILL; a second process, which only works, sends the
// rest. With the first process's workers stopped (insert only), each
// message must arrive exactly once. With them slowed, a few were being
// sent at the kill, or were sent and waited for River's next completion
// batch: River rescues those after RescueAfter, so a message may arrive
// twice, always with the same code, and none may be lost.
func TestCrashRecovery(t *testing.T) {
	if os.Getenv(envRole) != "" {
		t.Skip("in a child process")
	}
	t.Run("WorkersStopped", func(t *testing.T) { crash(t, "stopped") })
	t.Run("WorkersSlowed", func(t *testing.T) { crash(t, "slowed") })
}

func crash(t *testing.T, mode string) {
	pool, schema := testDB(t)
	sink, err := smtpsink.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	var mu sync.Mutex
	got := map[string][]string{} // recipient → codes received
	sink.OnCode(func(to, code string) {
		mu.Lock()
		defer mu.Unlock()
		got[strings.ToLower(to)] = append(got[strings.ToLower(to)], code)
	})
	received := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(got)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	env := []string{envSchema + "=" + schema, envSMTP + "=" + sink.Addr(), envN + "=" + strconv.Itoa(crashUsers), envMode + "=" + mode}

	start := time.Now()
	accept := outboxtest.StartChild(ctx, t, "TestCrashChild", append(env, envRole+"=accept"))
	line := accept.WaitLine(t, "ACCEPTED ")
	accept.Kill()
	accepted, _ := strconv.Atoi(strings.TrimPrefix(line, "ACCEPTED "))
	if accepted != crashUsers {
		t.Fatalf("the accepting child says %q, want %d accepted", line, crashUsers)
	}
	before := sink.Count()
	if mode == "stopped" && before != 0 {
		t.Fatalf("%d messages sent before the crash by a child without workers", before)
	}
	t.Logf("accepted %d deliveries in %s, %d sent, then SIGKILL", accepted, time.Since(start).Round(time.Millisecond), before)

	work := outboxtest.StartChild(ctx, t, "TestCrashChild", append(env, envRole+"=work"))
	restarted := time.Now()
	// Done when every recipient has a message and no job is left: the
	// jobs running at the kill come back after RescueAfter.
	var states map[string]int
	for ctx.Err() == nil {
		states = jobStates(ctx, t, pool, schema)
		if received() >= accepted && states["completed"] == accepted {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	drained := time.Since(restarted)
	time.Sleep(time.Second) // room for a duplicate to show
	work.Kill()

	mu.Lock()
	defer mu.Unlock()
	lost, dups, differing := 0, 0, 0
	for i := range accepted {
		codes := got[crashUser(i)+"@example.com"]
		if len(codes) == 0 {
			lost++
		}
		for _, c := range codes[min(1, len(codes)):] {
			dups++
			if c != codes[0] {
				differing++
			}
		}
	}
	t.Logf("%s: %d messages to %d recipients, %d after the restart in %s; lost %d, duplicates %d (%d with another code); jobs by state %v",
		mode, sink.Count(), len(got), sink.Count()-before, drained.Round(time.Millisecond), lost, dups, differing, states)
	if states["completed"] != accepted {
		t.Errorf("jobs by state %v: want all %d completed", states, accepted)
	}
	if lost != 0 || differing != 0 || len(got) != accepted {
		t.Fatalf("lost %d, %d duplicates with another code, %d recipients: want all %d delivered with their one code", lost, differing, len(got), accepted)
	}
	if mode == "stopped" && dups != 0 {
		t.Fatalf("%d duplicates: nothing was being sent at the kill, so each message must arrive once", dups)
	}
	// Each recipient is its own user, so a message to an address that was
	// not accepted would show in len(got) above.
}

// jobStates counts the jobs by state.
func jobStates(ctx context.Context, t *testing.T, pool *pgxpool.Pool, schema string) map[string]int {
	rows, err := pool.Query(ctx, "SELECT state::text, count(*) FROM "+pgx.Identifier{schema, "river_job"}.Sanitize()+" GROUP BY state")
	if err != nil {
		t.Error(err)
		return nil
	}
	states := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			t.Error(err)
		}
		states[s] = n
	}
	return states
}

// TestCrashChild is a child process of TestCrashRecovery; it runs only
// with RIVEROUTBOX_CRASH_ROLE set, and until it is killed.
func TestCrashChild(t *testing.T) {
	role := os.Getenv(envRole)
	if role == "" {
		t.Skip("runs only as a child process of TestCrashRecovery")
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("RECOVERY_TEST_POSTGRES"))
	if err != nil {
		t.Fatal(err)
	}
	opts := fastOptions(os.Getenv(envSchema), 5)
	opts.RescueAfter = opts.AttemptTimeout + 6*time.Second
	if os.Getenv("RIVEROUTBOX_CRASH_DEBUG") != "" {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	var sender recovery.Sender
	mail, err := smtpsender.NewFromURL("smtp://" + os.Getenv(envSMTP) + "?tls=none&from=no-reply@example.com")
	if err != nil {
		t.Fatal(err)
	}
	sender = mail
	if role == "accept" {
		switch os.Getenv(envMode) {
		case "stopped":
			opts.InsertOnly = true
		case "slowed":
			opts.Workers = 4
			sender = slowSender{mail, 100 * time.Millisecond}
		}
	}
	outbox, err := riveroutbox.New(pool, opts)
	if err != nil {
		t.Fatal(err)
	}
	users := memstore.NewUserStore()
	n, _ := strconv.Atoi(os.Getenv(envN))
	if role == "accept" {
		for i := range n {
			addUser(t, users, crashUser(i))
		}
	}
	// The codes live in the same database, as in a real deployment: a
	// restarted process finds them, and Deliver (which drops a delayed
	// message whose code is no longer outstanding) sends them.
	if err := pgxstore.Migrate(ctx, pool, pgxstore.Options{Schema: os.Getenv(envSchema)}); err != nil {
		t.Fatal(err)
	}
	codes, err := pgxstore.NewCodeStore(pool, pgxstore.Options{Schema: os.Getenv(envSchema)})
	if err != nil {
		t.Fatal(err)
	}
	e, err := recovery.New(recovery.Config{
		Users: users, Codes: codes, Sender: sender, Outbox: outbox,
		Clients: []recovery.Client{{ID: "web"}}, Keys: testKeys,
		Hasher: recoverytest.InsecureHasher{}, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	if role == "accept" {
		for i := range n {
			if _, err := e.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: crashUser(i)}); err != nil {
				t.Fatalf("Recover(%s): %v", crashUser(i), err)
			}
			if os.Getenv(envMode) == "slowed" {
				time.Sleep(3 * time.Millisecond) // so that some are sent, some in flight, at the kill
			}
		}
		fmt.Printf("ACCEPTED %d\n", n)
	}
	time.Sleep(time.Hour) // until killed
}

// slowSender waits before each send, as a slow mail server would.
type slowSender struct {
	next  recovery.Sender
	delay time.Duration
}

func (s slowSender) Send(ctx context.Context, m recovery.Message) error {
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.next.Send(ctx, m)
}
