package memstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/memstore"
)

func TestCodeStoreConformance(t *testing.T) {
	recoverytest.TestCodeStore(t, func(*testing.T) recovery.CodeStore { return memstore.NewCodeStore() })
}

func TestUserStoreConformance(t *testing.T) {
	recoverytest.TestUserStore(t, func(t *testing.T, seed []recoverytest.Seed) recovery.UserStore {
		s := memstore.NewUserStore()
		for _, u := range seed {
			if _, err := s.CreateUser(t.Context(), u.Pool, u.User, u.PasswordHash); err != nil {
				t.Fatalf("seeding %q: %v", u.User.Username, err)
			}
		}
		return s
	})
}

func TestLimiterConformance(t *testing.T) {
	recoverytest.TestRequestLimiter(t, func(*testing.T) recovery.RequestLimiter { return memstore.NewLimiter() })
}

// base is the injected time of the memory tests.
var base = time.Date(2026, 1, 2, 3, 4, 5, 678_000_000, time.UTC)

const manyUsers = 10_000

// fill issues a code to manyUsers distinct users at base: each record is
// dead by base+1h (code lifetime 10m, window 1h, cooldown 15m).
func fill(t *testing.T, s *memstore.CodeStore, limits recovery.CodeLimits) {
	t.Helper()
	ctx := t.Context()
	hash := recovery.KeyedHash{KeyID: "k1", Hash: make([]byte, 32)}
	for i := range manyUsers {
		out, err := s.Issue(ctx, recovery.IssueParams{Pool: "p", UserKey: fmt.Sprintf("u:%d", i), Code: hash,
			ExpiresAt: base.Add(10 * time.Minute), Now: base, Limits: limits})
		if err != nil || out != recovery.OutcomeOK {
			t.Fatalf("Issue for user %d: %v, %v", i, out, err)
		}
	}
	if n := s.Len(); n != manyUsers {
		t.Fatalf("Len() = %d after issuing codes to %d users, want %d", n, manyUsers, manyUsers)
	}
}

var shortLimits = recovery.CodeLimits{Budget: 5, FailureBudget: 5, Window: time.Hour, MaxFailures: 3, Cooldown: 15 * time.Minute}

// TestCodeStoreSweepsByItself checks that dead records go away through the
// store's own sweeps (every 1024 calls per shard), without SweepExpired.
func TestCodeStoreSweepsByItself(t *testing.T) {
	s := memstore.NewCodeStore()
	fill(t, s, shortLimits)
	ctx := t.Context()
	late := base.Add(2 * time.Hour)
	// Checks for users without a record create none; each shard sweeps at its
	// next multiple of 1024 calls. With 64 shards about 64*1024 calls reach
	// every shard; the bound leaves a wide margin for uneven hashing.
	const maxCalls = 64 * 1024 * 4
	calls := 0
	for ; calls < maxCalls && s.Len() > 0; calls += 1024 {
		for i := range 1024 {
			out, err := s.Check(ctx, recovery.CheckParams{Pool: "p", UserKey: fmt.Sprintf("probe:%d:%d", calls, i),
				Candidates: []recovery.KeyedHash{{KeyID: "k1", Hash: make([]byte, 32)}}, Now: late, Limits: shortLimits})
			if err != nil || out != recovery.OutcomeExpired {
				t.Fatalf("Check for a user without a code: %v, %v", out, err)
			}
		}
	}
	if n := s.Len(); n != 0 {
		t.Errorf("Len() = %d after %d more calls past every deadline, want 0", n, calls)
	}
	t.Logf("every record swept after %d calls", calls)
}

// TestCodeStoreSweepExpired checks that SweepExpired empties the store of
// dead records and keeps the live ones.
func TestCodeStoreSweepExpired(t *testing.T) {
	s := memstore.NewCodeStore()
	fill(t, s, shortLimits)
	ctx := t.Context()
	live := recovery.KeyedHash{KeyID: "k1", Hash: []byte("0123456789abcdef0123456789abcdef")}
	late := base.Add(2 * time.Hour)
	if out, err := s.Issue(ctx, recovery.IssueParams{Pool: "p", UserKey: "u:live", Code: live,
		ExpiresAt: late.Add(time.Hour), Now: late, Limits: shortLimits}); err != nil || out != recovery.OutcomeOK {
		t.Fatalf("Issue for the live user: %v, %v", out, err)
	}
	if n, err := s.SweepExpired(ctx, base.Add(30*time.Minute), 0); err != nil || n != 0 {
		t.Errorf("SweepExpired(base+30m, 0) = %d, %v, want 0 removed: no record is dead yet", n, err)
	}
	if n, err := s.SweepExpired(ctx, late, 100); err != nil || n != 100 {
		t.Errorf("SweepExpired(late, 100) = %d, %v, want 100 removed", n, err)
	}
	if n, err := s.SweepExpired(ctx, late, 0); err != nil || n != manyUsers-100 {
		t.Errorf("SweepExpired(late, 0) = %d, %v, want %d removed", n, err, manyUsers-100)
	}
	if n := s.Len(); n != 1 {
		t.Errorf("Len() = %d after sweeping, want 1 (the live user)", n)
	}
	out, err := s.Check(ctx, recovery.CheckParams{Pool: "p", UserKey: "u:live", Candidates: []recovery.KeyedHash{live},
		Consume: true, Now: late, Limits: shortLimits})
	if err != nil || out != recovery.OutcomeOK {
		t.Errorf("Check of the live user's code after sweeping = %v, %v, want ok", out, err)
	}
}

// TestCodeStoreForgetsRecordsOnAccess checks that a record whose deadline
// has passed is dropped when its own user calls, without any sweep.
func TestCodeStoreForgetsRecordsOnAccess(t *testing.T) {
	s := memstore.NewCodeStore()
	ctx := t.Context()
	hash := recovery.KeyedHash{KeyID: "k1", Hash: make([]byte, 32)}
	for i := range 100 {
		if _, err := s.Issue(ctx, recovery.IssueParams{Pool: "p", UserKey: fmt.Sprintf("u:%d", i), Code: hash,
			ExpiresAt: base.Add(10 * time.Minute), Now: base, Limits: shortLimits}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 100 {
		if _, err := s.Check(ctx, recovery.CheckParams{Pool: "p", UserKey: fmt.Sprintf("u:%d", i),
			Candidates: []recovery.KeyedHash{hash}, Now: base.Add(2 * time.Hour), Limits: shortLimits}); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.Len(); n != 0 {
		t.Errorf("Len() = %d after each user called past its record's deadline, want 0", n)
	}
}

// TestLimiterMemoryBounded checks that counters whose windows have passed
// are reclaimed (the limiter sweeps every 1024 calls).
func TestLimiterMemoryBounded(t *testing.T) {
	l := memstore.NewLimiter()
	ctx := context.Background()
	rate := recovery.Rate{Limit: 3, Window: time.Minute}
	for i := range manyUsers {
		ok, err := l.Allow(ctx, recovery.LimitRequest{Pool: "p", Keys: []recovery.LimitKey{{Key: fmt.Sprintf("ip:%d", i), Rate: rate}}, Now: base})
		if err != nil || !ok {
			t.Fatalf("Allow for key %d: %v, %v", i, ok, err)
		}
	}
	if n := l.Len(); n != manyUsers {
		t.Fatalf("Len() = %d after %d keys, want %d", n, manyUsers, manyUsers)
	}
	late := base.Add(3 * time.Minute) // two whole windows later
	probe := recovery.LimitKey{Key: "client:probe", Rate: recovery.Rate{Limit: 1 << 20, Window: time.Minute}}
	for range 1024 {
		if _, err := l.Allow(ctx, recovery.LimitRequest{Pool: "p", Keys: []recovery.LimitKey{probe}, Now: late}); err != nil {
			t.Fatal(err)
		}
	}
	if n := l.Len(); n != 1 {
		t.Errorf("Len() = %d after 1024 calls two windows later, want 1 (the probe key)", n)
	}
}

// TestCodeStoreDeadRecordsAreAbsent checks that a record whose deadline has
// passed behaves the same whether or not a sweep removed it: here, a failure
// streak from hours ago is forgotten either way.
func TestCodeStoreDeadRecordsAreAbsent(t *testing.T) {
	limits := recovery.CodeLimits{Budget: 100, FailureBudget: 100, Window: time.Hour, MaxFailures: 3, Cooldown: 15 * time.Minute}
	right := recovery.KeyedHash{KeyID: "k1", Hash: []byte("0123456789abcdef0123456789abcdef")}
	wrong := recovery.KeyedHash{KeyID: "k1", Hash: []byte("fedcba9876543210fedcba9876543210")}
	late := base.Add(3 * time.Hour) // past the code, the window and the cooldown
	for _, sweep := range []bool{false, true} {
		s := memstore.NewCodeStore()
		ctx := t.Context()
		issue := func(now time.Time) {
			t.Helper()
			if out, err := s.Issue(ctx, recovery.IssueParams{Pool: "p", UserKey: "u:1", Code: right, ExpiresAt: now.Add(10 * time.Minute), Now: now, Limits: limits}); err != nil || out != recovery.OutcomeOK {
				t.Fatalf("Issue at %v: %v, %v", now, out, err)
			}
		}
		check := func(now time.Time, code recovery.KeyedHash) recovery.Outcome {
			t.Helper()
			out, err := s.Check(ctx, recovery.CheckParams{Pool: "p", UserKey: "u:1", Candidates: []recovery.KeyedHash{code}, Consume: true, Now: now, Limits: limits})
			if err != nil {
				t.Fatalf("Check at %v: %v", now, err)
			}
			return out
		}
		issue(base)
		check(base.Add(time.Minute), wrong)
		check(base.Add(2*time.Minute), wrong)
		if sweep {
			if n, err := s.SweepExpired(ctx, late, 0); err != nil || n != 1 {
				t.Fatalf("SweepExpired = %d, %v, want 1", n, err)
			}
		}
		issue(late)
		if got := check(late, wrong); got != recovery.OutcomeMismatch {
			t.Errorf("swept %v: mismatch at late = %v, want mismatch", sweep, got)
		}
		if got := check(late, right); got != recovery.OutcomeOK {
			t.Errorf("swept %v: right code after one mismatch at late = %v, want ok: the streak of two failures hours ago must be forgotten", sweep, got)
		}
	}
}

// TestAnswersHideExistence: no single ForgotPassword answer tells an
// existing identifier from a missing one, on the memory stores.
func TestAnswersHideExistence(t *testing.T) {
	recoverytest.TestAnswersHideExistence(t, func(t *testing.T) (recovery.UserStore, recovery.CodeStore) {
		return memstore.NewUserStore(), memstore.NewCodeStore()
	}, nil)
}
