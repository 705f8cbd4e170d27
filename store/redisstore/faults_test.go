package redisstore_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/internal/faultload"
	"github.com/recoverykit/recoverykit/store/memstore"
	"github.com/recoverykit/recoverykit/store/redisstore"
)

// The fault suite on Redis, three ways: connections killed on the shared
// server, a throwaway server killed and restarted, and one master of a
// throwaway Cluster killed and restarted. Redis keeps no users, so the
// engine finds them in a memstore.UserStore, which no outage touches.
// After it, two lighter fault tests that run without opting in: the code
// store alone under load while its server restarts or its connections are
// killed.

// aof makes a throwaway server keep every acknowledged write across a
// SIGKILL: without it a restart would lawfully forget budgets and locks
// (see the package's Durability section), and the suite would report that
// as broken promises.
var aof = []string{"--appendonly", "yes", "--appendfsync", "always"}

// codeEvents reads the issue and failure times of a user's record with
// HGETALL, for faultload.Config.Events. The key is built as keys.go builds
// it; the suite's pool names and user keys need no escaping.
func codeEvents(c redis.Cmdable, prefix string) func(ctx context.Context, pool, userKey string) ([]time.Time, []time.Time, error) {
	return func(ctx context.Context, pool, userKey string) ([]time.Time, []time.Time, error) {
		if strings.ContainsAny(pool+userKey, "%{}|") {
			return nil, nil, fmt.Errorf("pool %q or user key %q would need escaping", pool, userKey)
		}
		rec, err := c.HGetAll(ctx, prefix+"code:{"+pool+"|"+userKey+"}").Result()
		if err != nil {
			return nil, nil, err
		}
		issues, err := parseTimes(rec["e"])
		if err != nil {
			return nil, nil, err
		}
		failures, err := parseTimes(rec["m"])
		return issues, failures, err
	}
}

// parseTimes reads a comma-separated list of Unix milliseconds.
func parseTimes(list string) ([]time.Time, error) {
	var out []time.Time
	for s := range strings.SplitSeq(list, ",") {
		if s == "" {
			continue
		}
		ms, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("time %q: %v", s, err)
		}
		out = append(out, time.UnixMilli(ms))
	}
	return out, nil
}

// TestFaultLoadRedis runs the fault suite on the shared Redis. Each outage
// kills the store's connections (CLIENT KILL, picked by the client name
// only this test uses) every 5 ms until it ends. The client keeps
// go-redis's default retries, so a script whose reply was lost may run
// twice (CallsMayRepeat), as the package documentation says.
func TestFaultLoadRedis(t *testing.T) {
	recoverytest.OptIn(t, recoverytest.EnvFaults, "fault suite")
	base := realRedis(t)
	prefix := newPrefix()
	deleteOnCleanup(t, base, prefix)
	opts := *base.Options()
	opts.ClientName = strings.ReplaceAll(strings.TrimSuffix(prefix, ":"), ":", "-")
	opts.MaxRetries = -1
	c := redis.NewClient(&opts)
	t.Cleanup(func() { c.Close() })
	users := memstore.NewUserStore()

	var kills atomic.Int64
	cut, restore := faultload.Repeatedly(time.Millisecond, func() {
		ctx := context.Background()
		list, err := base.ClientList(ctx).Result()
		if err != nil {
			t.Errorf("CLIENT LIST: %v", err)
			return
		}
		sc := bufio.NewScanner(strings.NewReader(list))
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) == 0 || !strings.Contains(" "+sc.Text()+" ", " name="+opts.ClientName+" ") {
				continue
			}
			id := strings.TrimPrefix(fields[0], "id=")
			if n, err := base.Do(ctx, "CLIENT", "KILL", "ID", id).Int64(); err == nil {
				kills.Add(n)
			}
		}
	})
	faultload.Run(t, faultload.Config{
		Codes:        newCodeStore(t, c, prefix),
		Users:        users,
		PasswordHash: users.PasswordHash,
		Events:       codeEvents(base, prefix),
		Cut:          cut,
		Restore:      restore,
		MinOutage:    50 * time.Millisecond,
	})
	t.Logf("%d connections killed", kills.Load())
	if kills.Load() == 0 {
		t.Error("no connection was killed")
	}
}

// TestFaultLoadRedisRestart runs the fault suite on a throwaway
// redis-server with AOF, which each outage kills (SIGKILL) and its end
// starts again on the same port and files. The client does not retry
// (MaxRetries -1), so every budget event the server holds must come from a
// call the clients saw succeed or fail.
func TestFaultLoadRedisRestart(t *testing.T) {
	recoverytest.OptIn(t, recoverytest.EnvFaults, "fault suite")
	requireBinaries(t, "redis-server")
	dir := t.TempDir()
	ports, err := freePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	port := ports[0]
	var mu sync.Mutex // guards srv
	srv, err := startRedis(dir, port, aof...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if srv != nil {
			srv.Process.Kill()
			srv.Wait()
		}
	})
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), MaxRetries: -1,
		DialTimeout: 100 * time.Millisecond, ReadTimeout: time.Second, WriteTimeout: time.Second, DialerRetries: 1})
	t.Cleanup(func() { c.Close() })
	if got := c.ConfigGet(t.Context(), "appendfsync").Val()["appendfsync"]; got != "always" {
		t.Fatalf("the throwaway redis-server has appendfsync %q, want always", got)
	}
	users := memstore.NewUserStore()
	restarts := 0
	faultload.Run(t, faultload.Config{
		Codes:        newCodeStore(t, c, "rk:"),
		Users:        users,
		PasswordHash: users.PasswordHash,
		Events:       codeEvents(c, "rk:"),
		Cut: func() {
			mu.Lock()
			defer mu.Unlock()
			srv.Process.Kill()
			srv.Wait()
			srv = nil
		},
		Restore: func() {
			mu.Lock()
			defer mu.Unlock()
			var err error
			if srv, err = startRedis(dir, port, aof...); err != nil {
				t.Errorf("restarting redis-server: %v", err)
				return
			}
			restarts++
			// go-redis waits up to a second between dial attempts once
			// dialing failed; end the outage when the store's own client
			// has found the server again, so that the operations after
			// Restore do not all fail on that wait.
			if err := waitPing(c); err != nil {
				t.Errorf("the client did not reconnect to the restarted redis-server: %v", err)
			}
		},
		MinOutage: 100 * time.Millisecond,
	})
	t.Logf("redis-server killed and restarted %d times", restarts)
}

// waitPing waits up to 10 s for c to answer PING.
func waitPing(c redis.UniversalClient) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := c.Ping(context.Background()).Err()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// faultCluster is a throwaway three-master Redis Cluster with AOF, whose
// nodes the fault test kills and restarts. (The shared cluster of
// clusterClient must stay up for the tests running beside this one.)
type faultCluster struct {
	mu    sync.Mutex
	addrs []string
	nodes []*faultNode
}

type faultNode struct {
	dir  string
	port int
	args []string
	cmd  *exec.Cmd // nil while killed
}

// newFaultCluster starts the cluster and stops it when the test ends.
func newFaultCluster(t *testing.T) *faultCluster {
	t.Helper()
	base := t.TempDir()
	ports, err := freePorts(6) // three client ports, three bus ports
	if err != nil {
		t.Fatal(err)
	}
	fc := &faultCluster{}
	t.Cleanup(fc.stop)
	for i := range 3 {
		n := &faultNode{dir: filepath.Join(base, strconv.Itoa(i)), port: ports[i]}
		if err := os.Mkdir(n.dir, 0o700); err != nil {
			t.Fatal(err)
		}
		n.args = append([]string{"--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(n.dir, "nodes.conf"),
			"--cluster-port", strconv.Itoa(ports[3+i])}, aof...)
		if n.cmd, err = startRedis(n.dir, n.port, n.args...); err != nil {
			t.Fatal(err)
		}
		fc.nodes = append(fc.nodes, n)
		fc.addrs = append(fc.addrs, fmt.Sprintf("127.0.0.1:%d", n.port))
	}
	if err := createCluster(fc.addrs); err != nil {
		t.Fatal(err)
	}
	return fc
}

// kill stops node i with SIGKILL.
func (fc *faultCluster) kill(i int) {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if n := fc.nodes[i]; n.cmd != nil {
		n.cmd.Process.Kill()
		n.cmd.Wait()
		n.cmd = nil
	}
}

// restart starts node i again from its files and waits until every node
// reports cluster_state:ok (a restarted master waits a moment before it
// rejoins as writable).
func (fc *faultCluster) restart(i int) error {
	fc.mu.Lock()
	n := fc.nodes[i]
	var err error
	if n.cmd == nil {
		n.cmd, err = startRedis(n.dir, n.port, n.args...)
	}
	fc.mu.Unlock()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, addr := range fc.addrs {
		c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
		for {
			info, err := c.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			if ctx.Err() != nil {
				c.Close()
				return fmt.Errorf("node %s does not report cluster_state:ok after a restart: %v", addr, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		c.Close()
	}
	return nil
}

func (fc *faultCluster) stop() {
	for i := range fc.nodes {
		fc.kill(i)
	}
}

// TestFaultLoadCluster runs the fault suite on a throwaway Redis Cluster.
// Each outage kills one master (the next one each time), so the users
// whose records live in its slots get errors while the others carry on;
// its end restarts the master from its files and waits until the cluster
// is whole again (a restarted master waits 2 s before it serves writes).
// The Cluster client keeps its default retries and redirections
// (CallsMayRepeat).
func TestFaultLoadCluster(t *testing.T) {
	recoverytest.OptIn(t, recoverytest.EnvFaults, "fault suite")
	requireBinaries(t, "redis-server", "redis-cli")
	fc := newFaultCluster(t)
	// Default retries and redirections, with shorter waits between them
	// (8 to 512 ms by default) and one dial attempt instead of five, so
	// that calls to the dead master give up in tens of milliseconds rather
	// than a second.
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: fc.addrs,
		MaxRetryBackoff: 32 * time.Millisecond, DialerRetries: 1})
	t.Cleanup(func() { c.Close() })
	users := memstore.NewUserStore()
	next, down := 0, -1
	faultload.Run(t, faultload.Config{
		Codes:          newCodeStore(t, c, "rk:"),
		Users:          users,
		PasswordHash:   users.PasswordHash,
		Events:         codeEvents(c, "rk:"),
		CallsMayRepeat: true,
		Cut: func() {
			down, next = next, (next+1)%len(fc.nodes)
			fc.kill(down)
		},
		Restore: func() {
			if err := fc.restart(down); err != nil {
				t.Errorf("restarting %s: %v", fc.addrs[down], err)
			}
		},
		MinOutage: 100 * time.Millisecond,
	})
}

// loadDuring drives s from a few workers for dur, on the wall clock, while
// disrupt runs, and reports every wrong success: a wrong code accepted, or
// one code accepted twice. Each worker issues a fresh code to one of its
// users, guesses wrong, consumes the code, then tries it again. It returns
// how many calls failed and how many codes were consumed.
func loadDuring(t *testing.T, s *redisstore.CodeStore, dur time.Duration, disrupt func(ctx context.Context)) (failed, consumed int64) {
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
	failed, consumed := loadDuring(t, s, 1500*time.Millisecond, func(ctx context.Context) {
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
	failed, consumed := loadDuring(t, s, time.Second, func(ctx context.Context) {
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
