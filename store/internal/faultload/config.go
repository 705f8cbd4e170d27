package faultload

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
)

// Config wires Run to the stores under test and to the way their
// backend is cut off and restored.
type Config struct {
	// Codes is the code store under test. Required.
	Codes recovery.CodeStore
	// Users is the user store the engine finds users in and sets passwords
	// through: the store under test, or a memstore.UserStore for a backend
	// that keeps no users. Required. Unless Seed is set it must implement
	// recovery.UserCreator, which Run then uses to create its users.
	Users recovery.UserStore
	// Seed creates a user with a password hash (made by
	// recoverytest.InsecureHasher) and returns it as stored, with its Sub.
	// Default: the CreateUser method of Users. Run seeds before the first
	// outage.
	Seed func(ctx context.Context, pool string, u recovery.User, passwordHash string) (recovery.User, error)
	// PasswordHash reads a user's current password hash straight from the
	// user store, by pool and sub (memstore's and pgxstore's PasswordHash
	// methods fit). Optional: without it the check that no password change
	// was lost is skipped, and Run logs so.
	PasswordHash func(ctx context.Context, pool, sub string) (string, error)
	// Events reads the times of the issues and of the failed checks the
	// code store holds for a user (pool and recovery.UserKey), in any
	// order; an absent record has none. Optional: with it Run
	// compares what the store holds with the charges the clients saw.
	Events func(ctx context.Context, pool, userKey string) (issues, failures []time.Time, err error)
	// FailedConfirmsRetryable says that a Confirm that failed with an
	// internal error leaves its code usable, unless its password change was
	// applied (its reply lost): true for a user store that consumes the
	// code in the transaction that sets the password
	// (recovery.CodeConsumingSetter, as pgxstore's with WithCodeStore).
	// Run then cuts the backend while users confirm fresh codes and
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
	// told or rebuilt. Both are required. Run calls them alternately,
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

// withDefaults fills in the zero fields that have a default.
func (c Config) withDefaults() Config {
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

// validate reports every field that makes the load impossible to run.
func (c Config) validate() error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("faultload: Config."+format, args...))
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
