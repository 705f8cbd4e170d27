package asynqoutbox_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/recoverykit/recoverykit/delivery/internal/outboxtest"
)

// The shared behaviour of the durable outboxes, on a three-master Redis
// Cluster this test starts (as store/redisstore's cluster tests do).
func TestSuiteCluster(t *testing.T) {
	outboxtest.Run(t, storage(clusterClient(t)))
}

// TestMain stops the local Redis Cluster, if a test started one, after
// every test has run, whether they passed or not.
func TestMain(m *testing.M) {
	code := m.Run()
	stopCluster()
	os.Exit(code)
}

// localCluster is the three-master Redis Cluster the cluster tests share.
var localCluster struct {
	once  sync.Once
	err   error
	dir   string
	addrs []string
	procs []*exec.Cmd
}

// clusterClient returns a client of the local cluster, starting it on first
// use. It skips the test when redis-server or redis-cli is missing (fails
// it with RECOVERY_TEST_REQUIRE=1).
func clusterClient(t testing.TB) *redis.ClusterClient {
	t.Helper()
	for _, bin := range []string{"redis-server", "redis-cli"} {
		if _, err := exec.LookPath(bin); err != nil {
			msg := bin + " not found in PATH (apt-get install redis-server redis-tools)"
			if os.Getenv("RECOVERY_TEST_REQUIRE") == "1" {
				t.Fatalf("%s, and RECOVERY_TEST_REQUIRE=1", msg)
			}
			t.Skip(msg)
		}
	}
	localCluster.once.Do(func() { localCluster.err = startCluster() })
	if localCluster.err != nil {
		t.Fatalf("starting a local Redis Cluster: %v", localCluster.err)
	}
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: localCluster.addrs})
	t.Cleanup(func() { c.Close() })
	if err := c.ForEachShard(t.Context(), func(ctx context.Context, n *redis.Client) error { return n.Ping(ctx).Err() }); err != nil {
		t.Fatalf("the local Redis Cluster does not answer: %v", err)
	}
	return c
}

// startCluster starts three cluster-enabled redis-server processes on free
// loopback ports, joins them with redis-cli --cluster create, and waits
// for cluster_state:ok on each, all within 30 s.
func startCluster() error {
	dir, err := os.MkdirTemp("", "asynqoutbox-cluster-")
	if err != nil {
		return err
	}
	localCluster.dir = dir
	ports, err := freePorts(6) // three client ports, three bus ports
	if err != nil {
		return err
	}
	for i := range 3 {
		port := ports[i]
		p := strconv.Itoa(port)
		cmd := exec.Command("redis-server", "--port", p, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--dir", dir, "--logfile", filepath.Join(dir, "redis-"+p+".log"),
			"--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(dir, "nodes-"+p+".conf"),
			"--cluster-port", strconv.Itoa(ports[3+i]))
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			return err
		}
		localCluster.procs = append(localCluster.procs, cmd)
		localCluster.addrs = append(localCluster.addrs, "127.0.0.1:"+p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, addr := range localCluster.addrs {
		if err := await(ctx, addr, func(c *redis.Client) error { return c.Ping(ctx).Err() }); err != nil {
			return err
		}
	}
	args := append([]string{"--cluster", "create"}, localCluster.addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	var out bytes.Buffer
	create := exec.CommandContext(ctx, "redis-cli", args...)
	create.Stdout, create.Stderr = &out, &out
	if err := create.Run(); err != nil {
		return fmt.Errorf("redis-cli %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	for _, addr := range localCluster.addrs {
		if err := await(ctx, addr, func(c *redis.Client) error {
			info, err := c.ClusterInfo(ctx).Result()
			if err == nil && !strings.Contains(info, "cluster_state:ok") {
				err = errors.New("cluster_state is not ok")
			}
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

// freePorts returns n TCP ports on 127.0.0.1 that were free a moment ago.
func freePorts(n int) ([]int, error) {
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}

// await retries ready against the server at addr until it succeeds or ctx
// ends.
func await(ctx context.Context, addr string, ready func(*redis.Client) error) error {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	for {
		err := ready(c)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("redis-server %s not ready: %v", addr, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stopCluster kills the cluster's processes and removes its directory.
func stopCluster() {
	var errs []error
	for _, p := range localCluster.procs {
		if err := p.Process.Kill(); err != nil {
			errs = append(errs, err)
		}
		p.Wait()
	}
	if localCluster.dir != "" {
		errs = append(errs, os.RemoveAll(localCluster.dir))
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintln(os.Stderr, "asynqoutbox tests: stopping the local Redis Cluster:", err)
	}
}
