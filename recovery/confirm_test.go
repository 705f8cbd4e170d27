package recovery_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/memstore"
)

// limitedHasher refuses passwords over 72 bytes, as bcrypt does, and says
// so through recovery.PasswordLengthLimiter.
type limitedHasher struct{ recoverytest.InsecureHasher }

func (limitedHasher) MaxPasswordBytes() int { return 72 }

func (h limitedHasher) Hash(pw string) (string, error) {
	if len(pw) > 72 {
		return "", errors.New("bcrypt: password length exceeds 72 bytes")
	}
	return h.InsecureHasher.Hash(pw)
}

func TestHasherLimitCheckedBeforeTheCodeIsUsed(t *testing.T) {
	e := newEnv(t, func(c *recovery.Config) { c.Hasher = limitedHasher{} })
	e.alice()
	e.recover("web", "alice")
	code := e.lastCode("alice")
	long := "Aa1!" + strings.Repeat("x", 80) // 84 characters
	wantErr(t, e.confirm("web", "alice", code, long), recovery.ErrInvalidPassword,
		"Password does not conform to policy: Password must be at most 72 bytes long")
	if err := e.confirm("web", "alice", code, "N3w-password!"); err != nil {
		t.Fatalf("the code after a refused long password: %v", err)
	}
}

func TestMaxLengthCheckedBeforeTheCodeIsUsed(t *testing.T) {
	e := newEnv(t, func(c *recovery.Config) { c.PasswordPolicy = recovery.PasswordPolicy{MaxLength: 20} })
	e.alice()
	e.recover("web", "alice")
	code := e.lastCode("alice")
	wantErr(t, e.confirm("web", "alice", code, "Aa1!"+strings.Repeat("a", 17)), recovery.ErrInvalidPassword,
		"Password does not conform to policy: Password must be at most 20 characters long")
	if err := e.confirm("web", "alice", code, "Aa1!"+strings.Repeat("a", 16)); err != nil {
		t.Fatal(err)
	}
}

// flakyHasher fails its first Hash.
type flakyHasher struct {
	recoverytest.InsecureHasher
	calls atomic.Int32
}

func (h *flakyHasher) Hash(pw string) (string, error) {
	if h.calls.Add(1) == 1 {
		return "", errors.New("hasher out of memory")
	}
	return h.InsecureHasher.Hash(pw)
}

func TestFailedHashLeavesTheCodeUsable(t *testing.T) {
	e := newEnv(t, func(c *recovery.Config) { c.Hasher = &flakyHasher{} })
	e.alice()
	e.recover("web", "alice")
	code := e.lastCode("alice")
	wantErr(t, e.confirm("web", "alice", code, "N3w-password!"), recovery.ErrInternal, "")
	if err := e.confirm("web", "alice", code, "N3w-password!"); err != nil {
		t.Fatalf("retrying with the same code after the hasher failed: %v", err)
	}
	wantErr(t, e.confirm("web", "alice", code, "Other-passw0rd!"), recovery.ErrExpiredCode, "")
}

// failingSetter fails SetPassword while fail > 0 (counting down), either
// before storing anything or after (a lost reply).
type failingSetter struct {
	*memstore.UserStore
	mu      sync.Mutex
	fail    int
	applied bool // store the change before failing
	reads   error
}

func (f *failingSetter) SetPassword(ctx context.Context, pool string, c recovery.PasswordChange) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail == 0 {
		return f.UserStore.SetPassword(ctx, pool, c)
	}
	f.fail--
	if f.applied {
		f.UserStore.SetPassword(ctx, pool, c)
	}
	return errors.New("connection reset by peer")
}

func (f *failingSetter) StoredPasswordHash(ctx context.Context, pool, sub string) (string, error) {
	if f.reads != nil {
		return "", f.reads
	}
	return f.UserStore.StoredPasswordHash(ctx, pool, sub)
}

func TestFailedPasswordChangeLeavesTheCodeUsable(t *testing.T) {
	e := newEnv(t)
	fs := &failingSetter{UserStore: e.users, fail: 1}
	e.cfg.Users = fs
	e.rebuild()
	e.alice()
	e.recover("web", "alice")
	code := e.lastCode("alice")
	wantErr(t, e.confirm("web", "alice", code, "N3w-password!"), recovery.ErrInternal, "")
	if err := e.confirm("web", "alice", code, "N3w-password!"); err != nil {
		t.Fatalf("retrying with the same code after SetPassword failed: %v", err)
	}
	wantErr(t, e.confirm("web", "alice", code, "Other-passw0rd!"), recovery.ErrExpiredCode, "")
}

// A change that was stored but whose reply was lost is a success: the code
// is not restored, so it cannot set a second password.
func TestAppliedPasswordChangeIsNotRepeated(t *testing.T) {
	e := newEnv(t)
	fs := &failingSetter{UserStore: e.users, fail: 1, applied: true}
	e.cfg.Users = fs
	e.rebuild()
	e.alice()
	e.recover("web", "alice")
	code := e.lastCode("alice")
	if err := e.confirm("web", "alice", code, "N3w-password!"); err != nil {
		t.Fatalf("a change stored before its reply was lost: %v, want success", err)
	}
	wantErr(t, e.confirm("web", "alice", code, "Other-passw0rd!"), recovery.ErrExpiredCode, "")

	// When the change cannot be read back either, the code stays used.
	fs.mu.Lock()
	fs.fail, fs.applied, fs.reads = 1, false, errors.New("still down")
	fs.mu.Unlock()
	e.recover("web", "alice")
	code = e.lastCode("alice")
	wantErr(t, e.confirm("web", "alice", code, "Third-passw0rd!"), recovery.ErrInternal, "")
	wantErr(t, e.confirm("web", "alice", code, "Third-passw0rd!"), recovery.ErrExpiredCode, "")
}

func TestConcurrentConfirmsOneSuccess(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail int
	}{{"healthy", 0}, {"SetPasswordFailsFirst", 3}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			fs := &failingSetter{UserStore: e.users, fail: tc.fail}
			e.cfg.Users = fs
			e.rebuild()
			e.alice()
			e.recover("web", "alice")
			code := e.lastCode("alice")
			var ok, internal, expired atomic.Int32
			var wg sync.WaitGroup
			for range 100 {
				wg.Go(func() {
					switch err := e.confirm("web", "alice", code, "N3w-password!"); {
					case err == nil:
						ok.Add(1)
					case errors.Is(err, recovery.ErrInternal):
						internal.Add(1)
					case errors.Is(err, recovery.ErrExpiredCode):
						expired.Add(1)
					default:
						t.Errorf("unexpected %v", err)
					}
				})
			}
			wg.Wait()
			if ok.Load() > 1 {
				t.Fatalf("%d successes with one code", ok.Load())
			}
			if ok.Load() == 0 && internal.Load() == 0 {
				t.Fatal("no success and no failure to retry")
			}
			for ok.Load() == 0 { // the failures left the code usable: a retry wins
				if err := e.confirm("web", "alice", code, "N3w-password!"); err == nil {
					ok.Add(1)
				} else if !errors.Is(err, recovery.ErrInternal) {
					t.Fatalf("retry: %v", err)
				}
			}
			wantErr(t, e.confirm("web", "alice", code, "N3w-password!"), recovery.ErrExpiredCode, "")
		})
	}
}

// countingHasher records how many hashes run at once.
type countingHasher struct {
	recoverytest.InsecureHasher
	now, peak atomic.Int32
}

func (h *countingHasher) Hash(pw string) (string, error) {
	n := h.now.Add(1)
	for p := h.peak.Load(); n > p && !h.peak.CompareAndSwap(p, n); p = h.peak.Load() {
	}
	time.Sleep(5 * time.Millisecond)
	h.now.Add(-1)
	return h.InsecureHasher.Hash(pw)
}

func TestMaxConcurrentHashes(t *testing.T) {
	h := &countingHasher{}
	e := newEnv(t, func(c *recovery.Config) { c.Hasher, c.MaxConcurrentHashes = h, 2 })
	var codes []string
	for i := range 12 {
		name := fmt.Sprintf("u%d", i)
		e.addUser(recovery.User{Username: name, Attributes: map[string]string{"email": name + "@example.com", "email_verified": "true"}})
		e.recover("web", name)
		codes = append(codes, e.lastCode(name))
	}
	var wg sync.WaitGroup
	for i, code := range codes {
		wg.Go(func() {
			if err := e.confirm("web", fmt.Sprintf("u%d", i), code, "N3w-password!"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if p := h.peak.Load(); p > 2 || p < 1 {
		t.Fatalf("%d hashes ran at once, want at most MaxConcurrentHashes 2", p)
	}
}
