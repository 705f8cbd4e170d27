package recoverytest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/delivery/capturesender"
	"github.com/recoverykit/recoverykit/recovery"
)

// FaultConfig wires FaultLoad to the stores under test and to the way their
// backend is cut off and restored.
type FaultConfig struct {
	// Codes is the code store under test. Required.
	Codes recovery.CodeStore
	// Users is the user store the engine finds users in and sets passwords
	// through: the store under test, or a memstore.UserStore for a backend
	// that keeps no users. Required. Unless Seed is set it must implement
	// recovery.UserCreator, which FaultLoad then uses to create its users.
	Users recovery.UserStore
	// Seed creates a user with a password hash (made by InsecureHasher)
	// and returns it as stored, with its Sub. Default: the CreateUser
	// method of Users. FaultLoad seeds before the first outage.
	Seed func(ctx context.Context, pool string, u recovery.User, passwordHash string) (recovery.User, error)
	// PasswordHash reads a user's current password hash straight from the
	// user store, by pool and sub (memstore's and pgxstore's PasswordHash
	// methods fit). Optional: without it the check that no password change
	// was lost is skipped, and FaultLoad logs so.
	PasswordHash func(ctx context.Context, pool, sub string) (string, error)
	// Events reads the times of the issues and of the failed checks the
	// code store holds for a user (pool and recovery.UserKey), in any
	// order; an absent record has none. Optional: with it FaultLoad
	// compares what the store holds with the charges the clients saw.
	Events func(ctx context.Context, pool, userKey string) (issues, failures []time.Time, err error)
	// FailedConfirmsRetryable says that a Confirm that failed with an
	// internal error leaves its code usable, unless its password change was
	// applied (its reply lost): true for a user store that consumes the
	// code in the transaction that sets the password
	// (recovery.CodeConsumingSetter, as pgxstore's with WithCodeStore).
	// FaultLoad then cuts the backend while users confirm fresh codes and
	// checks that each failed Confirm can be retried with its code, and
	// that no code sets two passwords.
	FailedConfirmsRetryable bool
	// CallsMayRepeat says that a store call whose reply was lost may have
	// been applied twice, as go-redis does when it retries a script after a
	// broken connection (its MaxRetries, 3 by default). The stored budget
	// events are then checked from below only: a repeated charge is the
	// documented, safe side of such a retry.
	CallsMayRepeat bool

	// Cut starts an outage: it cuts the store's connections, stops a
	// server or makes calls fail. Restore ends it; afterwards the backend
	// must come back by itself, without the stores or their clients being
	// told or rebuilt. Both are required. FaultLoad calls them alternately,
	// Cuts times in each of its two phases, each from one of its worker
	// goroutines while the other workers keep calling the engine, never
	// both at once; they report problems with t.Error, never t.Fatal.
	// Restore may wait until the store's own client reaches the backend
	// again (go-redis, for one, waits up to a second between dial attempts
	// once dialing failed), so that the operations after it do not all
	// fail on that wait.
	Cut, Restore func()

	// Pool prefixes the user pool IDs of the two phases. Default
	// "recoverytest-faults"; give each run its own if the stores are not
	// fresh.
	Pool string
	// UserCount is how many users each phase creates and works on.
	// Default 50.
	UserCount int
	// Workers is how many goroutines call the engine at once. Default 8.
	Workers int
	// Ops is the number of operations under load, both phases together.
	// Default 3000.
	Ops int
	// Cuts is the number of outages in each phase. Default 3.
	Cuts int
	// MinOutage is the least time from Cut to Restore; the worker that
	// restores waits for it. Default 0: an outage lasts a third of the
	// operations between two restores, however long they take.
	MinOutage time.Duration
	// OpTimeout bounds each engine call. Default 5 s.
	OpTimeout time.Duration
	// SettleTimeout bounds how long, after the last Restore of a phase,
	// every user may take to complete a reset again. Default 30 s.
	SettleTimeout time.Duration
}

func (c FaultConfig) withDefaults() FaultConfig {
	if c.Pool == "" {
		c.Pool = "recoverytest-faults"
	}
	if c.UserCount == 0 {
		c.UserCount = 50
	}
	if c.Workers == 0 {
		c.Workers = 8
	}
	if c.Ops == 0 {
		c.Ops = 3000
	}
	if c.Cuts == 0 {
		c.Cuts = 3
	}
	if c.OpTimeout == 0 {
		c.OpTimeout = 5 * time.Second
	}
	if c.SettleTimeout == 0 {
		c.SettleTimeout = 30 * time.Second
	}
	if c.Seed == nil {
		if uc, ok := c.Users.(recovery.UserCreator); ok {
			c.Seed = uc.CreateUser
		}
	}
	return c
}

func (c FaultConfig) validate() error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("recoverytest: FaultConfig."+format, args...))
	}
	if c.Codes == nil {
		add("Codes is nil: set the code store under test")
	}
	if c.Users == nil {
		add("Users is nil: set a user store (memstore.NewUserStore() if the backend keeps none)")
	} else if c.Seed == nil {
		add("Seed is nil and Users (%T) does not implement recovery.UserCreator: set Seed", c.Users)
	}
	if c.Cut == nil || c.Restore == nil {
		add("Cut and Restore must both be set")
	}
	if c.UserCount < 5 || c.Workers < 1 || c.Cuts < 1 {
		add("UserCount %d, Workers %d, Cuts %d: use at least 5 users, 1 worker and 1 cut", c.UserCount, c.Workers, c.Cuts)
	}
	if per := c.Workers * opsPerRound * 3 * c.Cuts; c.Ops/2 < per {
		add("Ops is %d: use at least %d, so that each phase has room for its outages", c.Ops, 2*per)
	}
	return errors.Join(errs...)
}

// FaultReport is what FaultLoad saw, phase by phase.
type FaultReport struct {
	Phases []FaultPhaseReport
}

// FaultPhaseReport counts one phase of FaultLoad.
type FaultPhaseReport struct {
	// Name is "budget" or "lock".
	Name string
	// Policy is the engine's policy in the phase.
	Policy recovery.Policy
	// Ops is the number of operations under load; Cuts the outages.
	Ops, Cuts int
	// Outcomes counts the answers by operation and outcome:
	// "Recover OK", "Confirm CodeMismatchException" and so on.
	Outcomes map[string]int
	// Internal counts InternalErrorException answers.
	Internal int
	// Accepted counts successful Confirm calls (codes accepted); Sent the
	// codes delivered by successful Recover calls.
	Accepted, Sent int
	// Stale counts Confirm calls made with a code sent more than
	// CodeLifetime earlier (by the injected clock), to show that expiry
	// was exercised.
	Stale int
	// LockedUsers counts the users who got TooManyFailedAttemptsException.
	LockedUsers int
	// Violations counts the broken invariants (each also a test error).
	Violations int
	// Retried counts the Confirm calls that failed with an internal error
	// during the retry check (FailedConfirmsRetryable) and were retried with
	// their code: RetriedOK succeeded, RetriedApplied had been applied and
	// rightly found their code used.
	Retried, RetriedOK, RetriedApplied int
	// ReadErrors counts the failed reads of the stores' contents after
	// the last Restore (each is retried). SettleErrors counts the internal
	// errors after those reads before every user had completed a reset
	// again, and Settle is how long that took.
	ReadErrors, SettleErrors int
	Settle                   time.Duration
	// Duration is the wall time of the load.
	Duration time.Duration
}

// String summarizes the report on a few lines.
func (r FaultReport) String() string {
	var b strings.Builder
	for i, p := range r.Phases {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// String summarizes the phase.
func (p FaultPhaseReport) String() string {
	keys := make([]string, 0, len(p.Outcomes))
	for k := range p.Outcomes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var outs []string
	for _, k := range keys {
		outs = append(outs, fmt.Sprintf("%s %d", k, p.Outcomes[k]))
	}
	return fmt.Sprintf("phase %s (budget %d and %d failures per %s, lock after %d failures for %s, codes live %s): "+
		"%d ops in %s with %d cuts; %d internal errors; %d codes sent, %d accepted, %d confirms of expired codes, %d users locked; "+
		"%d violations; %d failed confirms retried (%d succeeded, %d had been applied); "+
		"after the last restore %d failed reads, then %d internal errors and %s until every user reset again\n  %s",
		p.Name, p.Policy.Budget, p.Policy.FailureBudget, p.Policy.BudgetWindow, p.Policy.MaxFailures, p.Policy.Cooldown, p.Policy.CodeLifetime,
		p.Ops, p.Duration.Round(time.Millisecond), p.Cuts, p.Internal, p.Sent, p.Accepted, p.Stale, p.LockedUsers,
		p.Violations, p.Retried, p.RetriedOK, p.RetriedApplied, p.ReadErrors, p.SettleErrors, p.Settle.Round(time.Millisecond), strings.Join(outs, ", "))
}

// FaultLoad runs a bounded, mixed load through a real recovery.Engine on
// cfg's stores while cfg.Cut and cfg.Restore take the backend away and give
// it back, several times, and then checks that no promise was broken. It is
// the fault suite of this module's stores, and adapters can run it too:
//
//	func TestFaults(t *testing.T) {
//		recoverytest.OptIn(t, recoverytest.EnvFaults, "fault suite")
//		cut, restore := recoverytest.Repeatedly(5*time.Millisecond, killMyConnections)
//		recoverytest.FaultLoad(t, recoverytest.FaultConfig{
//			Codes: codes, Users: users, PasswordHash: users.PasswordHash,
//			Cut: cut, Restore: restore,
//		})
//	}
//
// FaultLoad does not check EnvFaults itself; its callers opt in.
//
// # The load
//
// Two phases, each on its own pool of cfg.UserCount users with verified
// emails, each with half of cfg.Ops operations from cfg.Workers goroutines
// at once: Recover, Confirm with the code the user was last sent (read from
// a capturesender.Sender), Confirm with that code and a weak password,
// Confirm with an older code of the user, and Confirm with a wrong code
// (one never sent to the user), for users picked at random, so that
// operations on one user overlap. Every new password is unique. Phase
// "budget" has a budget of 5 per 10 minutes and codes that live 5 minutes;
// phase "lock" a budget of 1000, a lock after 6 consecutive failures for 10
// minutes, and every fifth user mostly guessing, with half of the
// operations. The engine's clock is injected and moves between rounds of
// operations (every worker does 10 per round): a minute, and every fourth round six, past the code lifetime. The
// outages are placed by operation count, the i-th cut at (3i+1)/(3n) of the
// phase and its restore at (3i+2)/(3n), so they overlap the load however
// fast the store is.
//
// # The checks
//
// From what the clients saw (each call's answer, its injected time, and its
// order in real time: a call that ended before another began happened
// before it):
//   - every answer is OK, a legitimate refusal (CodeMismatch, ExpiredCode,
//     LimitExceeded, TooManyFailedAttempts, InvalidPassword for the weak
//     passwords), or InternalErrorException; no call panics;
//   - every accepted code was sent to that user by an earlier or concurrent
//     Recover, is accepted once per sending, was sent less than
//     CodeLifetime before, and was not replaced by a Recover that ended
//     before the Confirm began; a wrong code is never accepted, nor a weak
//     password;
//   - no call passes the budget (OK, CodeMismatch, ExpiredCode or
//     InvalidPassword) when Budget charges (successful Recover calls and
//     CodeMismatch answers) that ended before it began already fall in its
//     window;
//   - after a TooManyFailedAttemptsException, no call for that user passes
//     the gate before the lock can have ended: Cooldown after the latest
//     mismatch seen before it, and never at the same instant.
//
// From the stores, after the phase's last restore (reads are retried until
// the backend answers):
//   - with cfg.PasswordHash, each user's stored password is the one of a
//     Confirm that succeeded, or failed with an internal error (it may have
//     been applied), that no successful Confirm begun after its end
//     superseded; or the initial one if no Confirm succeeded;
//   - with cfg.Events, the budget events the store holds in the current
//     window are at least those the clients saw charged there and, unless
//     cfg.CallsMayRepeat, at most those plus the calls there that failed
//     with an internal error.
//
// Then, with the outages over and nothing restarted, the clock moves past
// every window and lock and every user must complete Recover and Confirm
// (internal errors are retried within cfg.SettleTimeout: pooled connections
// that died are found on use), and then, a second time, every user must
// complete both without a single error, and the stored password must be the
// last one set.
//
// Finally FaultLoad fails the test if the load proved nothing: no internal
// error, no accepted code, no refused budget, no lock, no expired code
// tried. It logs the report and returns it.
func FaultLoad(t testing.TB, cfg FaultConfig) FaultReport {
	t.Helper()
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.PasswordHash == nil {
		t.Log("FaultConfig.PasswordHash is nil: the check that no password change is lost is skipped")
		if cfg.FailedConfirmsRetryable {
			t.Fatal("FaultConfig.FailedConfirmsRetryable needs PasswordHash, to tell an applied change from one that was not")
		}
	}
	if cfg.Events == nil {
		t.Log("FaultConfig.Events is nil: stored budget events are not compared with the charges seen")
	}
	var report FaultReport
	for i, ph := range faultPhases() {
		report.Phases = append(report.Phases, runFaultPhase(t, cfg, i, ph))
	}
	t.Logf("fault load:\n%v", report)
	report.requireExercised(t, cfg.FailedConfirmsRetryable)
	return report
}

// requireExercised fails t when the load did not reach what it is meant to
// test.
func (r FaultReport) requireExercised(t testing.TB, retryable bool) {
	t.Helper()
	var stale, mismatches int
	for _, p := range r.Phases {
		if p.Internal == 0 {
			t.Errorf("phase %s: no call failed with an internal error: the outages did not bite, the test proves nothing", p.Name)
		}
		if p.Accepted == 0 {
			t.Errorf("phase %s: no code was accepted", p.Name)
		}
		stale += p.Stale
		mismatches += p.Outcomes["Confirm CodeMismatchException"]
		switch p.Name {
		case "budget":
			if p.Outcomes["Recover LimitExceededException"]+p.Outcomes["Confirm LimitExceededException"] == 0 {
				t.Errorf("phase %s: no budget was ever spent", p.Name)
			}
		case "lock":
			if p.LockedUsers == 0 {
				t.Errorf("phase %s: no user was locked", p.Name)
			}
		}
	}
	if stale == 0 {
		t.Errorf("no Confirm used an expired code: expiry was not exercised")
	}
	if retryable {
		retried := 0
		for _, p := range r.Phases {
			retried += p.Retried
		}
		if retried == 0 {
			t.Errorf("no Confirm failed during the retry check's outages: retrying was not exercised")
		}
	}
	if mismatches == 0 {
		t.Errorf("no Confirm got CodeMismatchException")
	}
}

// opsPerRound is how many operations each worker does between two moves of
// the clock.
const opsPerRound = 10

// faultKey is the code-hashing key of FaultLoad's engines.
var faultKey = recovery.Key{ID: "faults", Secret: []byte("recoverytest-fault-load-key-0123456789")}

// opKind is what a worker does.
type opKind int

const (
	kindRecover opKind = iota // Recover
	kindLatest                // Confirm the code last sent, new password
	kindWeak                  // the same with a weak password
	kindOld                   // Confirm a code sent earlier, perhaps used
	kindWrong                 // Confirm a code never sent to the user
	numKinds
)

func (k opKind) String() string {
	return [...]string{"Recover", "Confirm latest", "Confirm weak", "Confirm old", "Confirm wrong"}[k]
}

// faultPhase is one phase of the load.
type faultPhase struct {
	name     string
	policy   recovery.Policy
	normal   [numKinds]int // operation weights
	attacked [numKinds]int // weights for every fifth user, who gets half of the operations; zero: none
}

func faultPhases() []faultPhase {
	return []faultPhase{
		{
			name:   "budget",
			policy: recovery.Policy{CodeLifetime: 5 * time.Minute, Budget: 5, FailureBudget: 5, BudgetWindow: 10 * time.Minute},
			normal: [numKinds]int{35, 30, 5, 10, 20},
		},
		{
			name: "lock",
			policy: recovery.Policy{CodeLifetime: 5 * time.Minute, Budget: 1000, FailureBudget: 1000, BudgetWindow: time.Hour,
				MaxFailures: 6, Cooldown: 10 * time.Minute, MaxGuessProbability: 1},
			normal:   [numKinds]int{30, 30, 5, 5, 30},
			attacked: [numKinds]int{25, 0, 0, 0, 75},
		},
	}
}

// faultUser is one user of a phase.
type faultUser struct {
	name, sub, initial string
}

// faultOp is one engine call and what it answered.
type faultOp struct {
	kind       opKind
	user       int
	code       string // submitted, or (Recover) sent
	password   string
	at         time.Time // the injected time of the call
	start, end int64     // order in real time
	err        error
	panicked   any
}

func (op *faultOp) isRecover() bool { return op.kind == kindRecover }
func (op *faultOp) weak() bool      { return op.kind == kindWeak }

// outcome names the answer: "OK", the Cognito exception name, or what
// else came back.
func (op *faultOp) outcome() string {
	var re *recovery.Error
	switch {
	case op.panicked != nil:
		return "panic"
	case op.err == nil:
		return "OK"
	case errors.As(op.err, &re):
		return re.Name
	}
	return fmt.Sprintf("%T", op.err)
}

func (op *faultOp) internal() bool { return errors.Is(op.err, recovery.ErrInternal) }

// issued: the call certainly charged an issue; missed: a failed check.
func (op *faultOp) issued() bool { return op.panicked == nil && op.isRecover() && op.err == nil }
func (op *faultOp) missed() bool {
	return op.panicked == nil && errors.Is(op.err, recovery.ErrCodeMismatch)
}

// gated: the answer shows the call passed the lock and the budget.
func (op *faultOp) gated() bool {
	return op.panicked == nil && (op.err == nil || errors.Is(op.err, recovery.ErrCodeMismatch) ||
		errors.Is(op.err, recovery.ErrExpiredCode) || errors.Is(op.err, recovery.ErrInvalidPassword))
}

func (op *faultOp) String() string {
	return fmt.Sprintf("%s #%d..%d at %s -> %s", op.kind, op.start, op.end, rel(op.at), op.outcome())
}

// opKey carries the running operation to the sender, which records the
// code a Recover sent.
type opKey struct{}

type faultSender struct{ capture *capturesender.Sender }

func (s faultSender) Send(ctx context.Context, m recovery.Message) error {
	if op, ok := ctx.Value(opKey{}).(*faultOp); ok {
		op.code = m.Code // same goroutine: the engine sends synchronously
	}
	// Never fail for the request's deadline: a code the store issued is
	// then always known.
	return s.capture.Send(context.WithoutCancel(ctx), m)
}

// faultRun is one phase in progress.
type faultRun struct {
	t       testing.TB
	cfg     FaultConfig
	ph      faultPhase
	pool    string
	engine  *recovery.Engine
	capture *capturesender.Sender
	users   []faultUser
	hasher  InsecureHasher

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

func (r *faultRun) now() time.Time { return time.UnixMilli(r.clock.Load()).UTC() }

func (r *faultRun) advance(d time.Duration) { r.clock.Add(d.Milliseconds()) }

func runFaultPhase(t testing.TB, cfg FaultConfig, idx int, ph faultPhase) FaultPhaseReport {
	t.Helper()
	ctx := t.Context()
	r := &faultRun{t: t, cfg: cfg, ph: ph, pool: cfg.Pool + "-" + ph.name, capture: capturesender.New(), sent: map[int][]string{}}
	r.clock.Store(t0.UnixMilli())
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
	policy := e.Policy()
	rep := FaultPhaseReport{Name: ph.name, Policy: policy, Outcomes: map[string]int{}}

	for i := range cfg.UserCount {
		name := fmt.Sprintf("%s-%02d", ph.name, i)
		initial := fmt.Sprintf("Initial-%s-%d!", ph.name, i)
		hash, _ := r.hasher.Hash(initial)
		u, err := cfg.Seed(ctx, r.pool, recovery.User{
			Username: name, Enabled: true, Status: recovery.StatusConfirmed,
			Attributes: map[string]string{recovery.AttrEmail: name + "@example.com", recovery.AttrEmailVerified: "true"},
		}, hash)
		if err != nil || u.Sub == "" {
			t.Fatalf("phase %s: seeding user %s: %v (sub %q)", ph.name, name, err, u.Sub)
		}
		r.users = append(r.users, faultUser{name: name, sub: u.Sub, initial: initial})
	}

	rounds := (cfg.Ops/2 + cfg.Workers*opsPerRound - 1) / (cfg.Workers * opsPerRound)
	total := int64(rounds * cfg.Workers * opsPerRound)
	r.actions = map[int64]bool{}
	for c := range int64(cfg.Cuts) {
		n := int64(3 * cfg.Cuts)
		r.actions[total*(3*c+1)/n] = true
		r.actions[total*(3*c+2)/n] = false
	}
	defer r.restoreIfCut() // also on t.Fatal

	seed := uint64(time.Now().UnixNano())
	t.Logf("phase %s: %d users, %d workers, %d rounds of %d operations each, %d cuts; random seed %d",
		ph.name, cfg.UserCount, cfg.Workers, rounds, cfg.Workers*opsPerRound, cfg.Cuts, seed)
	var ops []*faultOp
	start := time.Now()
	for round := range rounds {
		if round > 0 {
			step := time.Minute
			if round%4 == 0 {
				step += policy.CodeLifetime
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

// step claims the next operation, makes the scheduled fault happen, picks
// an operation and runs it.
func (r *faultRun) step(ctx context.Context, rng *rand.Rand) *faultOp {
	r.fault(r.next.Add(1) - 1)
	op := r.pick(rng)
	r.run(ctx, op)
	return op
}

func (r *faultRun) pick(rng *rand.Rand) *faultOp {
	u := rng.IntN(len(r.users))
	weights := r.ph.normal
	if r.ph.attacked != ([numKinds]int{}) {
		if rng.IntN(2) == 0 { // half of the operations go to the attacked users
			u = 5 * rng.IntN((len(r.users)+4)/5)
		}
		if u%5 == 0 {
			weights = r.ph.attacked
		}
	}
	sum := 0
	for _, w := range weights {
		sum += w
	}
	n, kind := rng.IntN(sum), kindRecover
	for k, w := range weights {
		if n < w {
			kind = opKind(k)
			break
		}
		n -= w
	}
	op := &faultOp{kind: kind, user: u}
	if kind == kindRecover {
		return op
	}
	op.password = fmt.Sprintf("Fault-%s-%d!pw", r.ph.name, r.pwSeq.Add(1))
	switch kind {
	case kindLatest, kindWeak:
		code, ok := r.capture.LastCode(r.users[u].name)
		if !ok {
			op.kind = kindWrong
			break
		}
		op.code = code
		if kind == kindWeak {
			op.password = "weak"
		}
	case kindOld:
		r.mu.Lock()
		sent := r.sent[u]
		if len(sent) > 0 {
			op.code = sent[rng.IntN(len(sent))]
		}
		r.mu.Unlock()
		if op.code == "" {
			op.kind = kindWrong
		}
	}
	if op.kind == kindWrong {
		op.code = r.wrongCode(u, rng)
	}
	return op
}

// wrongCode returns a code of the policy's length never sent to user u.
func (r *faultRun) wrongCode(u int, rng *rand.Rand) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		b := make([]byte, r.engine.Policy().CodeDigits)
		for i := range b {
			b[i] = byte('0' + rng.IntN(10))
		}
		if !slices.Contains(r.sent[u], string(b)) {
			return string(b)
		}
	}
}

func (r *faultRun) run(ctx context.Context, op *faultOp) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.OpTimeout)
	defer cancel()
	ctx = context.WithValue(ctx, opKey{}, op)
	user := r.users[op.user]
	op.at = r.now()
	op.start = r.seq.Add(1)
	func() {
		defer func() { op.panicked = recover() }()
		if op.isRecover() {
			_, op.err = r.engine.Recover(ctx, recovery.RecoverRequest{ClientID: "faults", Username: user.name})
			return
		}
		op.err = r.engine.Confirm(ctx, recovery.ConfirmRequest{ClientID: "faults", Username: user.name,
			ConfirmationCode: op.code, Password: op.password})
	}()
	op.end = r.seq.Add(1)
	if op.isRecover() && op.err == nil && op.code != "" {
		r.mu.Lock()
		r.sent[op.user] = append(r.sent[op.user], op.code)
		r.mu.Unlock()
	}
}

// violations reports broken invariants, a few of each kind in full.
type violations struct {
	t     testing.TB
	phase string
	n     map[string]int
	total int
}

func newViolations(t testing.TB, phase string) *violations {
	return &violations{t: t, phase: phase, n: map[string]int{}}
}

const violationsShown = 5

func (v *violations) add(kind, format string, args ...any) {
	v.t.Helper()
	v.n[kind]++
	v.total++
	switch n := v.n[kind]; {
	case n <= violationsShown:
		v.t.Errorf("phase %s: %s: %s", v.phase, kind, fmt.Sprintf(format, args...))
	case n == violationsShown+1:
		v.t.Errorf("phase %s: %s: more of these follow, not shown", v.phase, kind)
	}
}

// byUser groups ops per user, each group in order of start.
func byUser(ops []*faultOp, users int) [][]*faultOp {
	g := make([][]*faultOp, users)
	for _, op := range ops {
		g[op.user] = append(g[op.user], op)
	}
	for _, ops := range g {
		slices.SortFunc(ops, func(a, b *faultOp) int { return int(a.start - b.start) })
	}
	return g
}

// checkAnswers checks what the clients saw and counts it into rep.
func (r *faultRun) checkAnswers(v *violations, ops []*faultOp, rep *FaultPhaseReport) {
	p := r.engine.Policy()
	for _, op := range ops {
		name := "Confirm"
		if op.isRecover() {
			name = "Recover"
		}
		rep.Outcomes[name+" "+op.outcome()]++
		user := r.users[op.user].name
		switch {
		case op.panicked != nil:
			v.add("panic", "%s for %s panicked: %v", op, user, op.panicked)
		case op.err == nil:
			if op.weak() {
				v.add("weak password accepted", "%s for %s", op, user)
			}
		case op.internal():
			rep.Internal++
		case op.isRecover():
			if !errors.Is(op.err, recovery.ErrLimitExceeded) {
				v.add("unexpected error", "%s for %s: %v", op, user, op.err)
			}
		case errors.Is(op.err, recovery.ErrInvalidPassword):
			if !op.weak() {
				v.add("unexpected error", "%s for %s with a valid password: %v", op, user, op.err)
			}
		case errors.Is(op.err, recovery.ErrCodeMismatch), errors.Is(op.err, recovery.ErrExpiredCode),
			errors.Is(op.err, recovery.ErrLimitExceeded), errors.Is(op.err, recovery.ErrTooManyFailedAttempts):
		default:
			v.add("unexpected error", "%s for %s: %v", op, user, op.err)
		}
		if op.isRecover() && op.err == nil {
			rep.Sent++
			if op.code == "" {
				v.add("no code sent", "%s for %s answered OK but sent nothing", op, user)
			}
		}
		if !op.isRecover() && op.err == nil && op.panicked == nil {
			rep.Accepted++
		}
	}

	for u, uops := range byUser(ops, len(r.users)) {
		user := r.users[u].name
		var sends, accepts, locks []*faultOp
		for _, op := range uops {
			switch {
			case op.isRecover() && op.err == nil && op.code != "":
				sends = append(sends, op)
			case !op.isRecover() && op.err == nil && op.panicked == nil:
				accepts = append(accepts, op)
			case errors.Is(op.err, recovery.ErrTooManyFailedAttempts):
				locks = append(locks, op)
			}
		}
		if len(locks) > 0 {
			rep.LockedUsers++
		}

		// Budgets: nothing passes the gate once FailureBudget failures
		// that ended before it began fall in its window, and no Recover
		// once Budget issues do.
		for _, g := range uops {
			if !g.gated() {
				continue
			}
			issues, misses := 0, 0
			for _, e := range uops {
				if e.end < g.start && e.at.After(g.at.Add(-p.BudgetWindow)) {
					if e.issued() {
						issues++
					}
					if e.missed() {
						misses++
					}
				}
			}
			if misses >= p.FailureBudget {
				v.add("budget overrun", "%s for %s after %d failures in its window (failure budget %d)", g, user, misses, p.FailureBudget)
			}
			if g.isRecover() && issues >= p.Budget {
				v.add("budget overrun", "%s for %s after %d issues in its window (budget %d)", g, user, issues, p.Budget)
			}
		}

		// Lock: after TooManyFailedAttempts, nothing passes the gate
		// before the lock can have ended.
		for _, l := range locks {
			end := l.at.Add(time.Millisecond)
			for _, m := range uops {
				if m.end < l.start && errors.Is(m.err, recovery.ErrCodeMismatch) && m.at.Add(p.Cooldown).After(end) {
					end = m.at.Add(p.Cooldown)
				}
			}
			for _, g := range uops {
				if g.start > l.end && g.gated() && g.at.Before(end) {
					v.add("answered while locked", "%s for %s after %s; the lock lasts at least until %s", g, user, l, rel(end))
				}
			}
		}

		// Expiry, for the report: confirms of a code whose latest sending
		// before the call is CodeLifetime old.
		for _, c := range uops {
			if c.isRecover() || c.internal() {
				continue
			}
			var last *faultOp
			for _, s := range sends {
				if s.code == c.code && s.end < c.start {
					last = s
				}
			}
			if last != nil && !c.at.Before(last.at.Add(p.CodeLifetime)) {
				rep.Stale++
			}
		}

		// Acceptances: each matched to its own sending of that code to this
		// user, begun before the Confirm ended, still alive, not replaced.
		slices.SortFunc(accepts, func(a, b *faultOp) int { return int(a.end - b.end) })
		matched := map[*faultOp]bool{}
		replaced := func(s, a *faultOp) *faultOp {
			for _, s2 := range sends {
				if s2 != s && s2.start > s.end && s2.end < a.start {
					return s2
				}
			}
			return nil
		}
		for _, a := range accepts {
			var cands []*faultOp
			for _, s := range sends {
				if s.code == a.code && s.start < a.end {
					cands = append(cands, s)
				}
			}
			var found *faultOp
			var why []string
			for _, s := range cands {
				switch by := replaced(s, a); {
				case matched[s]:
					why = append(why, fmt.Sprintf("already accepted (sent by %s)", s))
				case !a.at.Before(s.at.Add(p.CodeLifetime)):
					why = append(why, fmt.Sprintf("expired (sent by %s)", s))
				case by != nil:
					why = append(why, fmt.Sprintf("replaced (sent by %s, then %s)", s, by))
				default:
					found = s
				}
				if found != nil {
					break
				}
			}
			switch {
			case found != nil:
				matched[found] = true
			case len(cands) == 0 && a.kind == kindWrong:
				v.add("wrong code accepted", "%s for %s", a, user)
			case len(cands) == 0:
				v.add("code never sent accepted", "%s for %s", a, user)
			default:
				v.add("dead code accepted", "%s for %s: the code was %s", a, user, strings.Join(why, "; "))
			}
		}
	}
}

// retry calls f until it succeeds or the settle timeout passes, counting
// its failures in *failed, and returns its last error.
func (r *faultRun) retry(ctx context.Context, failed *int, f func(ctx context.Context) error) error {
	deadline := time.Now().Add(r.cfg.SettleTimeout)
	for {
		cctx, cancel := context.WithTimeout(ctx, r.cfg.OpTimeout)
		err := f(cctx)
		cancel()
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		*failed++
		time.Sleep(10 * time.Millisecond)
	}
}

// checkStored compares the stores' contents with what the clients saw.
func (r *faultRun) checkStored(ctx context.Context, v *violations, ops []*faultOp, rep *FaultPhaseReport) {
	p := r.engine.Policy()
	end := r.now()
	for u, uops := range byUser(ops, len(r.users)) {
		user := r.users[u]
		if r.cfg.PasswordHash != nil {
			var hash string
			err := r.retry(ctx, &rep.ReadErrors, func(ctx context.Context) (err error) {
				hash, err = r.cfg.PasswordHash(ctx, r.pool, user.sub)
				return err
			})
			if err != nil {
				r.t.Errorf("phase %s: reading the password hash of %s after the outages: %v", r.ph.name, user.name, err)
				continue
			}
			r.checkPassword(v, user, uops, hash)
		}
		if r.cfg.Events != nil {
			var issues, failures []time.Time
			err := r.retry(ctx, &rep.ReadErrors, func(ctx context.Context) (err error) {
				issues, failures, err = r.cfg.Events(ctx, r.pool, recovery.UserKey(user.sub))
				return err
			})
			if err != nil {
				r.t.Errorf("phase %s: reading the budget events of %s after the outages: %v", r.ph.name, user.name, err)
				continue
			}
			from := end.Add(-p.BudgetWindow)
			r.compareCharges(v, user.name, "issues", issues, uops, from, end, p.Budget, (*faultOp).issued)
			r.compareCharges(v, user.name, "failures", failures, uops, from, end, p.FailureBudget, (*faultOp).missed)
		}
	}
}

// compareCharges compares the times of one kind of charge a store holds in
// the window (from, end] with the calls the clients saw charged there:
// none lost, and, unless calls may repeat, none invented beyond the calls
// that failed with an internal error.
func (r *faultRun) compareCharges(v *violations, user, what string, held []time.Time, uops []*faultOp, from, end time.Time, budget int, charged func(*faultOp) bool) {
	stored := 0
	for _, e := range held {
		if e.After(from) && !e.After(end) {
			stored++
		}
	}
	seen, maybe := 0, 0
	for _, op := range uops {
		switch {
		case !op.at.After(from):
		case charged(op):
			seen++
		case op.internal() || op.panicked != nil:
			maybe++
		}
	}
	if lo := min(seen, budget); stored < lo {
		v.add("charge lost", "%s: the store holds %d %s in the window ending %s, the clients saw %d charged there", user, stored, what, rel(end), seen)
	}
	if hi := min(seen+maybe, budget); stored > hi && !r.cfg.CallsMayRepeat {
		v.add("phantom charge", "%s: the store holds %d %s in the window ending %s; the clients saw %d charged there and %d calls that failed", user, stored, what, rel(end), seen, maybe)
	}
}

// checkPassword checks that the stored hash is the password of a Confirm
// that no later successful Confirm superseded.
func (r *faultRun) checkPassword(v *violations, user faultUser, uops []*faultOp, hash string) {
	var setter *faultOp
	var succeeded []*faultOp
	for _, op := range uops {
		if op.isRecover() || op.weak() || op.panicked != nil || !(op.err == nil || op.internal()) {
			continue
		}
		if op.err == nil {
			succeeded = append(succeeded, op)
		}
		if ok, _ := r.hasher.Verify(op.password, hash); ok {
			setter = op
		}
	}
	switch {
	case setter != nil:
		for _, b := range succeeded {
			if b.start > setter.end {
				v.add("password change lost", "%s: the stored password is the one of %s, but %s began after it and succeeded", user.name, setter, b)
				return
			}
		}
	case len(succeeded) > 0:
		if ok, _ := r.hasher.Verify(user.initial, hash); ok {
			v.add("password change lost", "%s: the stored password is the initial one, but %s succeeded", user.name, succeeded[len(succeeded)-1])
		} else {
			v.add("password nobody set", "%s: the stored hash is the password of no Confirm", user.name)
		}
	default:
		if ok, _ := r.hasher.Verify(user.initial, hash); !ok {
			v.add("password nobody set", "%s: no Confirm succeeded, yet the stored hash is not the initial password", user.name)
		}
	}
}

// checkRetries cuts the backend while users confirm fresh codes, then
// retries every Confirm that failed with an internal error, with its code:
// the retry must succeed, unless the failed Confirm's password was applied
// (its reply lost), when the code must be used up. So a failure never
// wastes a code, and no code sets two passwords.
func (r *faultRun) checkRetries(ctx context.Context, v *violations, rep *FaultPhaseReport) {
	p := r.engine.Policy()
	r.advance(max(p.BudgetWindow, p.Cooldown, p.CodeLifetime) + time.Minute)
	users := r.users[:min(len(r.users), 20)]
	codes := make([]string, len(users))
	untilAnswered := func(f func(ctx context.Context) error) error {
		deadline := time.Now().Add(r.cfg.SettleTimeout)
		for {
			cctx, cancel := context.WithTimeout(ctx, r.cfg.OpTimeout)
			err := f(cctx)
			cancel()
			if !errors.Is(err, recovery.ErrInternal) || time.Now().After(deadline) {
				return err
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	for i, u := range users {
		if err := untilAnswered(func(ctx context.Context) error {
			_, err := r.engine.Recover(ctx, recovery.RecoverRequest{ClientID: "faults", Username: u.name})
			codes[i], _ = r.capture.LastCode(u.name)
			return err
		}); err != nil {
			v.add("not recovered", "Recover for %s before the retry check: %v", u.name, err)
			return
		}
	}
	confirm := func(ctx context.Context, i int, password string) error {
		return r.engine.Confirm(ctx, recovery.ConfirmRequest{ClientID: "faults", Username: users[i].name, ConfirmationCode: codes[i], Password: password})
	}
	type attempt struct {
		user     int
		password string
	}
	var failed []attempt
	r.cfg.Cut()
	cutAt := time.Now()
	for i := range users {
		password := fmt.Sprintf("Retry-%s-%d!pw", r.ph.name, r.pwSeq.Add(1))
		cctx, cancel := context.WithTimeout(ctx, r.cfg.OpTimeout)
		err := confirm(cctx, i, password)
		cancel()
		switch {
		case errors.Is(err, recovery.ErrInternal):
			failed = append(failed, attempt{i, password})
		case err != nil:
			v.add("unexpected error", "Confirm for %s with its fresh code during an outage: %v", users[i].name, err)
		}
	}
	if d := r.cfg.MinOutage - time.Since(cutAt); d > 0 {
		time.Sleep(d)
	}
	r.cfg.Restore()
	for _, a := range failed {
		u := users[a.user]
		rep.Retried++
		var hash string
		if err := r.retry(ctx, &rep.ReadErrors, func(ctx context.Context) (err error) {
			hash, err = r.cfg.PasswordHash(ctx, r.pool, u.sub)
			return err
		}); err != nil {
			r.t.Errorf("phase %s: reading the password hash of %s in the retry check: %v", r.ph.name, u.name, err)
			continue
		}
		applied, _ := r.hasher.Verify(a.password, hash)
		err := untilAnswered(func(ctx context.Context) error {
			return confirm(ctx, a.user, fmt.Sprintf("Retry-%s-%d!pw", r.ph.name, r.pwSeq.Add(1)))
		})
		switch {
		case applied && errors.Is(err, recovery.ErrExpiredCode):
			rep.RetriedApplied++
		case applied && err == nil:
			v.add("code set two passwords", "%s: a Confirm that failed with an internal error had set its password, yet its code set another", u.name)
		case err == nil:
			rep.RetriedOK++
		default:
			v.add("failed confirm wasted its code", "%s: retrying the code of a Confirm that failed with an internal error: %v", u.name, err)
		}
	}
}

// settle shows that the stores work again after the outages, untouched:
// every user completes a reset (internal errors retried within the settle
// timeout), then every user completes one more without any error, and the
// stored password is that last one.
func (r *faultRun) settle(ctx context.Context, v *violations, rep *FaultPhaseReport) {
	p := r.engine.Policy()
	pastAll := max(p.BudgetWindow, p.Cooldown, p.CodeLifetime) + time.Minute
	r.advance(pastAll)
	start := time.Now()
	deadline := start.Add(r.cfg.SettleTimeout)
	reset := func(user faultUser, password string) (step string, err error) {
		cctx, cancel := context.WithTimeout(ctx, r.cfg.OpTimeout)
		defer cancel()
		before := r.capture.Len()
		if _, err := r.engine.Recover(cctx, recovery.RecoverRequest{ClientID: "faults", Username: user.name}); err != nil {
			return "Recover", err
		}
		code, ok := r.capture.LastCode(user.name)
		if !ok || r.capture.Len() == before {
			return "Recover", errors.New("no code was sent")
		}
		return "Confirm", r.engine.Confirm(cctx, recovery.ConfirmRequest{ClientID: "faults", Username: user.name, ConfirmationCode: code, Password: password})
	}
	for _, user := range r.users {
		failed := false // an attempt for this user failed internally
		for {
			step, err := reset(user, "Settled-1-"+user.name+"!")
			if err == nil {
				break
			}
			// Internal errors are retried. So are a spent budget and a used
			// code after a failed attempt, or when calls may repeat: the
			// attempt may have been charged, or its code used, without an
			// answer saying so. The clock moves past both first.
			retried := errors.Is(err, recovery.ErrLimitExceeded) || errors.Is(err, recovery.ErrExpiredCode)
			if !errors.Is(err, recovery.ErrInternal) && !(retried && (failed || r.cfg.CallsMayRepeat)) {
				v.add("not recovered", "%s for %s after the outages: %v", step, user.name, err)
				break
			}
			failed = true
			rep.SettleErrors++
			if time.Now().After(deadline) {
				v.add("not recovered", "%s for %s still fails %s after the last restore: %v", step, user.name, r.cfg.SettleTimeout, err)
				return
			}
			r.advance(pastAll)
			time.Sleep(10 * time.Millisecond)
		}
	}
	rep.Settle = time.Since(start)
	r.advance(pastAll)
	for _, user := range r.users {
		password := "Settled-2-" + user.name + "!"
		if step, err := reset(user, password); err != nil {
			v.add("not recovered", "%s for %s, once every user had reset again: %v", step, user.name, err)
			continue
		}
		if r.cfg.PasswordHash == nil {
			continue
		}
		hash, err := r.cfg.PasswordHash(ctx, r.pool, user.sub)
		if err != nil {
			v.add("not recovered", "reading the password hash of %s, once every user had reset again: %v", user.name, err)
			continue
		}
		if ok, _ := r.hasher.Verify(password, hash); !ok {
			v.add("password change lost", "%s: after the faults, the stored password is not the one just set", user.name)
		}
	}
}
