package faultload

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/delivery/capturesender"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
)

// epoch is where every phase's injected clock starts: fixed, with a
// millisecond part, and unrelated to the wall clock (the instant
// recoverytest's suites use).
var epoch = time.Date(2026, 1, 2, 3, 4, 5, 678_000_000, time.UTC).Truncate(time.Millisecond)

// rel describes an instant relative to epoch for failure messages, as
// "t0+1h2m".
func rel(t time.Time) string {
	d := t.Sub(epoch)
	if d < 0 {
		return "t0-" + (-d).String()
	}
	return "t0+" + d.String()
}

// faultRun is one phase in progress.
type faultRun struct {
	t       testing.TB
	cfg     Config
	ph      faultPhase
	pool    string
	engine  *recovery.Engine
	capture *capturesender.Sender
	users   []faultUser
	hasher  recoverytest.InsecureHasher

	clock atomic.Int64 // injected time, Unix ms
	seq   atomic.Int64 // real-time order of call starts and ends
	next  atomic.Int64 // operations claimed
	pwSeq atomic.Int64 // makes every new password unique

	actions map[int64]bool // operation index -> true: Cut, false: Restore
	faultMu sync.Mutex
	cutOn   bool
	cutAt   time.Time
	cuts    int

	mu   sync.Mutex
	sent map[int][]string // codes sent, per user
}

// now is the injected time of the phase's engine.
func (r *faultRun) now() time.Time { return time.UnixMilli(r.clock.Load()).UTC() }

// advance moves the injected clock by d.
func (r *faultRun) advance(d time.Duration) { r.clock.Add(d.Milliseconds()) }

// runPhase runs one phase: the load with its outages, then every check.
func runPhase(t testing.TB, cfg Config, idx int, ph faultPhase) PhaseReport {
	t.Helper()
	ctx := t.Context()
	r := newFaultRun(t, cfg, ph)
	rep := PhaseReport{Name: ph.name, Policy: r.engine.Policy(), Outcomes: map[string]int{}}
	r.seedUsers(ctx)
	rounds := r.schedule()
	defer r.restoreIfCut() // also on t.Fatal

	seed := uint64(time.Now().UnixNano())
	t.Logf("phase %s: %d users, %d workers, %d rounds of %d operations each, %d cuts; random seed %d",
		ph.name, cfg.UserCount, cfg.Workers, rounds, cfg.Workers*opsPerRound, cfg.Cuts, seed)
	start := time.Now()
	ops := r.load(ctx, seed, idx, rounds)
	rep.Duration = time.Since(start)
	r.restoreIfCut()
	rep.Cuts = r.cuts
	rep.Ops = len(ops)

	v := newViolations(t, ph.name)
	r.checkAnswers(v, ops, &rep)
	r.checkStored(ctx, v, ops, &rep)
	if cfg.FailedConfirmsRetryable {
		r.checkRetries(ctx, v, &rep)
	}
	r.settle(ctx, v, &rep)
	rep.Violations = v.total
	return rep
}

// newFaultRun builds the phase's engine on cfg's stores, with its clock at
// epoch.
func newFaultRun(t testing.TB, cfg Config, ph faultPhase) *faultRun {
	t.Helper()
	r := &faultRun{t: t, cfg: cfg, ph: ph, pool: cfg.Pool + "-" + ph.name, capture: capturesender.New(), sent: map[int][]string{}}
	r.clock.Store(epoch.UnixMilli())
	e, err := recovery.New(recovery.Config{
		PoolID: r.pool, Users: cfg.Users, Codes: cfg.Codes, Sender: faultSender{r.capture},
		// Errors reach the caller, and the code is sent during the
		// request, so each Recover's code is known when it answers.
		Clients: []recovery.Client{{ID: "faults", RevealUserExistence: true}},
		Outbox:  recovery.NewInlineOutbox(),
		Keys:    []recovery.Key{faultKey},
		Hasher:  r.hasher,
		Policy:  ph.policy,
		Logger:  slog.New(slog.DiscardHandler),
		Now:     r.now,
	})
	if err != nil {
		t.Fatalf("phase %s: %v", ph.name, err)
	}
	r.engine = e
	return r
}

// seedUsers creates the phase's users, each with a verified email and an
// initial password of its own.
func (r *faultRun) seedUsers(ctx context.Context) {
	r.t.Helper()
	for i := range r.cfg.UserCount {
		name := fmt.Sprintf("%s-%02d", r.ph.name, i)
		initial := fmt.Sprintf("Initial-%s-%d!", r.ph.name, i)
		hash, _ := r.hasher.Hash(initial)
		u, err := r.cfg.Seed(ctx, r.pool, recovery.User{
			Username: name, Status: recovery.StatusConfirmed,
			Attributes: map[string]string{recovery.AttrEmail: name + "@example.com", recovery.AttrEmailVerified: "true"},
		}, hash)
		if err != nil || u.Sub == "" {
			r.t.Fatalf("phase %s: seeding user %s: %v (sub %q)", r.ph.name, name, err, u.Sub)
		}
		r.users = append(r.users, faultUser{name: name, sub: u.Sub, initial: initial})
	}
}

// schedule places the outages by operation count, the i-th cut at
// (3i+1)/(3n) of the phase and its restore at (3i+2)/(3n), and returns the
// number of rounds.
func (r *faultRun) schedule() (rounds int) {
	cfg := r.cfg
	rounds = (cfg.Ops/2 + cfg.Workers*opsPerRound - 1) / (cfg.Workers * opsPerRound)
	total := int64(rounds * cfg.Workers * opsPerRound)
	r.actions = map[int64]bool{}
	for c := range int64(cfg.Cuts) {
		n := int64(3 * cfg.Cuts)
		r.actions[total*(3*c+1)/n] = true
		r.actions[total*(3*c+2)/n] = false
	}
	return rounds
}

// load runs the rounds: every worker does opsPerRound operations, then the
// clock moves a minute, and every fourth round past the code lifetime too.
// Each worker's generator derives from seed (logged), the phase index, the
// round and the worker.
func (r *faultRun) load(ctx context.Context, seed uint64, idx, rounds int) []*faultOp {
	cfg := r.cfg
	var ops []*faultOp
	for round := range rounds {
		if round > 0 {
			step := time.Minute
			if round%4 == 0 {
				step += r.engine.Policy().CodeLifetime
			}
			r.advance(step)
		}
		results := make([][]*faultOp, cfg.Workers)
		var wg sync.WaitGroup
		for w := range cfg.Workers {
			rng := rand.New(rand.NewPCG(seed, uint64(idx)<<32|uint64(round)<<8|uint64(w)))
			wg.Go(func() {
				for range opsPerRound {
					results[w] = append(results[w], r.step(ctx, rng))
				}
			})
		}
		wg.Wait()
		for _, res := range results {
			ops = append(ops, res...)
		}
	}
	return ops
}

// restoreIfCut ends the outage in progress, if any.
func (r *faultRun) restoreIfCut() {
	r.faultMu.Lock()
	defer r.faultMu.Unlock()
	if r.cutOn {
		r.cfg.Restore()
		r.cutOn = false
	}
}

// fault cuts or restores when operation i is where the schedule says.
func (r *faultRun) fault(i int64) {
	cut, ok := r.actions[i]
	if !ok {
		return
	}
	r.faultMu.Lock()
	defer r.faultMu.Unlock()
	if cut {
		r.cfg.Cut()
		r.cutOn, r.cutAt = true, time.Now()
		r.cuts++
		return
	}
	if !r.cutOn {
		return
	}
	if d := r.cfg.MinOutage - time.Since(r.cutAt); d > 0 {
		time.Sleep(d)
	}
	r.cfg.Restore()
	r.cutOn = false
}
