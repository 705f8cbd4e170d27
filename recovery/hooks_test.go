package recovery_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
)

func TestCustomMessageHook(t *testing.T) {
	var got recovery.CustomMessageEvent
	e := newEnv(t, func(c *recovery.Config) {
		c.Hooks.CustomMessage = recovery.CustomMessageFunc(func(ctx context.Context, ev recovery.CustomMessageEvent) (recovery.CustomMessage, error) {
			got = ev
			return recovery.CustomMessage{EmailSubject: "Reset for {username}", EmailMessage: "<p>Hi {username}, use {####}</p>"}, nil
		})
	})
	e.addUser(recovery.User{Username: "<b>eve</b>", Attributes: map[string]string{"email": "eve@example.com", "email_verified": "true"}})
	_, err := e.engine.Recover(e.ctx, recovery.RecoverRequest{ClientID: "web", Username: "<b>eve</b>", ClientMetadata: map[string]string{"app": "mobile"}})
	if err != nil {
		t.Fatal(err)
	}
	if got.TriggerSource != "CustomMessage_ForgotPassword" || got.CodeParameter != "{####}" || got.UsernameParameter != "{username}" ||
		got.PoolID != pool || got.ClientID != "web" || got.ClientMetadata["app"] != "mobile" || got.UserAttributes["email"] != "eve@example.com" || got.UserAttributes["sub"] == "" {
		t.Fatalf("event = %+v", got)
	}
	m, _ := e.sender.Last("<b>eve</b>")
	if m.HTML != "<p>Hi &lt;b&gt;eve&lt;/b&gt;, use "+m.Code+"</p>" || m.Subject != "Reset for <b>eve</b>" || m.Text != "" {
		t.Fatalf("message subject %q html %q text %q", m.Subject, m.HTML, m.Text)
	}
}

func TestHookFailuresMap(t *testing.T) {
	for _, tc := range []struct {
		name    string
		hook    recovery.CustomMessageFunc
		kind    error
		message string
	}{
		{"reject", func(context.Context, recovery.CustomMessageEvent) (recovery.CustomMessage, error) {
			return recovery.CustomMessage{}, recovery.Reject("no resets on Sundays")
		}, recovery.ErrUserLambdaValidation, "CustomMessage_ForgotPassword failed with error no resets on Sundays."},
		{"plain error", func(context.Context, recovery.CustomMessageEvent) (recovery.CustomMessage, error) {
			return recovery.CustomMessage{}, errors.New("dial tcp 10.0.0.7:5432: connection refused")
		}, recovery.ErrUnexpectedLambda, "CustomMessage_ForgotPassword invocation failed."},
		{"panic", func(context.Context, recovery.CustomMessageEvent) (recovery.CustomMessage, error) {
			panic("hook bug")
		}, recovery.ErrUnexpectedLambda, "CustomMessage_ForgotPassword invocation failed."},
		{"hang", func(ctx context.Context, _ recovery.CustomMessageEvent) (recovery.CustomMessage, error) {
			time.Sleep(time.Second) // ignores its context: the engine must not wait
			return recovery.CustomMessage{}, nil
		}, recovery.ErrUnexpectedLambda, "CustomMessage_ForgotPassword invocation failed."},
		{"no placeholder", func(context.Context, recovery.CustomMessageEvent) (recovery.CustomMessage, error) {
			return recovery.CustomMessage{EmailMessage: "no code here"}, nil
		}, recovery.ErrInvalidLambdaResponse, "Unrecognizable lambda output"},
		{"too long", func(context.Context, recovery.CustomMessageEvent) (recovery.CustomMessage, error) {
			return recovery.CustomMessage{EmailMessage: "{####}" + strings.Repeat("x", 20000)}, nil
		}, recovery.ErrInvalidLambdaResponse, "Unrecognizable lambda output"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *recovery.Config) {
				c.Hooks.CustomMessage = tc.hook
				c.Hooks.Timeout = 50 * time.Millisecond
			})
			e.alice()
			start := time.Now()
			_, err := e.recover("web", "alice")
			wantErr(t, err, tc.kind, tc.message)
			if d := time.Since(start); d > 500*time.Millisecond {
				t.Fatalf("Recover took %s with a 50ms hook timeout", d)
			}
			if e.sender.Len() != 0 {
				t.Fatal("a message was sent although the hook failed")
			}
		})
	}
}

// TestHostileUsername: a username from a store with line breaks and markup
// cannot inject headers or HTML.
func TestHostileUsername(t *testing.T) {
	e := newEnv(t, func(c *recovery.Config) {
		c.Templates = map[string]recovery.Template{"en": {EmailSubject: "Code for {username}", EmailHTML: "<p>{username}: {####}</p>"}}
	})
	u := e.addUser(recovery.User{Username: "mallory", Attributes: map[string]string{"email": "m@example.com", "email_verified": "true"}})
	u.Username = "mal\r\nBcc: victim@example.com\r\n<script>x</script>"
	if err := e.users.UpdateUser(e.ctx, pool, u); err != nil {
		t.Fatal(err)
	}
	if _, err := e.recover("web", "m@example.com"); err != nil {
		t.Fatal(err)
	}
	m, _ := e.sender.Last("m@example.com")
	if strings.ContainsAny(m.Subject, "\r\n") || strings.Contains(m.HTML, "<script>") || !strings.Contains(m.HTML, "&lt;script&gt;") {
		t.Fatalf("subject %q html %q", m.Subject, m.HTML)
	}
}

func TestSMSCustomMessageLimit(t *testing.T) {
	e := newEnv(t, func(c *recovery.Config) {
		c.Hooks.CustomMessage = recovery.CustomMessageFunc(func(context.Context, recovery.CustomMessageEvent) (recovery.CustomMessage, error) {
			return recovery.CustomMessage{SMSMessage: "{####} " + strings.Repeat("x", 140)}, nil
		})
	})
	e.addUser(recovery.User{Username: "sms", Attributes: map[string]string{"phone_number": "+15555550100", "phone_number_verified": "true"}})
	_, err := e.recover("web", "sms")
	wantErr(t, err, recovery.ErrInvalidLambdaResponse, "")
}

func TestRiskCheckHook(t *testing.T) {
	var seen []recovery.RiskEvent
	var mu sync.Mutex
	e := newEnv(t, func(c *recovery.Config) {
		c.Hooks.RiskCheck = recovery.RiskCheckFunc(func(ctx context.Context, ev recovery.RiskEvent) error {
			mu.Lock()
			seen = append(seen, ev)
			mu.Unlock()
			if ev.UserContextData != nil && ev.UserContextData.IPAddress == "203.0.113.66" {
				return fmt.Errorf("ip on deny list: %w", recovery.ErrBlocked)
			}
			return nil
		})
	})
	e.alice()
	ucd := &recovery.UserContextData{IPAddress: "203.0.113.66", EncodedData: "device"}
	_, err := e.engine.Recover(e.ctx, recovery.RecoverRequest{ClientID: "web", Username: "alice", UserContextData: ucd})
	wantErr(t, err, recovery.ErrForbidden, "Request not allowed.")
	err = e.engine.Confirm(e.ctx, recovery.ConfirmRequest{ClientID: "web", Username: "ghost", ConfirmationCode: "1", Password: "N3w-password!", UserContextData: ucd})
	wantErr(t, err, recovery.ErrForbidden, "")
	if _, err := e.recover("web", "alice"); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 3 || seen[0].Operation != recovery.OpForgotPassword || seen[1].Operation != recovery.OpConfirmForgotPassword || seen[0].UserContextData.EncodedData != "device" {
		t.Fatalf("risk events %+v", seen)
	}
}

func TestUserMigrationHook(t *testing.T) {
	var calls atomic.Int32
	e := newEnv(t, func(c *recovery.Config) {
		c.Policy.Budget = 30
		c.Hooks.UserMigration = recovery.UserMigrationFunc(func(ctx context.Context, ev recovery.UserMigrationEvent) (*recovery.MigratedUser, error) {
			calls.Add(1)
			time.Sleep(20 * time.Millisecond) // a slow legacy system: concurrent requests pile up
			switch ev.Username {
			case "legacy":
				return &recovery.MigratedUser{Attributes: map[string]string{"email": "legacy@example.com", "email_verified": "true"}}, nil
			case "quiet-legacy":
				return &recovery.MigratedUser{Attributes: map[string]string{"email": "ql@example.com", "email_verified": "true"}, MessageAction: "SUPPRESS", FinalStatus: recovery.StatusConfirmed}, nil
			case "bad":
				return &recovery.MigratedUser{FinalStatus: "ARCHIVED"}, nil
			}
			return nil, nil
		})
	})
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			_, err := e.recover("web", "legacy")
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	n := 0
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent migration: %v", err)
		}
		n++
	}
	if n != 20 || calls.Load() != 1 {
		t.Fatalf("%d successes (want 20), %d hook calls (want 1)", n, calls.Load())
	}
	u, err := e.users.FindUser(e.ctx, pool, recovery.UserQuery{Key: "legacy"})
	if err != nil || u.Status != recovery.StatusResetRequired {
		t.Fatalf("migrated user %+v, %v: want RESET_REQUIRED", u, err)
	}
	// Which concurrent code was issued last is a race; a fresh request is not.
	if _, err := e.recover("web", "legacy"); err != nil {
		t.Fatal(err)
	}
	if err := e.confirm("web", "legacy", e.lastCode("legacy"), "N3w-password!"); err != nil {
		t.Fatal(err)
	}

	before := e.sender.Len()
	if d, err := e.recover("web", "quiet-legacy"); err != nil || d.Destination != "q***@e***" {
		t.Fatalf("SUPPRESS: %+v, %v", d, err)
	}
	if e.sender.Len() != before {
		t.Fatal("SUPPRESS sent a message")
	}
	_, err = e.recover("web", "nobody")
	wantErr(t, err, recovery.ErrUserNotFound, "")
	if d, err := e.recover("quiet", "nobody"); err != nil || d.Destination == "" {
		t.Fatalf("ENABLED, hook knows nobody: %+v, %v", d, err)
	}
	_, err = e.recover("web", "bad")
	wantErr(t, err, recovery.ErrInvalidLambdaResponse, "")
}

func TestPostConfirmHook(t *testing.T) {
	var got recovery.PostConfirmEvent
	fail := false
	e := newEnv(t, func(c *recovery.Config) {
		c.Hooks.PostConfirm = recovery.PostConfirmFunc(func(ctx context.Context, ev recovery.PostConfirmEvent) error {
			got = ev
			if fail {
				return recovery.Reject("session store down")
			}
			return nil
		})
	})
	u := e.alice()
	e.recover("web", "alice")
	err := e.engine.Confirm(e.ctx, recovery.ConfirmRequest{ClientID: "web", Username: "alice", ConfirmationCode: e.lastCode("alice"), Password: "N3w-password!", ClientMetadata: map[string]string{"reason": "forgot"}})
	if err != nil {
		t.Fatal(err)
	}
	if got.TriggerSource != "PostConfirmation_ConfirmForgotPassword" || got.Sub != u.Sub || got.ClientMetadata["reason"] != "forgot" || got.UserAttributes["email"] != "alice@example.com" {
		t.Fatalf("event %+v", got)
	}
	fail = true
	e.recover("web", "alice")
	err = e.confirm("web", "alice", e.lastCode("alice"), "Newer-passw0rd!")
	wantErr(t, err, recovery.ErrUserLambdaValidation, "PostConfirmation_ConfirmForgotPassword failed with error session store down.")
	// Cognito reports the hook's error, but the reset itself stands.
	hash, _ := e.users.PasswordHash(e.ctx, pool, "alice")
	if ok, _ := e.cfg.Hasher.Verify("Newer-passw0rd!", hash); !ok {
		t.Fatal("the password should be changed even though the hook failed")
	}
}

func TestObserverEvents(t *testing.T) {
	var mu sync.Mutex
	var events []recovery.Event
	e := newEnv(t, func(c *recovery.Config) {
		c.Hooks.Observer = recovery.ObserverFunc(func(ctx context.Context, ev recovery.Event) {
			mu.Lock()
			events = append(events, ev)
			mu.Unlock()
			if ev.Kind == recovery.EventSimulated {
				panic("observer bug") // contained
			}
		})
	})
	u := e.alice()
	e.engine.Recover(e.ctx, recovery.RecoverRequest{ClientID: "web", Username: "alice", AnalyticsMetadata: &recovery.AnalyticsMetadata{AnalyticsEndpointID: "ep-1"}})
	e.confirm("web", "alice", "000000", "N3w-password!")
	e.confirm("web", "alice", e.lastCode("alice"), "N3w-password!")
	e.recover("quiet", "ghost")
	var kinds []string
	for _, ev := range events {
		kinds = append(kinds, string(ev.Kind)+":"+string(ev.Reason))
	}
	// A client that reveals existence delivers during the request, so the
	// delivery is reported before the request's outcome; so does the
	// password-changed notice here, through the tests' inline outbox.
	want := "delivered: requested: rejected:CodeMismatchException notice_delivered: confirmed: simulated:"
	if strings.Join(kinds, " ") != want {
		t.Fatalf("events %v, want %s", kinds, want)
	}
	if events[0].Sub != u.Sub || events[0].Medium != recovery.Email || events[0].PoolID != pool || events[0].ClientID != "web" {
		t.Fatalf("delivery event %+v", events[0])
	}
	if events[1].Sub != u.Sub || events[1].Medium != recovery.Email || events[1].AnalyticsEndpointID != "ep-1" || events[1].PoolID != pool || events[1].ClientID != "web" {
		t.Fatalf("request event %+v", events[1])
	}
	for range 5 {
		e.recover("web", "alice")
	}
	if last := events[len(events)-1]; last.Kind != recovery.EventRateLimited || last.Reason != "LimitExceededException" {
		t.Fatalf("last event %+v, want rate_limited", last)
	}
}

// TestNoSecretsInLogsOrErrors drives every path with Debug logging on and
// checks that no code, password, secret, key or hash appears in the log or in
// any error string.
func TestNoSecretsInLogsOrErrors(t *testing.T) {
	const password, weak, hist = "Sup3r-secret-pw!", "weakpw", "Initial-passw0rd"
	e := newEnv(t, func(c *recovery.Config) {
		c.PasswordPolicy = recovery.PasswordPolicy{HistorySize: 3}
		c.Policy.MaxFailures = 3
		c.Hooks.CustomMessage = recovery.CustomMessageFunc(func(ctx context.Context, ev recovery.CustomMessageEvent) (recovery.CustomMessage, error) {
			if ev.ClientMetadata["fail"] == "panic" {
				panic("custom message hook exploded")
			}
			return recovery.CustomMessage{}, nil
		})
	})
	hashes := &hashCapture{CodeStore: e.codes}
	e.cfg.Codes = hashes
	e.rebuild()
	e.alice()
	var errs []error
	collect := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	secretHash := recovery.SecretHash(testSecret, "alice", "private")
	_, err := e.engine.Recover(e.ctx, recovery.RecoverRequest{ClientID: "private", Username: "alice", SecretHash: secretHash})
	collect(err)
	_, err = e.engine.Recover(e.ctx, recovery.RecoverRequest{ClientID: "private", Username: "alice", SecretHash: "d3JvbmcK"})
	collect(err)
	code := e.lastCode("alice")
	collect(e.confirm("web", "alice", code, weak))
	collect(e.confirm("web", "alice", code, hist))
	collect(e.confirm("web", "alice", "999999x", password))
	collect(e.confirm("web", "alice", code, password))
	collect(e.confirm("web", "alice", code, password))
	collect(e.confirm("quiet", "ghost", code, password))
	collect(e.confirm("web", "alice", "bad code", password))
	_, err = e.engine.Recover(e.ctx, recovery.RecoverRequest{ClientID: "web", Username: "alice", ClientMetadata: map[string]string{"fail": "panic"}})
	collect(err)
	e.sender.Fail(errors.New("relay refused"))
	_, err = e.recover("web", "alice")
	collect(err)
	for range 4 {
		collect(e.confirm("web", "alice", "000001", password))
	}

	msgs := e.sender.Messages()
	secrets := []string{password, weak, hist, testSecret, secretHash, string(testKey.Secret), hex.EncodeToString(testKey.Secret)}
	for _, m := range msgs {
		secrets = append(secrets, m.Code)
	}
	// Every hash the engine handed to the store, in the usual encodings.
	for _, h := range hashes.all() {
		secrets = append(secrets, hex.EncodeToString(h), base64.StdEncoding.EncodeToString(h), base64.RawURLEncoding.EncodeToString(h), string(h))
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "CodeMismatchException") || !strings.Contains(logs, "UnexpectedLambdaException") {
		t.Fatalf("the log should record outcomes; got:\n%s", logs)
	}
	if len(errs) < 8 {
		t.Fatalf("only %d errors collected", len(errs))
	}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		if strings.Contains(logs, s) {
			t.Errorf("log contains secret %q", s)
		}
		for _, err := range errs {
			if strings.Contains(err.Error(), s) {
				t.Errorf("error %q contains secret %q", err, s)
			}
		}
	}
}

// hashCapture records every hash passed to the code store.
type hashCapture struct {
	recovery.CodeStore
	mu     sync.Mutex
	hashes [][]byte
}

func (h *hashCapture) add(ks ...recovery.KeyedHash) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, k := range ks {
		h.hashes = append(h.hashes, append([]byte(nil), k.Hash...))
	}
}

func (h *hashCapture) all() [][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hashes
}

func (h *hashCapture) Issue(ctx context.Context, p recovery.IssueParams) (recovery.Outcome, error) {
	h.add(p.Code)
	return h.CodeStore.Issue(ctx, p)
}

func (h *hashCapture) Check(ctx context.Context, p recovery.CheckParams) (recovery.Outcome, error) {
	h.add(p.Candidates...)
	return h.CodeStore.Check(ctx, p)
}
