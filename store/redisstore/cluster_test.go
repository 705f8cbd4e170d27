package redisstore_test

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
)

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
	requireBinaries(t, "redis-server", "redis-cli")
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

// startRedis starts a redis-server on 127.0.0.1:port with no persistence,
// its files in dir, plus the extra arguments, and waits until it answers.
// The server gets SIGKILL if the test binary dies first.
func startRedis(dir string, port int, extra ...string) (*exec.Cmd, error) {
	p := strconv.Itoa(port)
	args := append([]string{
		"--port", p, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--logfile", filepath.Join(dir, "redis-"+p+".log"),
	}, extra...)
	cmd := exec.Command("redis-server", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + p, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c.Ping(context.Background()).Err() == nil {
			return cmd, nil
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	log, _ := os.ReadFile(filepath.Join(dir, "redis-"+p+".log"))
	return nil, fmt.Errorf("redis-server on port %d did not answer within 10s; its log:\n%s", port, log)
}

// startCluster starts three cluster-enabled redis-server processes on free
// loopback ports, joins them with redis-cli --cluster create and waits for
// cluster_state:ok on each.
func startCluster() error {
	dir, err := os.MkdirTemp("", "redisstore-cluster-")
	if err != nil {
		return err
	}
	localCluster.dir = dir
	ports, err := freePorts(6) // three client ports, three bus ports
	if err != nil {
		return err
	}
	for i := range 3 {
		port, bus := ports[i], ports[3+i]
		cmd, err := startRedis(dir, port,
			"--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(dir, fmt.Sprintf("nodes-%d.conf", port)),
			"--cluster-port", strconv.Itoa(bus))
		if err != nil {
			return err
		}
		localCluster.procs = append(localCluster.procs, cmd)
		localCluster.addrs = append(localCluster.addrs, fmt.Sprintf("127.0.0.1:%d", port))
	}

	return createCluster(localCluster.addrs)
}

// createCluster joins the cluster-enabled servers at addrs into a cluster
// of masters with redis-cli --cluster create and waits for
// cluster_state:ok on each.
func createCluster(addrs []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	var out bytes.Buffer
	create := exec.CommandContext(ctx, "redis-cli", args...)
	create.Stdout, create.Stderr = &out, &out
	if err := create.Run(); err != nil {
		return fmt.Errorf("redis-cli %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}

	for _, addr := range addrs {
		c := redis.NewClient(&redis.Options{Addr: addr})
		for {
			info, err := c.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			if ctx.Err() != nil {
				c.Close()
				return fmt.Errorf("node %s never reported cluster_state:ok: %v\n%s", addr, err, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
		c.Close()
	}
	return nil
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
		fmt.Fprintln(os.Stderr, "redisstore tests: stopping the local Redis Cluster:", err)
	}
}
