package riveroutbox_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/recoverykit/recoverykit/delivery/riveroutbox"
	"github.com/recoverykit/recoverykit/delivery/smtpsender"
	"github.com/recoverykit/recoverykit/examples/smtpsink"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/store/memstore"
)

// The crash test's child processes are this test binary again, running
// TestCrashChild with these variables set.
const (
	envRole   = "RIVEROUTBOX_CRASH_ROLE" // "accept" or "work"
	envSchema = "RIVEROUTBOX_CRASH_SCHEMA"
	envSMTP   = "RIVEROUTBOX_CRASH_SMTP"
	envN      = "RIVEROUTBOX_CRASH_N"
)

const crashUsers = 200

func crashUser(i int) string { return fmt.Sprintf("crash%04d", i) }

// TestCrashRecovery: a process accepts deliveries for crashUsers users and
// is killed with SIGKILL before any is sent; a second process, which only
// works, sends every one of them, each exactly once, to the right address.
func TestCrashRecovery(t *testing.T) {
	if os.Getenv(envRole) != "" {
		t.Skip("in a child process")
	}
	_, schema := testDB(t)
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
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	env := []string{envSchema + "=" + schema, envSMTP + "=" + sink.Addr(), envN + "=" + strconv.Itoa(crashUsers)}

	start := time.Now()
	accept := startChild(ctx, t, "accept", env)
	line := accept.waitLine(t, "ACCEPTED ")
	accept.kill(t)
	accepted, _ := strconv.Atoi(strings.TrimPrefix(line, "ACCEPTED "))
	if accepted != crashUsers {
		t.Fatalf("the accepting child says %q, want %d accepted", line, crashUsers)
	}
	if n := sink.Count(); n != 0 {
		t.Fatalf("%d messages sent before the crash: the accepting child must not send", n)
	}
	t.Logf("accepted %d deliveries in %s, then SIGKILL", accepted, time.Since(start).Round(time.Millisecond))

	work := startChild(ctx, t, "work", env)
	restarted := time.Now()
	for sink.Count() < accepted && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	drained := time.Since(restarted)
	time.Sleep(time.Second) // room for a duplicate to show
	work.kill(t)

	mu.Lock()
	defer mu.Unlock()
	lost, dups := 0, 0
	for i := range accepted {
		codes := got[crashUser(i)+"@example.com"]
		switch {
		case len(codes) == 0:
			lost++
		case len(codes) > 1:
			dups += len(codes) - 1
		}
	}
	t.Logf("after restart: %d messages to %d recipients in %s; lost %d, duplicates %d", sink.Count(), len(got), drained.Round(time.Millisecond), lost, dups)
	if lost != 0 || dups != 0 || sink.Count() != accepted || len(got) != accepted {
		t.Fatalf("lost %d, duplicated %d, %d messages to %d recipients: want each of %d exactly once", lost, dups, sink.Count(), len(got), accepted)
	}
}

type child struct {
	cmd   *exec.Cmd
	lines chan string
}

func startChild(ctx context.Context, t *testing.T, role string, env []string) *child {
	t.Helper()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(append(os.Environ(), env...), envRole+"="+role)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, lines: make(chan string, 16)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	t.Cleanup(func() { c.kill(t) })
	return c
}

func (c *child) waitLine(t *testing.T, prefix string) string {
	t.Helper()
	for line := range c.lines {
		if strings.HasPrefix(line, prefix) {
			return line
		}
	}
	t.Fatalf("the child ended without printing %q", prefix)
	return ""
}

func (c *child) kill(t *testing.T) {
	if c.cmd.ProcessState != nil {
		return
	}
	c.cmd.Process.Signal(syscall.SIGKILL)
	c.cmd.Wait()
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
	opts.InsertOnly = role == "accept"
	outbox, err := riveroutbox.New(pool, opts)
	if err != nil {
		t.Fatal(err)
	}
	mail, err := smtpsender.NewFromURL("smtp://" + os.Getenv(envSMTP) + "?tls=none&from=no-reply@example.com")
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
	e := newEngine(t, users, mail, outbox)
	if role == "accept" {
		for i := range n {
			if _, err := e.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: crashUser(i)}); err != nil {
				t.Fatalf("Recover(%s): %v", crashUser(i), err)
			}
		}
		fmt.Printf("ACCEPTED %d\n", n)
	}
	time.Sleep(time.Hour) // until killed
}
