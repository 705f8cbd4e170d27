package pgxstore_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/recoverykit/recoverykit/delivery/capturesender"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/pgxstore"
)

// testKey hashes codes in every engine of these tests, so two "instances"
// accept each other's codes.
var testKey = recovery.Key{ID: "k1", Secret: []byte("0123456789abcdef0123456789abcdef")}

const newPassword = "N3w-password!"

// instance is one app instance: an engine on its own pool with every
// pgxstore store, sharing the database (and schema) with the others.
type instance struct {
	engine  *recovery.Engine
	users   *pgxstore.UserStore
	codes   *pgxstore.CodeStore
	limiter *pgxstore.Limiter
	sender  *capturesender.Sender
}

func newInstance(t testing.TB, pool *pgxpool.Pool, opts pgxstore.Options, policy recovery.Policy) *instance {
	t.Helper()
	in := &instance{sender: capturesender.New()}
	in.codes = must[*pgxstore.CodeStore](t)(pgxstore.NewCodeStore(pool, opts))
	in.users = must[*pgxstore.UserStore](t)(pgxstore.NewUserStore(pool, opts)).WithCodeStore(in.codes)
	in.limiter = must[*pgxstore.Limiter](t)(pgxstore.NewLimiter(pool, opts))
	var limiter recovery.RequestLimiter
	if !policy.ClientRequests.IsZero() || !policy.IPRequests.IsZero() {
		limiter = in.limiter
	}
	e, err := recovery.New(recovery.Config{
		Users: in.users, Codes: in.codes, Limiter: limiter, Sender: in.sender,
		Outbox:  recovery.NewInlineOutbox(), // the tests read codes right after Recover
		Clients: []recovery.Client{{ID: "web"}, {ID: "legacy", RevealUserExistence: true}},
		Keys:    []recovery.Key{testKey},
		Hasher:  recoverytest.InsecureHasher{},
		Policy:  policy,
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	in.engine = e
	return in
}

func seedUser(t testing.TB, users *pgxstore.UserStore, name string) recovery.User {
	t.Helper()
	return must[recovery.User](t)(users.UpsertUser(context.Background(), recovery.DefaultPoolID, recovery.User{
		Username:   name,
		Attributes: map[string]string{recovery.AttrEmail: name + "@example.com", recovery.AttrEmailVerified: "true"},
	}, "insecure-sha256$old"))
}

// recoverCode runs Recover for name on in and returns the code it sent.
func recoverCode(t testing.TB, in *instance, name string) string {
	t.Helper()
	if _, err := in.engine.Recover(context.Background(), recovery.RecoverRequest{ClientID: "web", Username: name}); err != nil {
		t.Fatalf("Recover(%s): %v", name, err)
	}
	code, ok := in.sender.LastCode(name)
	if !ok {
		t.Fatalf("Recover(%s) sent nothing", name)
	}
	return code
}

// TestEngineEndToEnd runs the engine on the pgxstore stores: a reset from
// request to new password, the request limiter, and SetPassword
// invalidating an outstanding code.
func TestEngineEndToEnd(t *testing.T) {
	t.Parallel()
	pool := newPool(t, 4)
	opts := newSchema(t, pool)
	in := newInstance(t, pool, opts, recovery.Policy{ClientRequests: recovery.Rate{Limit: 6, Window: time.Hour}})
	ctx := t.Context()
	alice := seedUser(t, in.users, "alice")

	// 1. Recover, then Confirm: the password changes, the code is used up.
	d, err := in.engine.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "ALICE@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if d.DeliveryMedium != recovery.Email || !strings.HasPrefix(d.Destination, "a***@") {
		t.Errorf("Recover delivered to %+v", d)
	}
	code, _ := in.sender.LastCode("alice")
	if err := in.engine.Confirm(ctx, recovery.ConfirmRequest{ClientID: "web", Username: "alice", ConfirmationCode: code, Password: newPassword}); err != nil {
		t.Fatalf("Confirm: %v", err)
	}
	hash := must[string](t)(in.users.PasswordHash(ctx, recovery.DefaultPoolID, alice.Sub))
	if ok, _ := (recoverytest.InsecureHasher{}).Verify(newPassword, hash); !ok {
		t.Errorf("the stored hash %q is not the new password's", hash)
	}
	err = in.engine.Confirm(ctx, recovery.ConfirmRequest{ClientID: "web", Username: "alice", ConfirmationCode: code, Password: newPassword})
	if !errors.Is(err, recovery.ErrExpiredCode) {
		t.Errorf("second Confirm with the same code: %v, want ExpiredCodeException", err)
	}
	if h := must[[]string](t)(in.users.RecentPasswordHashes(ctx, recovery.DefaultPoolID, alice.Sub, 5)); len(h) != 2 || h[1] != "insecure-sha256$old" {
		t.Errorf("password history %q, want the new hash then the old one", h)
	}

	// 2. An outstanding code dies when the password is set by another
	// path: SetPassword updates the user and the code in one statement.
	code = recoverCode(t, in, "alice")
	if err := in.users.SetPassword(ctx, recovery.DefaultPoolID, recovery.PasswordChange{Sub: alice.Sub, PasswordHash: "insecure-sha256$admin", Status: recovery.StatusConfirmed}); err != nil {
		t.Fatal(err)
	}
	err = in.engine.Confirm(ctx, recovery.ConfirmRequest{ClientID: "web", Username: "alice", ConfirmationCode: code, Password: newPassword})
	if !errors.Is(err, recovery.ErrExpiredCode) {
		t.Errorf("Confirm of a code issued before SetPassword: %v, want ExpiredCodeException", err)
	}

	// 3. Wrong code, then the client's request limit (6 per hour; 5 used).
	err = in.engine.Confirm(ctx, recovery.ConfirmRequest{ClientID: "web", Username: "alice", ConfirmationCode: "000000", Password: newPassword})
	if !errors.Is(err, recovery.ErrCodeMismatch) && !errors.Is(err, recovery.ErrExpiredCode) {
		t.Errorf("Confirm of a wrong code: %v", err)
	}
	_, err = in.engine.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "alice"})
	if !errors.Is(err, recovery.ErrTooManyRequests) {
		t.Errorf("7th request of the client within the hour: %v, want TooManyRequestsException", err)
	}

	// 4. Unknown user, for a client that reveals existence:
	// UserNotFoundException.
	in2 := newInstance(t, pool, opts, recovery.Policy{})
	if _, err := in2.engine.Recover(ctx, recovery.RecoverRequest{ClientID: "legacy", Username: "nobody"}); !errors.Is(err, recovery.ErrUserNotFound) {
		t.Errorf("Recover(nobody): %v, want UserNotFoundException", err)
	}
}

// TestTwoInstancesOneUser hammers one user from two app instances, each
// with its own pool: 200 concurrent confirmations of the right code succeed
// exactly once, and 500 concurrent wrong guesses get exactly as many
// CodeMismatch answers as the budget has room for.
func TestTwoInstancesOneUser(t *testing.T) {
	t.Parallel()
	poolA, poolB := newPool(t, 8), newPool(t, 8)
	opts := newSchema(t, poolA)
	a := newInstance(t, poolA, opts, recovery.Policy{})
	b := newInstance(t, poolB, opts, recovery.Policy{})
	instances := []*instance{a, b}
	seedUser(t, a.users, "alice")
	seedUser(t, a.users, "bob")

	run := func(n int, f func(ctx context.Context, in *instance, i int) error) map[string]int {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		errs := make([]error, n)
		start := make(chan struct{})
		done := make(chan int)
		for i := range n {
			go func() {
				defer func() {
					if p := recover(); p != nil {
						errs[i] = fmt.Errorf("panic: %v", p)
					}
					done <- i
				}()
				<-start
				errs[i] = f(ctx, instances[i%2], i)
			}()
		}
		close(start)
		for range n {
			<-done
		}
		tally := map[string]int{}
		for _, err := range errs {
			var re *recovery.Error
			switch {
			case err == nil:
				tally["ok"]++
			case errors.As(err, &re):
				tally[string(re.Name)]++
			default:
				tally[err.Error()]++
			}
		}
		return tally
	}

	code := recoverCode(t, a, "alice")
	got := run(200, func(ctx context.Context, in *instance, _ int) error {
		return in.engine.Confirm(ctx, recovery.ConfirmRequest{ClientID: "web", Username: "alice", ConfirmationCode: code, Password: newPassword})
	})
	if got["ok"] != 1 || got["ExpiredCodeException"] != 199 {
		t.Errorf("200 concurrent confirmations of the right code from two instances: %v, want 1 ok and 199 ExpiredCodeException", got)
	}

	// FailureBudget 5: five failures, whatever the requests.
	code = recoverCode(t, b, "bob")
	got = run(500, func(ctx context.Context, in *instance, i int) error {
		wrong := fmt.Sprintf("%06d", i)
		if wrong == code {
			wrong = fmt.Sprintf("%06d", 500+i)
		}
		return in.engine.Confirm(ctx, recovery.ConfirmRequest{ClientID: "web", Username: "bob", ConfirmationCode: wrong, Password: newPassword})
	})
	if got["CodeMismatchException"] != 5 || got["LimitExceededException"] != 495 {
		t.Errorf("500 concurrent wrong guesses from two instances: %v, want 5 CodeMismatchException and 495 LimitExceededException", got)
	}
}

// TestTerminatedConfirmLeavesTheCodeUsable: the backend running the
// statement that consumes the code and sets the password is terminated in
// the middle of it. The statement is one transaction, so it rolls back as
// a whole: the caller gets InternalErrorException, the password is
// unchanged, and a retry with the same code succeeds, once.
func TestTerminatedConfirmLeavesTheCodeUsable(t *testing.T) {
	cfg := poolConfig(t, 2)
	app := "pgxstore-terminate-" + randomSchema()[len("pgxstore_test_"):]
	cfg.ConnConfig.RuntimeParams["application_name"] = app
	pool := openPool(t, cfg)
	opts := newSchema(t, pool)
	in := newInstance(t, pool, opts, recovery.Policy{})
	ctx := t.Context()
	alice := seedUser(t, in.users, "alice")
	code := recoverCode(t, in, "alice")

	// Make the password update sleep, so that it can be cut off mid-way.
	users := pgx.Identifier{opts.Schema, "recovery_users"}.Sanitize()
	slow := pgx.Identifier{opts.Schema, "slow_update"}.Sanitize()
	admin := newPool(t, 1)
	for _, sql := range []string{
		"CREATE FUNCTION " + slow + "() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(5); RETURN NEW; END $$",
		"CREATE TRIGGER slow_update BEFORE UPDATE ON " + users + " FOR EACH ROW EXECUTE FUNCTION " + slow + "()",
	} {
		if _, err := admin.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	confirm := func(password string) error {
		return in.engine.Confirm(ctx, recovery.ConfirmRequest{ClientID: "web", Username: "alice", ConfirmationCode: code, Password: password})
	}
	done := make(chan error, 1)
	go func() { done <- confirm("Cut-0ff-password!") }()
	var terminated bool
	for deadline := time.Now().Add(4 * time.Second); !terminated && time.Now().Before(deadline); {
		err := admin.QueryRow(ctx, `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) > 0 FROM pg_stat_activity
			WHERE application_name = $1 AND wait_event = 'PgSleep'`, app).Scan(&terminated)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !terminated {
		t.Fatal("the confirming statement was never seen sleeping")
	}
	if err := <-done; !errors.Is(err, recovery.ErrInternal) {
		t.Fatalf("Confirm whose backend was terminated: %v, want InternalErrorException", err)
	}
	if _, err := admin.Exec(ctx, "DROP TRIGGER slow_update ON "+users); err != nil {
		t.Fatal(err)
	}
	hash := must[string](t)(in.users.StoredPasswordHash(ctx, recovery.DefaultPoolID, alice.Sub))
	if ok, _ := (recoverytest.InsecureHasher{}).Verify("Cut-0ff-password!", hash); ok {
		t.Fatal("the password of the terminated Confirm was stored")
	}
	if err := confirm(newPassword); err != nil {
		t.Fatalf("retrying with the same code: %v", err)
	}
	if err := confirm("Yet-an0ther-pass!"); !errors.Is(err, recovery.ErrExpiredCode) {
		t.Fatalf("the code after the retry succeeded: %v, want ExpiredCodeException", err)
	}
}

// TestAnswersHideExistence: no single ForgotPassword answer tells an
// existing identifier from a missing one, on the Postgres stores.
func TestAnswersHideExistence(t *testing.T) {
	pool := newPool(t, 4)
	recoverytest.TestAnswersHideExistence(t, func(t *testing.T) (recovery.UserStore, recovery.CodeStore) {
		opts := newSchema(t, pool)
		codes := must[*pgxstore.CodeStore](t)(pgxstore.NewCodeStore(pool, opts))
		return must[*pgxstore.UserStore](t)(pgxstore.NewUserStore(pool, opts)).WithCodeStore(codes), codes
	}, nil)
}
