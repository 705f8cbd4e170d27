// Command loadtest drives examples/server, or any Cognito-compatible
// endpoint, with a bounded number of ForgotPassword / ConfirmForgotPassword
// calls at a chosen concurrency, reads the codes from an SMTP sink it runs
// itself, and prints ops/s and p50/p90/p99 latency per operation.
//
//	go run ./examples/loadtest -n 2000 -c 16                  # spawns examples/server on memory
//	go run ./examples/loadtest -store postgres -postgres URL  # ... on Postgres
//	go run ./examples/loadtest -write-seed seed.json -users 3000      # for a server you start:
//	go run ./examples/server -seed seed.json -smtp 127.0.0.1:2525 -async &
//	go run ./examples/loadtest -url http://127.0.0.1:8080 -sink 127.0.0.1:2525 -users 3000
//
// With -floor it also measures the HTTP floor: a minimal handler (floor.go)
// that decodes the same ForgotPassword request and makes one equivalent
// store round trip, and reports examples/server's ForgotPassword rate as a
// ratio to it, both measured in the same run, at -floor-c concurrencies.
//
// Everything talks to 127.0.0.1 unless -url says otherwise; every run is
// bounded by -n and -timeout.
package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/recoverykit/recoverykit/delivery/asyncsender"
	"github.com/recoverykit/recoverykit/examples/smtpsink"

	"github.com/recoverykit/recoverykit/examples/loadtest/runsummary"
)

type config struct {
	url, sinkAddr, writeSeed string
	serveFloor               string
	store, postgres, redis   string
	n, c, users, floorUsers  int
	confirm, floor           bool
	floorC                   string
	floorDuration, timeout   time.Duration
	serverPackage, clientID  string
	queue                    string
	jsonPath                 string
}

func main() {
	var cfg config
	flag.StringVar(&cfg.url, "url", "", "endpoint of a running server (default: build and start examples/server)")
	flag.StringVar(&cfg.sinkAddr, "sink", "127.0.0.1:0", "address of the SMTP sink this tool runs; point the server's -smtp at it")
	flag.StringVar(&cfg.writeSeed, "write-seed", "", "write the seed of the load users (load00000... at example.com, client -client) to this file and exit")
	flag.StringVar(&cfg.store, "store", "memory", "spawned server's -store")
	flag.StringVar(&cfg.postgres, "postgres", os.Getenv("RECOVERY_TEST_POSTGRES"), "spawned server's -postgres")
	flag.StringVar(&cfg.redis, "redis", os.Getenv("RECOVERY_TEST_REDIS"), "spawned server's -redis")
	flag.IntVar(&cfg.n, "n", 1000, "password resets to run (each a ForgotPassword and a ConfirmForgotPassword)")
	flag.IntVar(&cfg.c, "c", 8, "concurrent clients")
	flag.IntVar(&cfg.users, "users", 0, "users to spread the load over (default: enough for the per-user budget)")
	flag.BoolVar(&cfg.confirm, "confirm", true, "confirm each code (false: ForgotPassword only)")
	flag.BoolVar(&cfg.floor, "floor", false, "also measure the HTTP floor and report the ratio")
	flag.IntVar(&cfg.floorUsers, "floor-users", 6000, "users for the floor comparison (each takes at most 4 requests)")
	flag.StringVar(&cfg.floorC, "floor-c", "1,32", "concurrencies of the floor comparison")
	flag.DurationVar(&cfg.floorDuration, "floor-duration", 5*time.Second, "length of each floor and comparison run")
	flag.DurationVar(&cfg.timeout, "timeout", 10*time.Minute, "stop everything after this long")
	flag.StringVar(&cfg.serverPackage, "server", "./examples/server", "package of the server to build and start")
	flag.StringVar(&cfg.clientID, "client", "load", "app client id")
	flag.StringVar(&cfg.queue, "queue", "async", "spawned server's delivery queue: async (its -async flag), or a -queue value (auto, memory, river, asynq)")
	flag.StringVar(&cfg.serveFloor, "serve-floor", "", "internal: serve the HTTP floor on this address (started by -floor)")
	flag.StringVar(&cfg.jsonPath, "json", "", "also write the run's figures to this file as JSON (written even when the run fails)")
	flag.Parse()

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, cfg.timeout)
	defer cancelTimeout()
	run := run
	if cfg.serveFloor != "" {
		run = func(ctx context.Context, cfg config, _ io.Writer, _ *runsummary.Run) error {
			return serveFloor(ctx, cfg)
		}
	}
	sum := &runsummary.Run{Store: cfg.store, Queue: cfg.queue, N: cfg.n, C: cfg.c, Confirm: cfg.confirm}
	err := run(ctx, cfg, os.Stdout, sum)
	if cfg.jsonPath != "" && cfg.serveFloor == "" {
		if err != nil {
			sum.Error = err.Error()
		}
		if werr := writeSummary(sum, cfg.jsonPath); werr != nil {
			fmt.Fprintln(os.Stderr, "loadtest: writing -json:", werr)
			err = cmp.Or(err, werr)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

// run drives the load and prints its figures to out, and records them in sum.
func run(ctx context.Context, cfg config, out io.Writer, sum *runsummary.Run) error {
	if cfg.users == 0 {
		// The budget allows 5 events per user per hour; leave room for a
		// wrong guess or two.
		cfg.users = max(cfg.n/3+1, 8)
		if cfg.floor {
			cfg.users = max(cfg.users, cfg.floorUsers)
		}
	}
	users := make([]string, cfg.users)
	for i := range users {
		users[i] = fmt.Sprintf("load%05d", i)
	}
	if cfg.writeSeed != "" {
		return os.WriteFile(cfg.writeSeed, seedJSON(cfg, users), 0o600)
	}
	sink, err := smtpsink.Start(cfg.sinkAddr)
	if err != nil {
		return fmt.Errorf("starting the SMTP sink: %w", err)
	}
	defer sink.Close()

	url := cfg.url
	serverCPU := func() (time.Duration, bool) { return 0, false }
	if url == "" {
		srv, err := spawn(ctx, cfg, sink.Addr(), users)
		if err != nil {
			return err
		}
		defer srv.stop()
		url = srv.url
		serverCPU = func() (time.Duration, bool) { return processCPU(srv.cmd.Process.Pid) }
	}
	fmt.Fprintf(out, "target %s (store %s), %d resets, concurrency %d, %d users, SMTP sink %s\n", url, cfg.store, cfg.n, cfg.c, cfg.users, sink.Addr())
	client := sdkClient(url)
	cpuBefore, _ := serverCPU()
	res := drive(ctx, client, sink, cfg, users)
	res.print(out)
	sum.Ops = res.summarize()
	if !cfg.confirm {
		sum.Mail = awaitMail(ctx, sink, len(res.ops["ForgotPassword"].latencies), out)
		// The server's CPU over the run and the mail that followed it, per
		// request answered: the request path and the delivery together.
		if cpuAfter, ok := serverCPU(); ok {
			if n := len(res.ops["ForgotPassword"].latencies); n > 0 {
				fmt.Fprintf(out, "server CPU: %s for %d ForgotPassword, %s per request (mail included)\n",
					(cpuAfter - cpuBefore).Round(time.Millisecond), n, ((cpuAfter - cpuBefore) / time.Duration(n)).Round(time.Microsecond))
				sum.ServerCPUPerRequestMicros = float64(cpuAfter-cpuBefore) / float64(n) / float64(time.Microsecond)
			}
		}
	}
	if cfg.floor {
		return compareWithFloor(ctx, cfg, client, users, out, sum)
	}
	if res.failures() > 0 {
		return fmt.Errorf("%d operations failed", res.failures())
	}
	return nil
}

// processCPU is the user and system CPU time process pid has used, from
// /proc (Linux only; ok is false elsewhere). The kernel counts it in
// ticks of 1/100 s on every Linux this runs on (USER_HZ).
func processCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: state is field 3, utime 14 and stime 15.
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b)[i+1:])
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, true
}

// awaitMail waits, up to a minute, for the sink to hold want messages (one
// per ForgotPassword answered 200: every load user exists) and reports how
// many came and how long after the run the last one took.
func awaitMail(ctx context.Context, sink *smtpsink.Sink, want int, out io.Writer) *runsummary.Mail {
	start := time.Now()
	deadline := start.Add(time.Minute)
	for sink.Count() < want && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	got, after := sink.Count(), time.Since(start)
	fmt.Fprintf(out, "mail: %d of %d answered requests delivered at the sink, the last %s after the run\n",
		got, want, after.Round(time.Millisecond))
	return &runsummary.Mail{Answered: want, Delivered: got, LastAfterMillis: millis(after)}
}

func sdkClient(url string) *cip.Client {
	return cip.New(cip.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(url),
		Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1,
	})
}

// spawned is an examples/server process.
type spawned struct {
	cmd     *exec.Cmd
	url     string
	dir     string
	done    chan error
	cleanup func() // removes what the run left in the store
}

var readyLine = regexp.MustCompile(`msg=ready addr=(\S+)`)

// serverArgs are the spawned server's flags, and the function that removes
// what its run leaves in the store: each run keeps its rows and keys apart.
func serverArgs(cfg config, seedPath, sinkAddr string) ([]string, func()) {
	args := []string{"-addr", "127.0.0.1:0", "-seed", seedPath, "-smtp", sinkAddr, "-store", cfg.store}
	if cfg.queue == "async" {
		// The sizing rule of -async-queue-size: the queue holds the longest
		// burst, and a run is one burst of n requests (a refused delivery
		// would be a lost mail, which the run counts).
		args = append(args, "-async", "-async-queue-size", strconv.Itoa(max(cfg.n, asyncsender.DefaultQueueSize)))
	} else {
		args = append(args, "-queue", cfg.queue)
	}
	run := strings.ToLower(rand.Text()[:10])
	cleanup := func() {}
	switch cfg.store {
	case "postgres":
		args = append(args, "-postgres", cfg.postgres, "-postgres-schema", "loadtest_"+run)
		cleanup = func() { dropSchema(cfg.postgres, "loadtest_"+run) }
	case "redis":
		args = append(args, "-redis", cfg.redis, "-redis-prefix", "loadtest:"+run+":")
		cleanup = func() { deleteKeys(cfg.redis, "loadtest:"+run+":") }
	}
	return args, cleanup
}

// spawn builds examples/server and starts it with a seed of load users, the
// sink as its SMTP server and asynchronous delivery.
func spawn(ctx context.Context, cfg config, sinkAddr string, users []string) (*spawned, error) {
	dir, err := os.MkdirTemp("", "loadtest-")
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(dir, "server")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, cfg.serverPackage).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building %s: %v\n%s", cfg.serverPackage, err, out)
	}
	seedPath := filepath.Join(dir, "seed.json")
	if err := os.WriteFile(seedPath, seedJSON(cfg, users), 0o600); err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	rand.Read(key)
	args, cleanup := serverArgs(cfg, seedPath, sinkAddr)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), fmt.Sprintf("RECOVERY_KEY=%x", key)) // not in argv, where ps shows it
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &spawned{cmd: cmd, dir: dir, done: make(chan error, 1), cleanup: cleanup}
	ready := make(chan string, 1)
	var logMu sync.Mutex
	var log strings.Builder
	go func() {
		buf := make([]byte, 4096)
		var line strings.Builder
		for {
			n, err := stderr.Read(buf)
			for _, c := range buf[:n] {
				if c != '\n' {
					line.WriteByte(c)
					continue
				}
				logMu.Lock()
				log.WriteString(line.String() + "\n")
				logMu.Unlock()
				if m := readyLine.FindStringSubmatch(line.String()); m != nil {
					ready <- "http://" + m[1]
				}
				line.Reset()
			}
			if err != nil {
				return
			}
		}
	}()
	go func() { s.done <- cmd.Wait() }()
	select {
	case s.url = <-ready:
		return s, nil
	case err := <-s.done:
		logMu.Lock()
		defer logMu.Unlock()
		return nil, fmt.Errorf("the server exited: %v\n%s", err, log.String())
	case <-time.After(10 * time.Minute):
		s.stop()
		return nil, errors.New("the server did not get ready within 10 minutes (it seeds every user first)")
	case <-ctx.Done():
		s.stop()
		return nil, ctx.Err()
	}
}

// seedJSON is an examples/server seed with the load users (no passwords:
// they only reset them) under a fresh pool, so runs never share budgets.
func seedJSON(cfg config, users []string) []byte {
	type seedUser struct {
		Username   string            `json:"username"`
		Attributes map[string]string `json:"attributes"`
	}
	var su []seedUser
	for _, u := range users {
		su = append(su, seedUser{u, map[string]string{"email": u + "@example.com", "email_verified": "true"}})
	}
	b, _ := json.Marshal(map[string]any{
		"userPoolId":      "us-east-1_load" + strings.ToLower(rand.Text()[:8]),
		"accountRecovery": []string{"verified_email"},
		"clients": []map[string]any{
			{"clientId": cfg.clientID},
			{"clientId": cfg.clientID + "_quiet", "preventUserExistenceErrors": true},
		},
		"users": su,
	})
	return b
}

func (s *spawned) stop() {
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
	os.RemoveAll(s.dir)
	s.cleanup()
}

// dropSchema removes a run's Postgres schema.
func dropSchema(url, schema string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest: cleaning up:", err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest: cleaning up:", err)
	}
}

// deleteKeys removes a run's Redis keys: those under its prefix, and its
// asynq queue's, which asynq keeps under asynq:{<queue>} (the server names
// the queue after the prefix).
func deleteKeys(url, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts, err := redis.ParseURL(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest: cleaning up:", err)
		return
	}
	c := redis.NewClient(opts)
	defer c.Close()
	queue := strings.TrimSuffix(prefix, ":")
	for _, pattern := range []string{prefix + "*", "asynq:{" + queue + "}*"} {
		iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
		if err := iter.Err(); err != nil {
			fmt.Fprintln(os.Stderr, "loadtest: cleaning up:", err)
		}
	}
	c.SRem(ctx, "asynq:queues", queue)
}

// results holds the latencies of each operation.
type results struct {
	elapsed time.Duration
	ops     map[string]*opStats
}

type opStats struct {
	mu        sync.Mutex
	latencies []time.Duration
	errors    map[string]int
}

func (r *results) record(op string, d time.Duration, err error) {
	s := r.ops[op]
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.errors[errorName(err)]++
		return
	}
	s.latencies = append(s.latencies, d)
}

func errorName(err error) string {
	var api interface{ ErrorCode() string }
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return err.Error()
}

func (r *results) failures() int {
	n := 0
	for _, s := range r.ops {
		for _, c := range s.errors {
			n += c
		}
	}
	return n
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

func (r *results) print(out io.Writer) {
	fmt.Fprintf(out, "%-22s %8s %9s %10s %10s %10s  %s\n", "operation", "ok", "ops/s", "p50", "p90", "p99", "errors")
	for _, name := range []string{"ForgotPassword", "ConfirmForgotPassword"} {
		s := r.ops[name]
		if s == nil || (len(s.latencies) == 0 && len(s.errors) == 0) {
			continue
		}
		l := slices.Clone(s.latencies)
		slices.Sort(l)
		fmt.Fprintf(out, "%-22s %8d %9.1f %10s %10s %10s  %v\n", name, len(l), float64(len(l))/r.elapsed.Seconds(),
			percentile(l, .50).Round(time.Microsecond), percentile(l, .90).Round(time.Microsecond), percentile(l, .99).Round(time.Microsecond), s.errors)
	}
}

// drive runs cfg.n resets on cfg.c workers. Each worker owns the users with
// its index modulo c, so no two workers wait on one mailbox.
func drive(ctx context.Context, client *cip.Client, sink *smtpsink.Sink, cfg config, users []string) *results {
	r := &results{ops: map[string]*opStats{
		"ForgotPassword":        {errors: map[string]int{}},
		"ConfirmForgotPassword": {errors: map[string]int{}},
	}}
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := range cfg.c {
		wg.Go(func() {
			// Users w, w+c, w+2c, ... belong to worker w, which takes them
			// in turn, so each gets its share of the resets and no more.
			mine := (len(users) - w + cfg.c - 1) / cfg.c
			for k := 0; ctx.Err() == nil && mine > 0; k++ {
				if int(next.Add(1)) > cfg.n {
					return
				}
				user := users[w+cfg.c*(k%mine)]
				t0 := time.Now()
				_, err := client.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: aws.String(cfg.clientID), Username: aws.String(user)})
				r.record("ForgotPassword", time.Since(t0), err)
				if err != nil || !cfg.confirm {
					continue
				}
				wait, cancel := context.WithTimeout(ctx, 30*time.Second)
				code, err := sink.Take(wait, user+"@example.com")
				cancel()
				if err != nil {
					r.record("ConfirmForgotPassword", 0, err)
					continue
				}
				t0 = time.Now()
				_, err = client.ConfirmForgotPassword(ctx, &cip.ConfirmForgotPasswordInput{
					ClientId: aws.String(cfg.clientID), Username: aws.String(user),
					ConfirmationCode: aws.String(code), Password: aws.String("L0ad-" + rand.Text()[:10]),
				})
				r.record("ConfirmForgotPassword", time.Since(t0), err)
			}
		})
	}
	wg.Wait()
	r.elapsed = time.Since(start)
	return r
}
