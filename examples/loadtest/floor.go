package main

// The HTTP floor: a MEASURING STICK, not a server. It decodes the same
// ForgotPassword request examples/server gets and makes exactly one store
// round trip of the same kind as the engine's code issue (a single-row
// upsert in Postgres, one EVALSHA in Redis, one map write in memory), then
// answers a fixed response. Nothing else: no validation, no user lookup, no
// message. examples/server's rate as a fraction of this one's, measured in
// the same run on the same machine, says what the engine costs on top of
// the unavoidable HTTP and storage work.

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/recoverykit/recoverykit/examples/loadtest/runsummary"
)

// floorStore is the one round trip.
type floorStore interface {
	issue(ctx context.Context, userKey string, hash []byte, expires time.Time) error
	close()
}

type memoryFloor struct {
	mu   sync.Mutex
	rows map[string][]byte
}

func (m *memoryFloor) issue(_ context.Context, k string, h []byte, _ time.Time) error {
	m.mu.Lock()
	m.rows[k] = h
	m.mu.Unlock()
	return nil
}
func (m *memoryFloor) close() {}

type postgresFloor struct{ pool *pgxpool.Pool }

// The floor table lives in its own schema and is dropped afterwards.
const floorUpsert = `INSERT INTO loadtest_floor.codes (pool, user_key, hash, expires_at) VALUES ('load', $1, $2, $3)
ON CONFLICT (pool, user_key) DO UPDATE SET hash = excluded.hash, expires_at = excluded.expires_at`

func newPostgresFloor(ctx context.Context, url string) (*postgresFloor, error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, err
	}
	_, err = pool.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS loadtest_floor;
CREATE TABLE IF NOT EXISTS loadtest_floor.codes (pool text, user_key text, hash bytea, expires_at timestamptz, PRIMARY KEY (pool, user_key))`)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return &postgresFloor{pool}, nil
}

func (p *postgresFloor) issue(ctx context.Context, k string, h []byte, exp time.Time) error {
	_, err := p.pool.Exec(ctx, floorUpsert, k, h, exp)
	return err
}

func (p *postgresFloor) close() {
	p.pool.Exec(context.Background(), `DROP SCHEMA IF EXISTS loadtest_floor CASCADE`)
	p.pool.Close()
}

type redisFloor struct {
	c      *redis.Client
	prefix string
}

// floorScript stores a hash and an expiry under one key, with a TTL: the
// shape of the code store's issue, without its rules.
var floorScript = redis.NewScript(`redis.call('HSET', KEYS[1], 'h', ARGV[1], 'e', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`)

func newRedisFloor(ctx context.Context, url string) (*redisFloor, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	c := redis.NewClient(opt)
	if err := floorScript.Load(ctx, c).Err(); err != nil {
		c.Close()
		return nil, err
	}
	return &redisFloor{c: c, prefix: "loadtest-floor:" + rand.Text()[:8] + ":"}, nil
}

func (r *redisFloor) issue(ctx context.Context, k string, h []byte, exp time.Time) error {
	return floorScript.EvalSha(ctx, r.c, []string{r.prefix + "{" + k + "}"}, h, exp.UnixMilli(), 60_000).Err()
}

func (r *redisFloor) close() {
	ctx := context.Background()
	iter := r.c.Scan(ctx, 0, r.prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		r.c.Del(ctx, iter.Val())
	}
	r.c.Close()
}

// floorHandler decodes ForgotPassword and makes the one round trip.
func floorHandler(store floorStore) http.Handler {
	answer := []byte(`{"CodeDeliveryDetails":{"AttributeName":"email","DeliveryMedium":"EMAIL","Destination":"l***@e***"}}`)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			ClientID string `json:"ClientId"`
			Username string `json:"Username"`
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil || json.Unmarshal(body, &in) != nil || in.Username == "" {
			http.Error(w, `{"__type":"SerializationException"}`, http.StatusBadRequest)
			return
		}
		hash := make([]byte, 32)
		rand.Read(hash)
		if err := store.issue(r.Context(), "u:"+in.Username, hash, time.Now().Add(time.Hour)); err != nil {
			http.Error(w, `{"__type":"InternalErrorException"}`, http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Write(answer)
	})
}

// runID keeps the simulated identifiers of one run apart from another's.
var runID = strings.ToLower(rand.Text()[:6])

// serveFloor is the floor server's process (-serve-floor ADDR): it serves
// until interrupted, having printed "floor ready addr=HOST:PORT".
func serveFloor(ctx context.Context, cfg config) error {
	var store floorStore
	var err error
	switch cfg.store {
	case "postgres":
		store, err = newPostgresFloor(ctx, cfg.postgres)
	case "redis":
		store, err = newRedisFloor(ctx, cfg.redis)
	default:
		store = &memoryFloor{rows: map[string][]byte{}}
	}
	if err != nil {
		return fmt.Errorf("floor store: %w", err)
	}
	defer store.close()
	ln, err := net.Listen("tcp", cfg.serveFloor)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: floorHandler(store)}
	go func() {
		<-ctx.Done()
		hs.Close()
	}()
	fmt.Printf("floor ready addr=%s\n", ln.Addr())
	if err := hs.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	return nil
}

// rate is one timed run.
type rate struct {
	ops    int
	errors map[string]int
	opsSec float64
	p50    time.Duration
	p99    time.Duration
}

// hammer calls f from c goroutines for d, or until maxOps calls.
func hammer(ctx context.Context, c int, d time.Duration, maxOps int, f func(ctx context.Context, i int) error) rate {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var next atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	errs := map[string]int{}
	var wg sync.WaitGroup
	start := time.Now()
	for range c {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= maxOps {
					return
				}
				t0 := time.Now()
				err := f(ctx, i)
				d := time.Since(t0)
				if ctx.Err() != nil {
					return // cut off by the end of the run: not a result
				}
				mu.Lock()
				if err != nil {
					errs[errorName(err)]++
				} else {
					lat = append(lat, d)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	return rate{ops: len(lat), errors: errs, opsSec: float64(len(lat)) / elapsed.Seconds(), p50: percentile(lat, .5), p99: percentile(lat, .99)}
}

// compareWithFloor measures ForgotPassword on the server and on the floor at
// each concurrency, alternating so that both see the same machine.
func compareWithFloor(ctx context.Context, cfg config, server *cip.Client, users []string, out io.Writer, sum *runsummary.Run) error {
	// The floor runs in a process of its own, as the server does, so that
	// neither side is spared the cost of crossing processes on a machine
	// whose cores client, servers and store all share.
	cmd := exec.CommandContext(ctx, os.Args[0], "-serve-floor", "127.0.0.1:0", "-store", cfg.store, "-postgres", cfg.postgres, "-redis", cfg.redis)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "floor ready addr=")
	if err != nil || !ok {
		return fmt.Errorf("the floor server did not start: %q %v", line, err)
	}
	floor := sdkClient("http://" + addr)

	var levels []int
	for _, cs := range strings.Split(cfg.floorC, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(cs))
		if err != nil || c < 1 {
			return fmt.Errorf("-floor-c %q", cfg.floorC)
		}
		levels = append(levels, c)
	}
	// Each user may ask 5 times an hour; keep every request within budget
	// by walking the users and stopping before the fifth round. Each
	// concurrency gets an equal share of the requests, so that a fast
	// first run cannot leave the next one without users.
	var nextUser, nextGhost atomic.Int64
	share := 4 * len(users) / len(levels)
	if share < 1 {
		return fmt.Errorf("-floor-users %d: too few for %d concurrencies", len(users), len(levels))
	}
	printFloorHeader(out, cfg)
	for _, c := range levels {
		fl := hammer(ctx, c, cfg.floorDuration, 1<<31-1, func(ctx context.Context, i int) error {
			_, err := floor.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: aws.String(cfg.clientID), Username: aws.String(users[i%len(users)])})
			return err
		})
		sim := hammer(ctx, c, cfg.floorDuration, 1<<31-1, func(ctx context.Context, _ int) error {
			ghost := fmt.Sprintf("ghost%08d-%s", nextGhost.Add(1), runID)
			_, err := server.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: aws.String(cfg.clientID + "_quiet"), Username: aws.String(ghost)})
			return err
		})
		real := hammer(ctx, c, cfg.floorDuration, share, func(ctx context.Context, _ int) error {
			u := users[int(nextUser.Add(1)-1)%len(users)]
			_, err := server.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: aws.String(cfg.clientID), Username: aws.String(u)})
			return err
		})
		errs := map[string]int{}
		for name, r := range map[string]rate{"floor": fl, "simulated": sim, "real": real} {
			for k, v := range r.errors {
				errs[name+" "+k] += v
			}
		}
		fmt.Fprintf(out, "%4d %10.1f %9s %10.1f %9s %5.0f%% %10.1f %9s %5.0f%%  %v\n", c,
			fl.opsSec, fl.p50.Round(time.Microsecond),
			sim.opsSec, sim.p50.Round(time.Microsecond), 100*sim.opsSec/fl.opsSec,
			real.opsSec, real.p50.Round(time.Microsecond), 100*real.opsSec/fl.opsSec, errs)
		sum.Floor = append(sum.Floor, runsummary.FloorRow{
			C: c, FloorOpsPerSec: fl.opsSec, FloorP50Millis: millis(fl.p50),
			SimulatedOpsPerSec: sim.opsSec, SimulatedP50Millis: millis(sim.p50),
			RealOpsPerSec: real.opsSec, RealP50Millis: millis(real.p50), Errors: errs,
		})
		if n := real.ops + errorCount(real.errors); n >= share && real.ops > 0 {
			fmt.Fprintf(out, "(the real-user run at c=%d used up its share of the users' budgets, %d requests, in %s of %s: raise -floor-users)\n",
				c, share, (time.Duration(float64(real.ops) / real.opsSec * float64(time.Second))).Round(100*time.Millisecond), cfg.floorDuration)
		}
	}
	return nil
}

// errorCount is the number of failed calls in errs.
func errorCount(errs map[string]int) int {
	n := 0
	for _, v := range errs {
		n += v
	}
	return n
}

func printFloorHeader(out io.Writer, cfg config) {
	fmt.Fprintf(out, "\nForgotPassword vs the HTTP floor (store %s; %s per run)\n", cfg.store, cfg.floorDuration)
	fmt.Fprintln(out, "  simulated: client with existence errors prevented, identifiers that match nobody:")
	fmt.Fprintln(out, "             the same store work as a real request (lookup + one issue), no message")
	fmt.Fprintln(out, "  real:      real users, a message each through the async queue to SMTP (the sink, on this machine)")
	fmt.Fprintf(out, "%4s %10s %9s %10s %9s %6s %10s %9s %6s  %s\n", "c", "floor/s", "p50", "simul/s", "p50", "ratio", "real/s", "p50", "ratio", "errors")
}
