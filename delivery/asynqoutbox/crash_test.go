package asynqoutbox_test

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

	"github.com/redis/go-redis/v9"

	"github.com/recoverykit/recoverykit/delivery/asynqoutbox"
	"github.com/recoverykit/recoverykit/delivery/internal/outboxtest"
	"github.com/recoverykit/recoverykit/delivery/smtpsender"
	"github.com/recoverykit/recoverykit/examples/smtpsink"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/memstore"
	"github.com/recoverykit/recoverykit/store/redisstore"
)

// The crash test's child processes are this test binary again, running
// TestCrashChild with these variables set.
const (
	envRole   = "ASYNQOUTBOX_CRASH_ROLE" // "accept" or "work"
	envQueue  = "ASYNQOUTBOX_CRASH_QUEUE"
	envPrefix = "ASYNQOUTBOX_CRASH_PREFIX"
	envSMTP   = "ASYNQOUTBOX_CRASH_SMTP"
)

const crashUsers = 200

func crashUser(i int) string { return fmt.Sprintf("crash%04d", i) }

// TestCrashRecovery: a process accepts deliveries for crashUsers users
// while its two workers hang on a mail server that never answers, and is
// killed with SIGKILL; a second process sends everything. Nothing was sent
// before the kill, so each message must arrive exactly once: the queued
// ones at once, any taken by the hung workers once their lease runs out
// (a minute; the test waits for that with RECOVERY_TEST_FAULTS=1). The codes live in Redis too, as deployed, so the second process
// finds them outstanding.
func TestCrashRecovery(t *testing.T) {
	if os.Getenv(envRole) != "" {
		t.Skip("in a child process")
	}
	c := realRedis(t)
	queue := newQueue(t, c)
	prefix := "rktest-crash:" + strings.ToLower(queue) + ":"
	t.Cleanup(func() { deletePrefix(t, c, prefix) })
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
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	env := []string{envQueue + "=" + queue, envPrefix + "=" + prefix, envSMTP + "=" + sink.Addr()}

	start := time.Now()
	accept := startChild(ctx, t, c, "accept", env)
	line := accept.WaitLine(t, "ACCEPTED ")
	accept.Kill()
	if line != "ACCEPTED "+strconv.Itoa(crashUsers) {
		t.Fatalf("the accepting child says %q", line)
	}
	if n := sink.Count(); n != 0 {
		t.Fatalf("%d messages sent before the kill by workers that hang", n)
	}
	t.Logf("accepted %d deliveries in %s, 0 sent, then SIGKILL", crashUsers, time.Since(start).Round(time.Millisecond))

	work := startChild(ctx, t, c, "work", env)
	restarted := time.Now()
	received := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(got)
	}
	var firsts time.Duration
	for ctx.Err() == nil && received() < crashUsers {
		if firsts == 0 && received() >= crashUsers-2 {
			firsts = time.Since(restarted)
		}
		time.Sleep(50 * time.Millisecond)
	}
	drained := time.Since(restarted)
	time.Sleep(2 * time.Second) // room for a duplicate to show
	work.Kill()

	mu.Lock()
	defer mu.Unlock()
	lost, dups := 0, 0
	for i := range crashUsers {
		codes := got[crashUser(i)+"@example.com"]
		if len(codes) == 0 {
			lost++
		}
		dups += max(len(codes)-1, 0)
	}
	t.Logf("after the restart: %d messages to %d recipients, all but the hung ones in %s, the last in %s; lost %d, duplicates %d",
		sink.Count(), len(got), firsts.Round(time.Millisecond), drained.Round(time.Millisecond), lost, dups)
	if lost != 0 || dups != 0 || len(got) != crashUsers {
		t.Fatalf("lost %d, duplicates %d, %d recipients: want each of %d exactly once", lost, dups, len(got), crashUsers)
	}
}

func deletePrefix(t *testing.T, c redis.UniversalClient, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		c.Unlink(ctx, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Error(err)
	}
}

// startChild runs TestCrashChild in role; when t ends the child is killed
// and its entries in asynq's process registry removed.
func startChild(ctx context.Context, t *testing.T, rdb redis.UniversalClient, role string, env []string) *outboxtest.Child {
	t.Helper()
	c := outboxtest.StartChild(ctx, t, "TestCrashChild", append(env, envRole+"="+role))
	t.Cleanup(func() {
		c.Kill()
		forgetServer(t, rdb, c.Pid())
	})
	return c
}

// forgetServer removes what a killed child left in asynq's process
// registry, which a SIGKILLed server cannot clean up itself.
func forgetServer(t *testing.T, c redis.UniversalClient, pid int) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, registry := range []string{"asynq:servers", "asynq:workers"} {
		members, err := c.ZRange(ctx, registry, 0, -1).Result()
		if err != nil {
			t.Error(err)
			return
		}
		for _, m := range members {
			if strings.Contains(m, ":"+strconv.Itoa(pid)+":") {
				c.ZRem(ctx, registry, m)
				c.Unlink(ctx, m)
			}
		}
	}
}

// hungSender never answers, as a mail server that accepted the connection
// and then stalled; started receives each message it holds.
type hungSender struct{ started chan struct{} }

func (h hungSender) Send(ctx context.Context, _ recovery.Message) error {
	h.started <- struct{}{}
	<-ctx.Done()
	return ctx.Err()
}

// enqueueOnly is an outbox whose workers never start: an unbound
// asynqoutbox only enqueues.
type enqueueOnly struct{ *asynqoutbox.Outbox }

func (enqueueOnly) Bind(recovery.Deliverer) error { return nil }

// TestCrashChild is a child process of TestCrashRecovery; it runs only
// with ASYNQOUTBOX_CRASH_ROLE set, and until it is killed.
func TestCrashChild(t *testing.T) {
	role := os.Getenv(envRole)
	if role == "" {
		t.Skip("runs only as a child process of TestCrashRecovery")
	}
	ctx := context.Background()
	c := realRedis(t)
	opts := asynqoutbox.Options{Redis: c, Keys: testKeys, Queue: os.Getenv(envQueue), PollInterval: 50 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)}
	hung := hungSender{started: make(chan struct{}, crashUsers)}
	var sender recovery.Sender = hung
	if role == "accept" {
		opts.Concurrency = 2
	} else {
		mail, err := smtpsender.NewFromURL("smtp://" + os.Getenv(envSMTP) + "?tls=none&from=no-reply@example.com")
		if err != nil {
			t.Fatal(err)
		}
		sender = mail
	}
	outbox, err := asynqoutbox.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	faults := os.Getenv("RECOVERY_TEST_FAULTS") == "1"
	var queue recovery.Outbox = outbox
	if role == "accept" && !faults {
		queue = enqueueOnly{outbox} // no workers: nothing is taken before the kill
	}
	codes, err := redisstore.NewCodeStore(c, redisstore.Options{Prefix: os.Getenv(envPrefix)})
	if err != nil {
		t.Fatal(err)
	}
	users := memstore.NewUserStore()
	for i := range crashUsers {
		if _, err := users.CreateUser(ctx, recovery.DefaultPoolID, recovery.User{Username: crashUser(i),
			Attributes: map[string]string{"email": crashUser(i) + "@example.com", "email_verified": "true"}}, ""); err != nil {
			t.Fatal(err)
		}
	}
	e, err := recovery.New(recovery.Config{
		Users: users, Codes: codes, Sender: sender, Outbox: queue,
		Clients: []recovery.Client{{ID: "web"}}, Keys: testKeys,
		Hasher: recoverytest.InsecureHasher{}, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	if role == "accept" {
		for i := range crashUsers {
			if _, err := e.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: crashUser(i)}); err != nil {
				t.Fatalf("Recover(%s): %v", crashUser(i), err)
			}
		}
		// With RECOVERY_TEST_FAULTS=1 (as in CI) both workers hold a
		// delivery when the process is killed, and the second process
		// gets those after asynq's lease of a minute runs out; without,
		// the first process only enqueues.
		for range map[bool]int{true: opts.Concurrency, false: 0}[faults] {
			select {
			case <-hung.started:
			case <-time.After(30 * time.Second):
				t.Fatal("the workers never took a delivery")
			}
		}
		fmt.Printf("ACCEPTED %d\n", crashUsers)
	}
	time.Sleep(time.Hour) // until killed
}
