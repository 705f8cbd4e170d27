package faultload_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/internal/faultload"
	"github.com/recoverykit/recoverykit/store/memstore"
)

// recorder is a testing.TB that keeps the errors reported to it instead of
// failing the test, so a test can show that Run catches a broken store.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) Error(args ...any) { r.Errorf("%s", fmt.Sprint(args...)) }

// Log and Logf stay quiet: the report of a broken store is not news.
func (r *recorder) Log(...any)          {}
func (r *recorder) Logf(string, ...any) {}

// found counts the reports of one kind of violation.
func (r *recorder) found(kind string) int {
	return r.count(func(e string) bool { return strings.Contains(e, ": "+kind+": ") })
}

func (r *recorder) count(match func(string) bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.errs {
		if match(e) {
			n++
		}
	}
	return n
}

// mutant wraps a correct code store and breaks one promise.
type mutant struct {
	recovery.CodeStore
	issue func(p *recovery.IssueParams)
	check func(s recovery.CodeStore, ctx context.Context, p recovery.CheckParams) (recovery.Outcome, error)
}

func (m mutant) Issue(ctx context.Context, p recovery.IssueParams) (recovery.Outcome, error) {
	if m.issue != nil {
		m.issue(&p)
	}
	return m.CodeStore.Issue(ctx, p)
}

func (m mutant) Check(ctx context.Context, p recovery.CheckParams) (recovery.Outcome, error) {
	if m.check != nil {
		return m.check(m.CodeStore, ctx, p)
	}
	return m.CodeStore.Check(ctx, p)
}

// forgetfulUsers drops one password change in ten, answering success.
type forgetfulUsers struct{ *memstore.UserStore }

func (f forgetfulUsers) SetPassword(ctx context.Context, pool string, c recovery.PasswordChange) error {
	if rand.IntN(10) == 0 {
		return nil
	}
	return f.UserStore.SetPassword(ctx, pool, c)
}

// TestFaultLoadCatchesBrokenStores puts the load (Run) on stores that each
// break one promise, without outages, and checks that it reports that
// promise as broken. (It also reports, rightly, that outages that never happen prove
// nothing; those reports are not what is looked at here.)
func TestFaultLoadCatchesBrokenStores(t *testing.T) {
	recoverytest.OptIn(t, recoverytest.EnvFaults, "fault suite")
	tests := []struct {
		name      string
		codes     func(s recovery.CodeStore) recovery.CodeStore
		users     func(s *memstore.UserStore) recovery.UserStore
		repeat    bool // CallsMayRepeat
		retryable bool // FailedConfirmsRetryable; Cut and Restore take users down
		want      string
	}{{
		name: "AcceptsWrongCodes",
		codes: func(s recovery.CodeStore) recovery.CodeStore {
			return mutant{CodeStore: s, check: func(s recovery.CodeStore, ctx context.Context, p recovery.CheckParams) (recovery.Outcome, error) {
				out, err := s.Check(ctx, p)
				if out == recovery.OutcomeMismatch && rand.IntN(4) == 0 {
					return recovery.OutcomeOK, err
				}
				return out, err
			}}
		},
		want: "wrong code accepted",
	}, {
		name: "NeverConsumes",
		codes: func(s recovery.CodeStore) recovery.CodeStore {
			return mutant{CodeStore: s, check: func(s recovery.CodeStore, ctx context.Context, p recovery.CheckParams) (recovery.Outcome, error) {
				p.Consume = false
				return s.Check(ctx, p)
			}}
		},
		want: "dead code accepted",
	}, {
		name: "CodesLiveLonger",
		codes: func(s recovery.CodeStore) recovery.CodeStore {
			return mutant{CodeStore: s, issue: func(p *recovery.IssueParams) { p.ExpiresAt = p.ExpiresAt.Add(time.Hour) }}
		},
		want: "dead code accepted",
	}, {
		name: "BudgetTooBig",
		codes: func(s recovery.CodeStore) recovery.CodeStore {
			return mutant{CodeStore: s,
				issue: func(p *recovery.IssueParams) { p.Limits.Budget += 2; p.Limits.FailureBudget += 2 },
				check: func(s recovery.CodeStore, ctx context.Context, p recovery.CheckParams) (recovery.Outcome, error) {
					p.Limits.FailureBudget += 2
					return s.Check(ctx, p)
				}}
		},
		want: "budget overrun",
	}, {
		name: "LockTooShort",
		codes: func(s recovery.CodeStore) recovery.CodeStore {
			return mutant{CodeStore: s,
				issue: func(p *recovery.IssueParams) { p.Limits.Cooldown /= 5 },
				check: func(s recovery.CodeStore, ctx context.Context, p recovery.CheckParams) (recovery.Outcome, error) {
					p.Limits.Cooldown /= 5
					return s.Check(ctx, p)
				}}
		},
		want: "answered while locked",
	}, {
		name:  "LosesPasswordChanges",
		users: func(s *memstore.UserStore) recovery.UserStore { return forgetfulUsers{s} },
		want:  "password change lost",
	}, {
		name: "ChargesTwice",
		codes: func(s recovery.CodeStore) recovery.CodeStore {
			return mutant{CodeStore: s, check: func(s recovery.CodeStore, ctx context.Context, p recovery.CheckParams) (recovery.Outcome, error) {
				out, err := s.Check(ctx, p)
				if out == recovery.OutcomeMismatch {
					s.Check(ctx, p) // a retry after a lost reply, say
				}
				return out, err
			}}
		},
		want: "phantom charge",
	}, {
		name:      "WastesCodesOnFailedChanges",
		codes:     func(s recovery.CodeStore) recovery.CodeStore { return noRestore{s} },
		users:     func(s *memstore.UserStore) recovery.UserStore { return &downUsers{UserStore: s} },
		retryable: true,
		want:      "failed confirm wasted its code",
	}, {
		name:      "RestoresAfterFailedChanges", // a control for the one above
		users:     func(s *memstore.UserStore) recovery.UserStore { return &downUsers{UserStore: s} },
		retryable: true,
	}, {
		name: "Correct", // the control: nothing to report but the absent outages
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			codes, users := newLedger(memstore.NewCodeStore()), memstore.NewUserStore()
			var cs recovery.CodeStore = codes
			if tt.codes != nil {
				cs = tt.codes(codes)
			}
			var us recovery.UserStore = users
			if tt.users != nil {
				us = tt.users(users)
			}
			rec := &recorder{TB: t}
			cut, restore := func() {}, func() {}
			if d, ok := us.(*downUsers); ok {
				cut, restore = func() { d.down.Store(true) }, func() { d.down.Store(false) }
			}
			faultload.Run(rec, faultload.Config{
				Codes: cs, Users: us, Seed: users.CreateUser, PasswordHash: users.PasswordHash,
				Events: codes.Events, CallsMayRepeat: tt.repeat, FailedConfirmsRetryable: tt.retryable,
				Cut: cut, Restore: restore,
			})
			if tt.want == "" {
				if n := rec.count(func(e string) bool {
					return !strings.Contains(e, "did not bite") && !strings.Contains(e, "no code was accepted")
				}); n > 0 {
					t.Errorf("Run reported a correct store as broken:\n%s", strings.Join(rec.errs, "\n"))
				}
				return
			}
			if rec.found(tt.want) == 0 {
				t.Errorf("Run did not report %q; it reported:\n%s", tt.want, strings.Join(rec.errs, "\n"))
			}
		})
	}
}

// downUsers fails every SetPassword while down, before storing anything.
type downUsers struct {
	*memstore.UserStore
	down atomic.Bool
}

func (d *downUsers) SetPassword(ctx context.Context, pool string, c recovery.PasswordChange) error {
	if d.down.Load() {
		return errors.New("user store down")
	}
	return d.UserStore.SetPassword(ctx, pool, c)
}

// noRestore never restores a code.
type noRestore struct{ recovery.CodeStore }

func (noRestore) Restore(context.Context, recovery.RestoreParams) error { return nil }

// ledger wraps a correct code store and notes every charge (an Issue
// answered OK, a Check answered Mismatch), standing in for reading the
// store's records, which memstore does not expose.
type ledger struct {
	recovery.CodeStore
	mu               sync.Mutex
	issues, failures map[[2]string][]time.Time
}

func newLedger(s recovery.CodeStore) *ledger {
	return &ledger{CodeStore: s, issues: map[[2]string][]time.Time{}, failures: map[[2]string][]time.Time{}}
}

func (l *ledger) note(m map[[2]string][]time.Time, pool, key string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m[[2]string{pool, key}] = append(m[[2]string{pool, key}], at)
}

func (l *ledger) Issue(ctx context.Context, p recovery.IssueParams) (recovery.Outcome, error) {
	out, err := l.CodeStore.Issue(ctx, p)
	if out == recovery.OutcomeOK {
		l.note(l.issues, p.Pool, p.UserKey, p.Now)
	}
	return out, err
}

func (l *ledger) Check(ctx context.Context, p recovery.CheckParams) (recovery.Outcome, error) {
	out, err := l.CodeStore.Check(ctx, p)
	if out == recovery.OutcomeMismatch {
		l.note(l.failures, p.Pool, p.UserKey, p.Now)
	}
	return out, err
}

// Events is a faultload.Config.Events.
func (l *ledger) Events(_ context.Context, pool, key string) (issues, failures []time.Time, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := [2]string{pool, key}
	return append([]time.Time(nil), l.issues[k]...), append([]time.Time(nil), l.failures[k]...), nil
}
