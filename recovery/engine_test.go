package recovery_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/store/memstore"
)

func asError(err error, target **recovery.Error) bool { return errors.As(err, target) }

func TestRecoverAndConfirm(t *testing.T) {
	e := newEnv(t)
	e.alice()

	d, err := e.recover("web", "ALICE")
	if err != nil {
		t.Fatal(err)
	}
	want := recovery.CodeDeliveryDetails{AttributeName: "email", DeliveryMedium: recovery.Email, Destination: "a***@e***"}
	if d != want {
		t.Fatalf("details = %+v, want %+v", d, want)
	}
	m, _ := e.sender.Last("alice")
	if m.To != "alice@example.com" || m.Medium != recovery.Email || m.Pool != pool || m.ClientID != "web" || m.Locale != "en" {
		t.Fatalf("message = %+v", m)
	}
	if !regexp.MustCompile(`^msg_[0-9a-f]{32}$`).MatchString(m.ID) {
		t.Fatalf("message id %q", m.ID)
	}
	if !regexp.MustCompile(`^\d{6}$`).MatchString(m.Code) {
		t.Fatalf("code %q is not 6 digits", m.Code)
	}
	if !strings.Contains(m.Text, m.Code) || !strings.Contains(m.HTML, m.Code) || !strings.Contains(m.Text, "Hello alice") || m.Subject == "" {
		t.Fatalf("message bodies do not carry the code and username: %q / %q", m.Text, m.HTML)
	}

	if err := e.confirm("web", "alice", m.Code, "N3w-password!"); err != nil {
		t.Fatal(err)
	}
	hash, _ := e.users.PasswordHash(e.ctx, pool, "alice")
	if ok, _ := e.cfg.Hasher.Verify("N3w-password!", hash); !ok {
		t.Fatal("the new password does not verify")
	}
	// Single use.
	wantErr(t, e.confirm("web", "alice", m.Code, "Another-passw0rd!"), recovery.ErrExpiredCode, "Invalid code provided, please request a code again.")
}

func TestRecoverDoesNotChangeStatusOrPassword(t *testing.T) {
	e := newEnv(t)
	e.alice()
	before, _ := e.users.PasswordHash(e.ctx, pool, "alice")
	if _, err := e.recover("web", "alice"); err != nil {
		t.Fatal(err)
	}
	after, _ := e.users.PasswordHash(e.ctx, pool, "alice")
	u, _ := e.users.FindUser(e.ctx, pool, recovery.UserQuery{Key: "alice"})
	if before != after || u.Status != recovery.StatusConfirmed {
		t.Fatal("ForgotPassword changed the password or the status")
	}
}

func TestClientAndSecret(t *testing.T) {
	e := newEnv(t)
	e.alice()
	_, err := e.recover("nope", "alice")
	wantErr(t, err, recovery.ErrResourceNotFound, "User pool client nope does not exist.")
	wantErr(t, e.confirm("nope", "alice", "123456", "Passw0rd!"), recovery.ErrResourceNotFound, "User pool client nope does not exist.")

	_, err = e.recover("private", "alice")
	wantErr(t, err, recovery.ErrNotAuthorized, "Client private is configured for secret but secret was not received")

	_, err = e.engine.Recover(e.ctx, recovery.RecoverRequest{ClientID: "private", Username: "alice", SecretHash: recovery.SecretHash("wrong", "alice", "private")})
	wantErr(t, err, recovery.ErrNotAuthorized, "Unable to verify secret hash for client private")

	// The hash covers the username exactly as sent.
	_, err = e.engine.Recover(e.ctx, recovery.RecoverRequest{ClientID: "private", Username: "ALICE", SecretHash: recovery.SecretHash(testSecret, "alice", "private")})
	wantErr(t, err, recovery.ErrNotAuthorized, "Unable to verify secret hash for client private")

	if _, err := e.engine.Recover(e.ctx, recovery.RecoverRequest{ClientID: "private", Username: "ALICE", SecretHash: recovery.SecretHash(testSecret, "ALICE", "private")}); err != nil {
		t.Fatal(err)
	}
	err = e.engine.Confirm(e.ctx, recovery.ConfirmRequest{ClientID: "private", Username: "alice", ConfirmationCode: e.lastCode("alice"), Password: "N3w-password!"})
	wantErr(t, err, recovery.ErrNotAuthorized, "Client private is configured for secret but secret was not received")
	err = e.engine.Confirm(e.ctx, recovery.ConfirmRequest{ClientID: "private", Username: "alice", SecretHash: recovery.SecretHash(testSecret, "alice", "private"), ConfirmationCode: e.lastCode("alice"), Password: "N3w-password!"})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSecretCheckedBeforeLookup: a wrong secret hash answers the same for a
// user who exists and one who does not, and never reaches the user store.
func TestSecretCheckedBeforeLookup(t *testing.T) {
	e := newEnv(t)
	e.alice()
	counting := &countingUsers{UserStore: e.users}
	e.cfg.Users = counting
	e.rebuild()
	_, err1 := e.engine.Recover(e.ctx, recovery.RecoverRequest{ClientID: "private", Username: "alice", SecretHash: "AAAA"})
	_, err2 := e.engine.Recover(e.ctx, recovery.RecoverRequest{ClientID: "private", Username: "ghost", SecretHash: "AAAA"})
	if err1.Error() != err2.Error() || counting.finds != 0 {
		t.Fatalf("errors %v / %v, %d lookups: want equal errors and no lookup", err1, err2, counting.finds)
	}
}

type countingUsers struct {
	recovery.UserStore
	mu    sync.Mutex
	finds int
}

func (c *countingUsers) FindUser(ctx context.Context, pool string, q recovery.UserQuery) (recovery.User, error) {
	c.mu.Lock()
	c.finds++
	c.mu.Unlock()
	return c.UserStore.FindUser(ctx, pool, q)
}

func TestUnknownUser(t *testing.T) {
	e := newEnv(t)
	_, err := e.recover("web", "ghost")
	wantErr(t, err, recovery.ErrUserNotFound, "Username/client id combination not found.")
	wantErr(t, e.confirm("web", "ghost", "123456", "N3w-password!"), recovery.ErrUserNotFound, "Username/client id combination not found.")
}

func TestHiddenExistence(t *testing.T) {
	e := newEnv(t)
	e.alice()

	d1, err := e.recover("quiet", "ghost")
	if err != nil {
		t.Fatalf("unknown user, existence hidden: %v", err)
	}
	d2, _ := e.recover("quiet", "GHOST")
	if d1 != d2 {
		t.Fatalf("simulated details differ between calls: %+v vs %+v", d1, d2)
	}
	phone, email := regexp.MustCompile(`^\+\*{7}\d{4}$`), regexp.MustCompile(`^[a-z]\*\*\*@[a-z]\*\*\*$`)
	switch {
	case d1.DeliveryMedium == recovery.SMS && d1.AttributeName == "phone_number" && phone.MatchString(d1.Destination):
	case d1.DeliveryMedium == recovery.Email && d1.AttributeName == "email" && email.MatchString(d1.Destination):
	default:
		t.Fatalf("simulated details %+v: want a masked phone number of 11 digits or a masked address", d1)
	}
	if e.sender.Len() != 0 {
		t.Fatal("a message was sent for an unknown user")
	}
	if d, _ := e.recover("quiet", "Ghost@Example.org"); !(d.Destination == "g***@e***" && d.DeliveryMedium == recovery.Email) && !(d.DeliveryMedium == recovery.SMS && phone.MatchString(d.Destination)) {
		t.Fatalf("email-like unknown identifier: %+v", d)
	}

	// Confirm for an unknown identifier: CodeMismatch once a code was
	// "issued", ExpiredCode when none ever was.
	wantErr(t, e.confirm("quiet", "ghost", "123456", "N3w-password!"), recovery.ErrCodeMismatch, "")
	wantErr(t, e.confirm("quiet", "never-asked", "123456", "N3w-password!"), recovery.ErrExpiredCode, "")

	// The budget applies to unknown identifiers at the same point: 2
	// requests so far, so 3 more pass, then the limit.
	for i := range 3 {
		if _, err := e.recover("quiet", "ghost"); err != nil {
			t.Fatalf("request %d: %v", i+3, err)
		}
	}
	_, err = e.recover("quiet", "ghost")
	wantErr(t, err, recovery.ErrLimitExceeded, "Attempt limit exceeded, please try after some time.")
}

// recordingCodes logs the shape of every CodeStore call.
type recordingCodes struct {
	recovery.CodeStore
	mu    sync.Mutex
	calls []string
}

func (r *recordingCodes) record(s string) {
	r.mu.Lock()
	r.calls = append(r.calls, s)
	r.mu.Unlock()
}

func (r *recordingCodes) Issue(ctx context.Context, p recovery.IssueParams) (recovery.Outcome, error) {
	r.record(fmt.Sprintf("Issue pool=%s keylen=%d key=%s hashlen=%d ttl=%s limits=%+v", p.Pool, len(p.UserKey), p.Code.KeyID, len(p.Code.Hash), p.ExpiresAt.Sub(p.Now), p.Limits))
	return r.CodeStore.Issue(ctx, p)
}

func (r *recordingCodes) Check(ctx context.Context, p recovery.CheckParams) (recovery.Outcome, error) {
	r.record(fmt.Sprintf("Check pool=%s keylen=%d cands=%d consume=%v limits=%+v", p.Pool, len(p.UserKey), len(p.Candidates), p.Consume, p.Limits))
	return r.CodeStore.Check(ctx, p)
}

func (r *recordingCodes) Revoke(ctx context.Context, pool, user string, code recovery.KeyedHash) error {
	r.record("Revoke")
	return r.CodeStore.Revoke(ctx, pool, user, code)
}

// TestEnabledSameStoreWork: with existence errors prevented, a known user, an
// unknown identifier, a disabled user and a user without a verified channel
// make the same code-store calls with parameters of the same shape.
func TestEnabledSameStoreWork(t *testing.T) {
	e := newEnv(t)
	rec := &recordingCodes{CodeStore: e.codes}
	e.cfg.Codes = rec
	e.rebuild()
	// Subs of the same length as the pseudonym keys' would be nicer, but
	// the key lengths are compared per kind below.
	e.addUser(recovery.User{Sub: strings.Repeat("a", 43), Username: "known", Attributes: map[string]string{"email": "k@example.com", "email_verified": "true"}})
	e.addUser(recovery.User{Sub: strings.Repeat("b", 43), Username: "disabled", Disabled: true, Attributes: map[string]string{"email": "d@example.com", "email_verified": "true"}})
	e.addUser(recovery.User{Sub: strings.Repeat("c", 43), Username: "unverified", Attributes: map[string]string{"email": "u@example.com"}})

	shape := func(name string, f func()) []string {
		rec.mu.Lock()
		rec.calls = nil
		rec.mu.Unlock()
		f()
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return append([]string(nil), rec.calls...)
	}
	var shapes [][]string
	for _, who := range []string{"known", "ghost", "disabled", "unverified"} {
		shapes = append(shapes, shape(who, func() {
			if _, err := e.recover("quiet", who); err != nil {
				t.Fatalf("Recover(%s): %v", who, err)
			}
			err := e.confirm("quiet", who, "000000", "N3w-password!")
			if !errors.Is(err, recovery.ErrCodeMismatch) {
				t.Fatalf("Confirm(%s, wrong code): %v, want CodeMismatch", who, err)
			}
		}))
	}
	for i := 1; i < len(shapes); i++ {
		if fmt.Sprint(shapes[i]) != fmt.Sprint(shapes[0]) {
			t.Errorf("store calls differ:\n known: %v\n other: %v", shapes[0], shapes[i])
		}
	}
}

func TestBudget(t *testing.T) {
	e := newEnv(t)
	e.alice()
	for i := range 5 {
		if _, err := e.recover("web", "alice"); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		e.clock.Advance(time.Minute)
	}
	_, err := e.recover("web", "alice")
	wantErr(t, err, recovery.ErrLimitExceeded, "Attempt limit exceeded, please try after some time.")
	// The code of the fifth request works: requests never use up the room
	// for checks.
	if err := e.confirm("web", "alice", e.lastCode("alice"), "N3w-password!"); err != nil {
		t.Fatalf("confirming the fifth code of the hour: %v", err)
	}
	_, err = e.recover("web", "alice")
	wantErr(t, err, recovery.ErrLimitExceeded, "")
	// The window rolls: an hour after the first request one slot frees up.
	e.clock.Advance(56 * time.Minute)
	if _, err := e.recover("web", "alice"); err != nil {
		t.Fatalf("after the window rolled: %v", err)
	}
}

func TestFailedConfirmsHaveTheirOwnBudget(t *testing.T) {
	e := newEnv(t, func(c *recovery.Config) { c.Policy.CodeLifetime = 2 * time.Hour })
	e.alice()
	if _, err := e.recover("web", "alice"); err != nil {
		t.Fatal(err)
	}
	code := e.lastCode("alice")
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	for range 5 {
		wantErr(t, e.confirm("web", "alice", wrong, "N3w-password!"), recovery.ErrCodeMismatch, "Invalid verification code provided, please try again.")
	}
	// 5 failures: even the right code is not compared now, and no new code
	// is sent, since it could not be checked.
	wantErr(t, e.confirm("web", "alice", code, "N3w-password!"), recovery.ErrLimitExceeded, "")
	_, err := e.recover("web", "alice")
	wantErr(t, err, recovery.ErrLimitExceeded, "")
	e.clock.Advance(time.Hour)
	if err := e.confirm("web", "alice", code, "N3w-password!"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestTooManyFailedAttempts(t *testing.T) {
	e := newEnv(t, func(c *recovery.Config) {
		c.Policy = recovery.Policy{Budget: 1000, CodeDigits: 8, MaxFailures: 3, Cooldown: time.Hour, CodeLifetime: 3 * time.Hour}
	})
	e.alice()
	e.recover("web", "alice")
	code := e.lastCode("alice")
	for range 3 {
		wantErr(t, e.confirm("web", "alice", "00000000", "N3w-password!"), recovery.ErrCodeMismatch, "")
	}
	err := e.confirm("web", "alice", code, "N3w-password!")
	wantErr(t, err, recovery.ErrTooManyFailedAttempts, "")
	if !strings.Contains(err.Error(), "1h0m0s") {
		t.Errorf("the lock message should say how long it lasts: %v", err)
	}
	// ForgotPassword has no TooManyFailedAttempts in Cognito's model.
	_, err = e.recover("web", "alice")
	wantErr(t, err, recovery.ErrLimitExceeded, "")
	e.clock.Advance(time.Hour)
	if err := e.confirm("web", "alice", code, "N3w-password!"); err != nil {
		t.Fatalf("after the cool-down: %v", err)
	}
}

func TestExpiry(t *testing.T) {
	e := newEnv(t)
	e.alice()
	e.recover("web", "alice")
	code := e.lastCode("alice")
	e.clock.Advance(time.Hour)
	wantErr(t, e.confirm("web", "alice", code, "N3w-password!"), recovery.ErrExpiredCode, "Invalid code provided, please request a code again.")
}

func TestLatestCodeWins(t *testing.T) {
	e := newEnv(t)
	e.alice()
	e.recover("web", "alice")
	first := e.lastCode("alice")
	e.recover("web", "alice")
	second := e.lastCode("alice")
	if first != second {
		wantErr(t, e.confirm("web", "alice", first, "N3w-password!"), recovery.ErrCodeMismatch, "")
	}
	if err := e.confirm("web", "alice", second, "N3w-password!"); err != nil {
		t.Fatal(err)
	}
}

func TestWeakPasswordKeepsTheCode(t *testing.T) {
	e := newEnv(t)
	e.alice()
	e.recover("web", "alice")
	code := e.lastCode("alice")
	for _, tc := range []struct{ pw, msg string }{
		{"Sh0rt!", "Password does not conform to policy: Password not long enough"},
		{"lower-case-0nly", "Password does not conform to policy: Password must have uppercase characters"},
		{"UPPER-CASE-0NLY", "Password does not conform to policy: Password must have lowercase characters"},
		{"No-Digits-Here", "Password does not conform to policy: Password must have numeric characters"},
		{"NoSymbols1234", "Password does not conform to policy: Password must have symbol characters"},
	} {
		wantErr(t, e.confirm("web", "alice", code, tc.pw), recovery.ErrInvalidPassword, tc.msg)
	}
	// Five weak attempts with the right code charged nothing: the budget
	// (1 used) still allows a wrong guess, and the code still works.
	wantErr(t, e.confirm("web", "alice", "000000", "N3w-password!"), recovery.ErrCodeMismatch, "")
	if err := e.confirm("web", "alice", code, "N3w-password!"); err != nil {
		t.Fatal(err)
	}
	// A weak password with a wrong code is a code mismatch: the code is
	// checked first.
	e.recover("web", "alice")
	wantErr(t, e.confirm("web", "alice", "000000", "weak"), recovery.ErrCodeMismatch, "")
}

func TestCustomPasswordPolicy(t *testing.T) {
	e := newEnv(t, func(c *recovery.Config) {
		c.PasswordPolicy = recovery.PasswordPolicy{MinLength: 12, OptionalUppercase: true, OptionalNumbers: true, OptionalSymbols: true}
	})
	e.alice()
	e.recover("web", "alice")
	code := e.lastCode("alice")
	wantErr(t, e.confirm("web", "alice", code, "shortpass"), recovery.ErrInvalidPassword, "Password does not conform to policy: Password not long enough")
	if err := e.confirm("web", "alice", code, "alllowercaseisfine"); err != nil {
		t.Fatal(err)
	}
}

func TestPasswordHistory(t *testing.T) {
	e := newEnv(t, func(c *recovery.Config) {
		c.PasswordPolicy = recovery.PasswordPolicy{HistorySize: 2}
	})
	e.alice()
	e.recover("web", "alice")
	code := e.lastCode("alice")
	// The current password counts as history.
	wantErr(t, e.confirm("web", "alice", code, "Initial-passw0rd"), recovery.ErrPasswordHistoryPolicyViolation, "")
	// Nothing was consumed or charged.
	if err := e.confirm("web", "alice", code, "Second-passw0rd"); err != nil {
		t.Fatal(err)
	}
	e.recover("web", "alice")
	wantErr(t, e.confirm("web", "alice", e.lastCode("alice"), "Initial-passw0rd"), recovery.ErrPasswordHistoryPolicyViolation, "")
	e.recover("web", "alice")
	if err := e.confirm("web", "alice", e.lastCode("alice"), "Third-passw0rd"); err != nil {
		t.Fatal(err)
	}
	// With HistorySize 2, the initial password has left the history.
	e.clock.Advance(time.Hour)
	e.recover("web", "alice")
	if err := e.confirm("web", "alice", e.lastCode("alice"), "Initial-passw0rd"); err != nil {
		t.Fatalf("a password older than the history: %v", err)
	}
}

func TestResetRequiredBecomesConfirmed(t *testing.T) {
	e := newEnv(t)
	u := e.addUser(recovery.User{Username: "bob", Status: recovery.StatusResetRequired, Attributes: map[string]string{"email": "bob@example.com", "email_verified": "true"}})
	if _, err := e.recover("web", "bob"); err != nil {
		t.Fatal(err)
	}
	if err := e.confirm("web", "bob", e.lastCode("bob"), "N3w-password!"); err != nil {
		t.Fatal(err)
	}
	got, _ := e.users.FindUser(e.ctx, pool, recovery.UserQuery{Key: u.Sub})
	if got.Status != recovery.StatusConfirmed {
		t.Fatalf("status = %s, want CONFIRMED", got.Status)
	}
}

// TestUserStates: which user states may reset, for clients that reveal
// and that hide user existence.
func TestUserStates(t *testing.T) {
	verified := map[string]string{"email": "x@example.com", "email_verified": "true"}
	for _, tc := range []struct {
		name    string
		user    recovery.User
		kind    error
		message string
	}{
		{"confirmed", recovery.User{Status: recovery.StatusConfirmed, Attributes: verified}, nil, ""},
		{"reset required", recovery.User{Status: recovery.StatusResetRequired, Attributes: verified}, nil, ""},
		{"nothing verified", recovery.User{Status: recovery.StatusConfirmed, Attributes: map[string]string{"email": "x@example.com"}}, recovery.ErrInvalidParameter, "Cannot reset password for the user as there is no registered/verified email or phone_number"},
		{"unconfirmed", recovery.User{Status: recovery.StatusUnconfirmed, Attributes: verified}, recovery.ErrInvalidParameter, "Cannot reset password for the user as there is no registered/verified email or phone_number"},
		{"force change password", recovery.User{Status: recovery.StatusForceChangePassword, Attributes: verified}, recovery.ErrNotAuthorized, "User password cannot be reset in the current state."},
		{"external provider", recovery.User{Status: recovery.StatusExternalProvider, Attributes: verified}, recovery.ErrNotAuthorized, "User password cannot be reset in the current state."},
		{"disabled", recovery.User{Disabled: true, Status: recovery.StatusConfirmed, Attributes: verified}, recovery.ErrNotAuthorized, "User is disabled."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			tc.user.Username = "user"
			e.addUser(tc.user)
			_, err := e.recover("web", "user")
			if tc.kind == nil {
				if err != nil || e.sender.Len() != 1 {
					t.Fatalf("LEGACY: err %v, %d messages: want a code sent", err, e.sender.Len())
				}
			} else {
				wantErr(t, err, tc.kind, tc.message)
			}
			e.sender.Reset()
			d, err := e.recover("quiet", "user")
			if err != nil || d.Destination == "" {
				t.Fatalf("ENABLED: %+v, %v: want a (real or simulated) answer", d, err)
			}
			if sent := e.sender.Len() == 1; sent != (tc.kind == nil) {
				t.Fatalf("ENABLED: sent=%v, want %v", sent, tc.kind == nil)
			}
		})
	}
}

func TestConfirmUserStates(t *testing.T) {
	e := newEnv(t)
	u := e.alice()
	e.recover("web", "alice")
	code := e.lastCode("alice")

	u.Disabled = true
	e.users.UpdateUser(e.ctx, pool, u)
	wantErr(t, e.confirm("web", "alice", code, "N3w-password!"), recovery.ErrNotAuthorized, "User is disabled.")
	// With ENABLED the right code does not work for a disabled user either,
	// and the answer does not say why.
	wantErr(t, e.confirm("quiet", "alice", code, "N3w-password!"), recovery.ErrCodeMismatch, "")

	u.Disabled, u.Status = false, recovery.StatusUnconfirmed
	e.users.UpdateUser(e.ctx, pool, u)
	wantErr(t, e.confirm("web", "alice", code, "N3w-password!"), recovery.ErrUserNotConfirmed, "User is not confirmed.")
}

func TestChannelChoice(t *testing.T) {
	both := map[string]string{
		"email": "c@example.com", "email_verified": "true",
		"phone_number": "+15555550123", "phone_number_verified": "true",
	}
	for _, tc := range []struct {
		name     string
		setting  []recovery.RecoveryMechanism
		user     recovery.User
		medium   recovery.DeliveryMedium
		noneLeft bool
	}{
		{"legacy prefers phone", nil, recovery.User{Attributes: both}, recovery.SMS, false},
		{"email first", []recovery.RecoveryMechanism{recovery.VerifiedEmail, recovery.VerifiedPhoneNumber}, recovery.User{Attributes: both}, recovery.Email, false},
		{"phone first", []recovery.RecoveryMechanism{recovery.VerifiedPhoneNumber, recovery.VerifiedEmail}, recovery.User{Attributes: both}, recovery.SMS, false},
		{"fallback to second", []recovery.RecoveryMechanism{recovery.VerifiedPhoneNumber, recovery.VerifiedEmail}, recovery.User{Attributes: map[string]string{"email": "c@example.com", "email_verified": "true", "phone_number": "+15555550123"}}, recovery.Email, false},
		{"sms mfa excludes sms", nil, recovery.User{Attributes: both, SMSMFA: true}, recovery.Email, false},
		{"email mfa excludes email", []recovery.RecoveryMechanism{recovery.VerifiedEmail}, recovery.User{Attributes: both, EmailMFA: true}, "", true},
		{"only email configured", []recovery.RecoveryMechanism{recovery.VerifiedEmail}, recovery.User{Attributes: map[string]string{"phone_number": "+15555550123", "phone_number_verified": "true"}}, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *recovery.Config) { c.AccountRecovery = tc.setting })
			tc.user.Username, tc.user.Disabled = "carol", false
			e.addUser(tc.user)
			d, err := e.recover("web", "carol")
			if tc.noneLeft {
				wantErr(t, err, recovery.ErrInvalidParameter, "Cannot reset password for the user as there is no registered/verified email or phone_number")
				return
			}
			if err != nil || d.DeliveryMedium != tc.medium {
				t.Fatalf("got %+v, %v; want %s", d, err, tc.medium)
			}
			if tc.medium == recovery.SMS {
				if d.Destination != "+*******0123" || d.AttributeName != "phone_number" {
					t.Fatalf("SMS details %+v", d)
				}
				if m, _ := e.sender.Last("carol"); m.Text == "" || !strings.Contains(m.Text, m.Code) || m.HTML != "" || m.Subject != "" {
					t.Fatalf("SMS message %+v", m)
				}
			}
		})
	}
}

func TestAdminOnlyAndDisabled(t *testing.T) {
	e := newEnv(t, func(c *recovery.Config) { c.AccountRecovery = []recovery.RecoveryMechanism{recovery.AdminOnly} })
	e.alice()
	_, err1 := e.recover("web", "alice")
	_, err2 := e.recover("web", "ghost")
	wantErr(t, err1, recovery.ErrNotAuthorized, "Contact administrator to reset password.")
	wantErr(t, err2, recovery.ErrNotAuthorized, "Contact administrator to reset password.")

	e = newEnv(t, func(c *recovery.Config) { c.RecoveryDisabled = true })
	_, err := e.recover("web", "alice")
	wantErr(t, err, recovery.ErrOperationNotEnabled, "")
	wantErr(t, e.confirm("web", "alice", "123456", "N3w-password!"), recovery.ErrOperationNotEnabled, "")
}

func TestLookupByAliasAndSub(t *testing.T) {
	e := newEnv(t)
	u := e.addUser(recovery.User{Username: "dave", Attributes: map[string]string{
		"email": "Dave@Example.com", "email_verified": "true", "preferred_username": "DaveTheBrave",
		"phone_number": "+15555550142", "phone_number_verified": "true",
	}})
	for _, id := range []string{"dave@example.com", "davethebrave", "+15555550142", u.Sub, "ＤＡＶＥ"} {
		if _, err := e.recover("web", id); err != nil {
			t.Errorf("Recover(%q): %v", id, err)
		}
		e.clock.Advance(time.Hour) // keep within the budget
	}
	// An unverified alias does not identify anyone.
	e.addUser(recovery.User{Username: "erin", Attributes: map[string]string{"email": "erin@example.com"}})
	_, err := e.recover("web", "erin@example.com")
	wantErr(t, err, recovery.ErrUserNotFound, "")
}

func TestCaseSensitivePool(t *testing.T) {
	e := newEnv(t, func(c *recovery.Config) { c.CaseSensitive = true })
	e.alice()
	_, err := e.recover("web", "Alice")
	wantErr(t, err, recovery.ErrUserNotFound, "")
	if _, err := e.recover("web", "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.recover("web", "alice@example.com"); err != nil {
		t.Fatal(err)
	}
}

func TestThrottle(t *testing.T) {
	e := newEnv(t, func(c *recovery.Config) {
		c.Limiter = memstore.NewLimiter()
		c.Policy.IPRequests = recovery.Rate{Limit: 2, Window: time.Minute}
		c.Policy.ClientRequests = recovery.Rate{Limit: 3, Window: time.Minute}
	})
	e.alice()
	from := func(addr string) netip.Addr { return netip.MustParseAddr(addr) }
	recoverFrom := func(addr string) error {
		_, err := e.engine.Recover(e.ctx, recovery.RecoverRequest{ClientID: "web", Username: "alice", SourceIP: from(addr)})
		return err
	}
	for i := range 2 {
		if err := recoverFrom("192.0.2.1"); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	wantErr(t, recoverFrom("192.0.2.1"), recovery.ErrTooManyRequests, "Too many requests")
	// Another address passes until the client limit (3 per minute) is reached.
	if err := e.engine.Confirm(e.ctx, recovery.ConfirmRequest{ClientID: "web", Username: "alice", ConfirmationCode: e.lastCode("alice"), Password: "N3w-password!", SourceIP: from("192.0.2.2")}); err != nil {
		t.Fatal(err)
	}
	wantErr(t, recoverFrom("192.0.2.3"), recovery.ErrTooManyRequests, "")
	e.clock.Advance(2 * time.Minute)
	if err := recoverFrom("192.0.2.3"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

// TestThrottleAddresses: UserContextData.IpAddress counts only for a client
// trusted to send it, and only when it is an address; IPv6 counts per /64;
// requests without an address share one counter.
func TestThrottleAddresses(t *testing.T) {
	e := newEnv(t, func(c *recovery.Config) {
		c.Limiter = memstore.NewLimiter()
		c.Policy.IPRequests = recovery.Rate{Limit: 3, Window: time.Minute}
		c.Policy.Budget = 1000
		c.Policy.CodeDigits = 10
		c.Clients = append(c.Clients, recovery.Client{ID: "backend", Secret: testSecret, TrustUserContextIP: true, RevealUserExistence: true})
	})
	e.alice()
	try := func(client, source, claimed string) error {
		req := recovery.RecoverRequest{ClientID: client, Username: "alice", UserContextData: &recovery.UserContextData{IPAddress: claimed}}
		if source != "" {
			req.SourceIP = netip.MustParseAddr(source)
		}
		if client == "backend" {
			req.SecretHash = recovery.SecretHash(testSecret, "alice", client)
		}
		_, err := e.engine.Recover(e.ctx, req)
		return err
	}
	limited := func(what string, n int, f func(i int) error) {
		t.Helper()
		for i := range n {
			if err := f(i); err != nil {
				t.Fatalf("%s, request %d: %v", what, i+1, err)
			}
		}
		wantErr(t, f(n), recovery.ErrTooManyRequests, "")
		e.clock.Advance(2 * time.Minute) // the limiter's window may slide over two fixed ones
	}
	limited("an untrusted client making up addresses", 3, func(i int) error {
		return try("web", "198.51.100.7", fmt.Sprintf("10.0.0.%d", i))
	})
	limited("an untrusted client sending junk and 4 KiB values", 3, func(i int) error {
		return try("web", "198.51.100.7", []string{"not-an-ip-7", strings.Repeat("1", 4096), "", "::1"}[i])
	})
	limited("one IPv6 /64", 3, func(i int) error {
		return try("web", fmt.Sprintf("2001:db8:1:2::%x", i+1), "")
	})
	limited("no address at all", 3, func(i int) error { return try("web", "", "") })
	limited("a trusted client reporting one end user", 3, func(i int) error {
		return try("backend", fmt.Sprintf("192.0.2.%d", i+1), "203.0.113.9")
	})
	limited("a trusted client reporting junk (the source counts)", 3, func(i int) error {
		return try("backend", "192.0.2.50", []string{"junk", strings.Repeat("a", 4096), "999.1.1.1", "x"}[i])
	})
	for i := range 5 {
		if err := try("backend", "192.0.2.60", fmt.Sprintf("203.0.113.%d", 20+i)); err != nil {
			t.Fatalf("a trusted client reporting different end users, request %d: %v", i+1, err)
		}
	}
	cfg := e.cfg
	cfg.Clients = []recovery.Client{{ID: "x", TrustUserContextIP: true}}
	cfg.Outbox = nil
	if _, err := recovery.New(cfg); err == nil || !strings.Contains(err.Error(), "TrustUserContextIP without a Secret") {
		t.Fatalf("New with TrustUserContextIP and no secret: %v", err)
	}
}

func TestDeliveryFailureLeavesNoUsableCode(t *testing.T) {
	e := newEnv(t)
	e.alice()
	// A code that went out earlier...
	e.recover("web", "alice")
	// ...is replaced by one whose delivery fails, and that one is revoked.
	var captured string
	e.cfg.Sender = recovery.SenderFunc(func(ctx context.Context, m recovery.Message) error {
		captured = m.Code
		return errors.New("smtp: 451 try later")
	})
	e.rebuild()
	_, err := e.recover("web", "alice")
	wantErr(t, err, recovery.ErrCodeDeliveryFailure, "")
	if errors.Unwrap(err) == nil || !strings.Contains(errors.Unwrap(err).Error(), "451") {
		t.Fatalf("the cause should be wrapped for logs: %v", errors.Unwrap(err))
	}
	wantErr(t, e.confirm("web", "alice", captured, "N3w-password!"), recovery.ErrExpiredCode, "")
}

func TestSenderMisconfiguration(t *testing.T) {
	for _, tc := range []struct {
		medium recovery.DeliveryMedium
		cause  error
		kind   error
	}{
		{recovery.SMS, recovery.ErrDeliveryUnauthorized, recovery.ErrInvalidSmsRoleTrustRelationship},
		{recovery.SMS, recovery.ErrDeliveryForbidden, recovery.ErrInvalidSmsRoleAccessPolicy},
		{recovery.Email, recovery.ErrDeliveryUnauthorized, recovery.ErrInvalidEmailRoleAccessPolicy},
		{recovery.Email, recovery.ErrDeliveryForbidden, recovery.ErrInvalidEmailRoleAccessPolicy},
		{recovery.Email, errors.New("boom"), recovery.ErrCodeDeliveryFailure},
	} {
		e := newEnv(t)
		e.sender.Fail(fmt.Errorf("gateway said no: %w", tc.cause))
		attrs := map[string]string{"email": "f@example.com", "email_verified": "true"}
		if tc.medium == recovery.SMS {
			attrs = map[string]string{"phone_number": "+15555550100", "phone_number_verified": "true"}
		}
		e.addUser(recovery.User{Username: "frank", Attributes: attrs})
		_, err := e.recover("web", "frank")
		wantErr(t, err, tc.kind, "")
	}
}

func TestStoreFailureIsInternalError(t *testing.T) {
	e := newEnv(t)
	e.alice()
	boom := errors.New("connection reset by peer")
	e.cfg.Codes = failingCodes{boom}
	e.rebuild()
	_, err := e.recover("web", "alice")
	wantErr(t, err, recovery.ErrInternal, "Internal error.")
	if !errors.Is(err, boom) {
		t.Fatal("the store's error should be wrapped")
	}
	if strings.Contains(err.Error(), "connection reset") {
		t.Fatal("the cause must not reach the message")
	}
	var re *recovery.Error
	errors.As(err, &re)
	if re.ErrorFault() != "server" || re.ErrorCode() != "InternalErrorException" {
		t.Fatalf("fault %s code %s", re.ErrorFault(), re.ErrorCode())
	}
}

type failingCodes struct{ err error }

func (f failingCodes) Issue(context.Context, recovery.IssueParams) (recovery.Outcome, error) {
	return 0, f.err
}
func (f failingCodes) Check(context.Context, recovery.CheckParams) (recovery.Outcome, error) {
	return 0, f.err
}
func (f failingCodes) Revoke(context.Context, string, string, recovery.KeyedHash) error { return f.err }
func (f failingCodes) Restore(context.Context, recovery.RestoreParams) error            { return f.err }

func TestKeyRotation(t *testing.T) {
	e := newEnv(t)
	e.alice()
	e.recover("web", "alice")
	code := e.lastCode("alice")
	k2 := recovery.Key{ID: "k2", Secret: []byte(strings.Repeat("z", 32))}

	e.cfg.Keys = []recovery.Key{k2} // k1 retired too early: the code no longer verifies
	e.rebuild()
	wantErr(t, e.confirm("web", "alice", code, "N3w-password!"), recovery.ErrCodeMismatch, "")

	e.cfg.Keys = []recovery.Key{k2, testKey} // k2 new, k1 still accepted
	e.rebuild()
	if err := e.confirm("web", "alice", code, "N3w-password!"); err != nil {
		t.Fatalf("a code hashed with the previous key: %v", err)
	}
	// New codes use k2 and verify under k2 alone.
	e.recover("web", "alice")
	code = e.lastCode("alice")
	e.cfg.Keys = []recovery.Key{k2}
	e.rebuild()
	if err := e.confirm("web", "alice", code, "Other-passw0rd!"); err != nil {
		t.Fatal(err)
	}
}

func TestContextCancelled(t *testing.T) {
	e := newEnv(t)
	e.alice()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := e.engine.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "alice"})
	wantErr(t, err, recovery.ErrInternal, "")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want the context error wrapped: %v", err)
	}
}

func TestConcurrentConfirmsOneWinner(t *testing.T) {
	e := newEnv(t, func(c *recovery.Config) { c.Policy.Budget = 5 })
	e.alice()
	e.recover("web", "alice")
	code := e.lastCode("alice")
	var wg sync.WaitGroup
	var mu sync.Mutex
	results := map[string]int{}
	for range 100 {
		wg.Go(func() {
			err := e.confirm("web", "alice", code, "N3w-password!")
			name := "ok"
			var re *recovery.Error
			if errors.As(err, &re) {
				name = string(re.Name)
			}
			mu.Lock()
			results[name]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if results["ok"] != 1 || results["ExpiredCodeException"] != 99 {
		t.Fatalf("results %v: want exactly one success", results)
	}
}

func TestGuessProbabilityCeiling(t *testing.T) {
	_, err := recovery.New(recovery.Config{
		Users: memstore.NewUserStore(), Codes: memstore.NewCodeStore(), Sender: recovery.SenderFunc(func(context.Context, recovery.Message) error { return nil }),
		Clients: []recovery.Client{{ID: "web"}}, Keys: []recovery.Key{testKey},
		Policy: recovery.Policy{CodeDigits: 4},
	})
	if err == nil || !strings.Contains(err.Error(), "MaxGuessProbability") {
		t.Fatalf("a 4-digit code with the default budget must exceed the ceiling: %v", err)
	}
	e := newEnv(t)
	if g := e.engine.Policy().GuessProbability(); g != 1.2e-4 {
		t.Fatalf("GuessProbability = %g", g)
	}
}

func TestConfigValidation(t *testing.T) {
	_, err := recovery.New(recovery.Config{
		Clients: []recovery.Client{{ID: "bad id"}, {ID: "x"}, {ID: "x"}},
		Keys:    []recovery.Key{{ID: "k", Secret: []byte("short")}},
		Policy:  recovery.Policy{IPRequests: recovery.Rate{Limit: 1, Window: time.Second}},
		Templates: map[string]recovery.Template{
			"de": {SMS: "Ihr Code"},
		},
		AccountRecovery: []recovery.RecoveryMechanism{recovery.AdminOnly, recovery.VerifiedEmail},
		PasswordPolicy:  recovery.PasswordPolicy{MinLength: 3},
	})
	if err == nil {
		t.Fatal("New accepted an invalid config")
	}
	for _, want := range []string{
		"Config.Users is nil", "Config.Codes is nil", "Config.Sender is nil",
		`Config.Clients[0].ID "bad id" is invalid`, `Config.Clients[2].ID "x" is used twice`,
		"has a 5-byte secret: use at least 32 random bytes",
		"Config.Limiter is nil", `Templates["de"]: SMS lacks the code placeholder`,
		"combines admin_only", "PasswordPolicy.MinLength is 3",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("config error lacks %q:\n%v", want, err)
		}
	}
}

func TestRequestsRedactSecrets(t *testing.T) {
	r := recovery.ConfirmRequest{ClientID: "web", Username: "alice", SecretHash: "SECRETHASH", ConfirmationCode: "424242", Password: "Hunter2-password!"}
	m := recovery.Message{To: "a@example.com", Code: "424242", Text: "code 424242", HTML: "<b>424242</b>"}
	for _, s := range []string{fmt.Sprint(r), fmt.Sprintf("%+v", r), fmt.Sprintf("%#v", r), fmt.Sprint(m), fmt.Sprintf("%#v", m), fmt.Sprintf("%+v", &m)} {
		for _, secret := range []string{"SECRETHASH", "424242", "Hunter2"} {
			if strings.Contains(s, secret) {
				t.Errorf("formatted value leaks %q: %s", secret, s)
			}
		}
	}
}

// TestZeroFieldsMeanDefaults: a field left at zero takes its default, in
// PasswordPolicy too, and an empty AccountRecovery is the default one.
func TestZeroFieldsMeanDefaults(t *testing.T) {
	e := newEnv(t, func(c *recovery.Config) {
		c.PasswordPolicy = recovery.PasswordPolicy{HistorySize: 5}
		c.AccountRecovery = []recovery.RecoveryMechanism{}
	})
	e.addUser(recovery.User{Username: "bob", Attributes: map[string]string{
		"email": "bob@example.com", "email_verified": "true", "phone_number": "+15555550100", "phone_number_verified": "true",
	}})
	d, err := e.recover("web", "bob")
	if err != nil || d.DeliveryMedium != recovery.SMS {
		t.Fatalf("empty AccountRecovery: %+v, %v; want the default, phone first", d, err)
	}
	code := e.lastCode("bob")
	for pw, rule := range map[string]string{
		"Sh0rt!":        "Password not long enough",
		"nouppercase1!": "Password must have uppercase characters",
		"NOLOWERCASE1!": "Password must have lowercase characters",
		"NoNumbers!!!":  "Password must have numeric characters",
		"NoSymbols123":  "Password must have symbol characters",
	} {
		wantErr(t, e.confirm("web", "bob", code, pw), recovery.ErrInvalidPassword, "Password does not conform to policy: "+rule)
	}
	if err := e.confirm("web", "bob", code, "Str0ng-enough!"); err != nil {
		t.Fatal(err)
	}
}
