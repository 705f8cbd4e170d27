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

	"github.com/recoverykit/recoverykit/delivery/capturesender"
	"github.com/recoverykit/recoverykit/delivery/locales"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/memstore"
)

// notices returns the messages without a code: the password-changed
// notices.
func notices(e *env) []recovery.Message {
	var out []recovery.Message
	for _, m := range e.sender.Messages() {
		if m.Code == "" {
			out = append(out, m)
		}
	}
	return out
}

// events collects the Observer's events.
type events struct {
	mu  sync.Mutex
	evs []recovery.Event
}

func (r *events) Observe(_ context.Context, ev recovery.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, ev)
}

func (r *events) of(kind recovery.EventKind) []recovery.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []recovery.Event
	for _, ev := range r.evs {
		if ev.Kind == kind {
			out = append(out, ev)
		}
	}
	return out
}

// reset runs Recover and Confirm for username and returns the code and
// Confirm's error.
func (e *env) reset(username, password string, metadata map[string]string) (string, error) {
	e.t.Helper()
	if _, err := e.engine.Recover(e.ctx, recovery.RecoverRequest{ClientID: "web", Username: username}); err != nil {
		e.t.Fatalf("Recover(%s): %v", username, err)
	}
	code := e.lastCode(username)
	return code, e.engine.Confirm(e.ctx, recovery.ConfirmRequest{ClientID: "web", Username: username, ConfirmationCode: code, Password: password, ClientMetadata: metadata})
}

// passwordIs reports whether sub's stored hash is that of password.
func (e *env) passwordIs(sub, password string) bool {
	e.t.Helper()
	hash, err := e.users.StoredPasswordHash(e.ctx, pool, sub)
	if err != nil {
		e.t.Fatal(err)
	}
	ok, _ := recoverytest.InsecureHasher{}.Verify(password, hash)
	return ok
}

// noCode fails when any part of m holds code.
func noCode(t *testing.T, m recovery.Message, code string) {
	t.Helper()
	for name, v := range map[string]string{"Code": m.Code, "Subject": m.Subject, "Text": m.Text, "HTML": m.HTML} {
		if strings.Contains(v, code) || strings.Contains(v, recovery.CodePlaceholder) {
			t.Errorf("the notice's %s holds the code or its placeholder: %q", name, v)
		}
	}
}

func TestPasswordChangedNoticeSentOnce(t *testing.T) {
	obs := &events{}
	e := newEnv(t, func(c *recovery.Config) { c.Hooks.Observer = obs })
	u := e.alice() // a verified email, an unverified phone number
	code, err := e.reset("alice", "N3w-password!", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !e.passwordIs(u.Sub, "N3w-password!") {
		t.Fatal("the password was not changed")
	}
	ns := notices(e)
	if len(ns) != 1 || e.sender.Len() != 2 {
		t.Fatalf("%d notices among %d messages; want exactly 1 after the code", len(ns), e.sender.Len())
	}
	n := ns[0]
	def := recovery.DefaultTemplate()
	if n.Kind != recovery.DeliveryPasswordChanged || n.Medium != recovery.Email || n.To != "alice@example.com" || n.Subject != def.PasswordChangedSubject || n.Locale != "en" ||
		n.Username != "alice" || n.Sub != u.Sub || !strings.Contains(n.Text, "Hello alice,") || !strings.Contains(n.HTML, "was just changed") {
		t.Fatalf("notice %v: subject %q text %q", n, n.Subject, n.Text)
	}
	noCode(t, n, code)
	if got := obs.of(recovery.EventNoticeDelivered); len(got) != 1 || got[0].Operation != recovery.OpConfirmForgotPassword || got[0].Sub != u.Sub || got[0].Medium != recovery.Email {
		t.Fatalf("notice_delivered events %+v", got)
	}
	if got := obs.of(recovery.EventDelivered); len(got) != 1 {
		t.Fatalf("%d delivered events; want 1, the code's (the notice has its own kind)", len(got))
	}
}

// Every verified channel gets the notice, the MFA factor included; an
// unverified one does not.
func TestPasswordChangedNoticeEveryVerifiedChannel(t *testing.T) {
	e := newEnv(t, func(c *recovery.Config) { c.AccountRecovery = []recovery.RecoveryMechanism{recovery.VerifiedEmail} })
	e.addUser(recovery.User{Username: "bob", SMSMFA: true, Attributes: map[string]string{
		"email": "bob@example.com", "email_verified": "true", "phone_number": "+15555550111", "phone_number_verified": "true",
	}})
	e.addUser(recovery.User{Username: "carol", Attributes: map[string]string{
		"email": "carol@example.com", "email_verified": "true", "phone_number": "+15555550112", "phone_number_verified": "false",
	}})
	for _, name := range []string{"bob", "carol"} {
		if _, err := e.reset(name, "N3w-password!", nil); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]recovery.DeliveryMedium{}
	for _, n := range notices(e) {
		got[n.To] = n.Medium
		if n.Medium == recovery.SMS && n.Text != recovery.DefaultTemplate().PasswordChangedSMS {
			t.Errorf("SMS notice %q", n.Text)
		}
	}
	want := map[string]recovery.DeliveryMedium{"bob@example.com": recovery.Email, "+15555550111": recovery.SMS, "carol@example.com": recovery.Email}
	if len(got) != len(want) || len(notices(e)) != 3 {
		t.Fatalf("notices went to %v; want %v", got, want)
	}
	for to, m := range want {
		if got[to] != m {
			t.Errorf("notice to %s by %q, want %s", to, got[to], m)
		}
	}
}

func TestPasswordChangedNoticeInTheUsersLocale(t *testing.T) {
	e := newEnv(t, func(c *recovery.Config) { c.Templates = locales.All() })
	e.alice()
	e.addUser(recovery.User{Username: "dora", Attributes: map[string]string{"email": "dora@example.com", "email_verified": "true", "locale": "de"}})
	german := locales.German()

	code, err := e.reset("alice", "N3w-password!", map[string]string{"locale": "de-AT"}) // by ClientMetadata
	if err != nil {
		t.Fatal(err)
	}
	code2, err := e.reset("dora", "N3w-password!", nil) // by attribute
	if err != nil {
		t.Fatal(err)
	}
	ns := notices(e)
	if len(ns) != 2 {
		t.Fatalf("%d notices, want 2", len(ns))
	}
	for i, n := range ns {
		if n.Locale != "de" || n.Subject != german.PasswordChangedSubject || !strings.Contains(n.Text, "Das Passwort Ihres Kontos wurde soeben geändert.") ||
			!strings.Contains(n.HTML, `lang="de"`) {
			t.Errorf("notice %d: locale %q subject %q text %q", i, n.Locale, n.Subject, n.Text)
		}
		noCode(t, n, []string{code, code2}[i])
	}
}

func TestPasswordChangedNoticeNotSentOnFailure(t *testing.T) {
	e := newEnv(t)
	u := e.alice()
	if _, err := e.recover("web", "alice"); err != nil {
		t.Fatal(err)
	}
	code := e.lastCode("alice")
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	wantErr(t, e.confirm("web", "alice", wrong, "N3w-password!"), recovery.ErrCodeMismatch, "")
	wantErr(t, e.confirm("web", "alice", code, "weak"), recovery.ErrInvalidPassword, "")
	e.clock.Advance(e.engine.Policy().CodeLifetime + time.Second)
	wantErr(t, e.confirm("web", "alice", code, "N3w-password!"), recovery.ErrExpiredCode, "")
	if n := notices(e); len(n) != 0 {
		t.Fatalf("failed confirms sent %d notices", len(n))
	}
	if e.passwordIs(u.Sub, "N3w-password!") {
		t.Fatal("a failed confirm changed the password")
	}
	// The same engine does send one once a confirm succeeds, so the
	// silence above is not an engine that never sends.
	if _, err := e.reset("alice", "N3w-password!", nil); err != nil || len(notices(e)) != 1 {
		t.Fatalf("after a successful reset: %v, %d notices", err, len(notices(e)))
	}
}

func TestPasswordChangedNoticeSwitchedOff(t *testing.T) {
	e := newEnv(t, func(c *recovery.Config) { c.SkipPasswordChangedNotice = true })
	u := e.alice()
	if _, err := e.reset("alice", "N3w-password!", nil); err != nil {
		t.Fatal(err)
	}
	if n := e.sender.Len(); n != 1 || !e.passwordIs(u.Sub, "N3w-password!") {
		t.Fatalf("%d messages with the notice switched off; want the code alone, and the password changed", n)
	}
}

// The PostConfirmation hook's failure is the caller's, but the password
// changed, so the user hears of it.
func TestPasswordChangedNoticeDespitePostConfirmFailure(t *testing.T) {
	e := newEnv(t, func(c *recovery.Config) {
		c.Hooks.PostConfirm = recovery.PostConfirmFunc(func(context.Context, recovery.PostConfirmEvent) error { return recovery.Reject("no") })
	})
	e.alice()
	if _, err := e.reset("alice", "N3w-password!", nil); !errors.Is(err, recovery.ErrUserLambdaValidation) {
		t.Fatalf("Confirm: %v, want the hook's rejection", err)
	}
	if n := notices(e); len(n) != 1 {
		t.Fatalf("%d notices, want 1", len(n))
	}
}

func TestPasswordChangedNoticeCustomMessageHook(t *testing.T) {
	var seen []recovery.CustomMessageEvent
	var mu sync.Mutex
	obs := &events{}
	e := newEnv(t, func(c *recovery.Config) {
		c.Hooks.Observer = obs
		c.Hooks.CustomMessage = recovery.CustomMessageFunc(func(_ context.Context, ev recovery.CustomMessageEvent) (recovery.CustomMessage, error) {
			mu.Lock()
			seen = append(seen, ev)
			mu.Unlock()
			switch {
			case ev.TriggerSource != recovery.TriggerCustomMessagePasswordChanged:
				return recovery.CustomMessage{}, nil
			case ev.ClientMetadata["hook"] == "code":
				// A hook that writes a code message for every trigger.
				return recovery.CustomMessage{EmailMessage: "Code " + recovery.CodePlaceholder}, nil
			}
			return recovery.CustomMessage{EmailSubject: "Changed, " + ev.UsernameParameter, EmailMessage: "<p>" + ev.UsernameParameter + ", your password changed.</p>"}, nil
		})
	})
	u := e.alice()
	code, err := e.reset("alice", "N3w-password!", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || seen[0].TriggerSource != recovery.TriggerCustomMessage || seen[1].TriggerSource != "CustomMessage_PasswordChanged" {
		t.Fatalf("hook events %+v", seen)
	}
	if ev := seen[1]; ev.CodeParameter != "" || ev.LinkParameter != "" || ev.Username != "alice" || ev.UserAttributes["sub"] != u.Sub || ev.Medium != recovery.Email || ev.Locale != "en" {
		t.Fatalf("notice hook event %+v", ev)
	}
	ns := notices(e)
	if len(ns) != 1 || ns[0].Subject != "Changed, alice" || ns[0].HTML != "<p>alice, your password changed.</p>" || ns[0].Text != "" {
		t.Fatalf("notices %v", ns)
	}
	noCode(t, ns[0], code)

	// A code placeholder in a notice's answer fails the notice, not Confirm.
	if _, err := e.reset("alice", "Other-passw0rd!", map[string]string{"hook": "code"}); err != nil {
		t.Fatalf("Confirm failed with the notice: %v", err)
	}
	if !e.passwordIs(u.Sub, "Other-passw0rd!") || len(notices(e)) != 1 {
		t.Fatalf("password changed %v, %d notices; want changed, and no second notice", e.passwordIs(u.Sub, "Other-passw0rd!"), len(notices(e)))
	}
	if f := obs.of(recovery.EventNoticeFailed); len(f) != 1 || f[0].Reason != recovery.InvalidLambdaResponseException {
		t.Fatalf("notice_failed events %+v", f)
	}
}

// revokeCounter counts Revoke calls on a memstore code store.
type revokeCounter struct {
	*memstore.CodeStore
	n atomic.Int32
}

func (r *revokeCounter) Revoke(ctx context.Context, pool, userKey string, code recovery.KeyedHash) error {
	r.n.Add(1)
	return r.CodeStore.Revoke(ctx, pool, userKey, code)
}

// With the default outbox, a notice the sender refuses is abandoned: the
// Confirm stands, the Observer and the log hear of it, and nothing is
// revoked (there is no code).
func TestPasswordChangedNoticeSenderFails(t *testing.T) {
	obs := &events{}
	codes := &revokeCounter{CodeStore: memstore.NewCodeStore()}
	e := newEnv(t, func(c *recovery.Config) {
		c.Hooks.Observer = obs
		c.Codes = codes
	})
	e.cfg.Outbox = nil // the built-in asynchronous outbox
	e.rebuild()
	t.Cleanup(func() { e.engine.Close(context.Background()) })
	u := e.alice()
	if _, err := e.recover("web", "alice"); err != nil { // a revealing client delivers during the request
		t.Fatal(err)
	}
	code := e.lastCode("alice")
	e.sender.Fail(errors.New("smtp: 554 rejected " + code))
	if err := e.confirm("web", "alice", code, "N3w-password!"); err != nil {
		t.Fatalf("Confirm failed with the notice: %v", err)
	}
	if !e.passwordIs(u.Sub, "N3w-password!") {
		t.Fatal("the password was not changed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.engine.Close(ctx); err != nil {
		t.Fatal(err)
	}
	f := obs.of(recovery.EventNoticeFailed)
	if len(f) != 1 || f[0].Reason != recovery.CodeDeliveryFailureException || f[0].Operation != recovery.OpConfirmForgotPassword || f[0].Sub != u.Sub {
		t.Fatalf("notice_failed events %+v", f)
	}
	if n := len(obs.of(recovery.EventDeliveryFailed)); n != 0 {
		t.Fatalf("%d delivery_failed events for a notice; want notice_failed only", n)
	}
	if n := codes.n.Load(); n != 0 {
		t.Fatalf("an undelivered notice revoked %d codes", n)
	}
	if logs := e.logs.String(); !strings.Contains(logs, "password-changed notice failed") {
		t.Fatalf("the log does not tell of the failed notice:\n%s", logs)
	}
}

func TestPasswordChangedNoticeDeliverAndAbandon(t *testing.T) {
	obs := &events{}
	codes := &revokeCounter{CodeStore: memstore.NewCodeStore()}
	e := newEnv(t, func(c *recovery.Config) {
		c.Hooks.Observer = obs
		c.Codes = codes
	})
	now := e.clock.Now()
	d := recovery.Delivery{
		ID: "msg_notice", Kind: recovery.DeliveryPasswordChanged, Pool: pool, ClientID: "web", Medium: recovery.Email,
		To: "alice@example.com", Username: "alice", Sub: "sub-1", KeyID: testKey.ID,
		IssuedAt: now.Add(-recovery.NoticeLifetime), ExpiresAt: now,
	}
	if err := e.engine.Deliver(e.ctx, d); err != nil || e.sender.Len() != 0 {
		t.Fatalf("an expired notice: %v, %d sent; want dropped", err, e.sender.Len())
	}
	if f := obs.of(recovery.EventNoticeFailed); len(f) != 1 || f[0].Operation != recovery.OpConfirmForgotPassword {
		t.Fatalf("notice_failed events %+v", f)
	}
	// A notice names no code, even with a KeyID: Abandon revokes nothing.
	e.engine.Abandon(e.ctx, d, errors.New("gave up"))
	if n := codes.n.Load(); n != 0 || len(obs.of(recovery.EventNoticeFailed)) != 2 {
		t.Fatalf("Abandon of a notice: %d revocations, %d events", n, len(obs.of(recovery.EventNoticeFailed)))
	}
	d.Kind = "newer_kind"
	d.ExpiresAt = now.Add(time.Hour)
	if err := e.engine.Deliver(e.ctx, d); err == nil || e.sender.Len() != 0 {
		t.Fatalf("a delivery of an unknown kind: %v, %d sent", err, e.sender.Len())
	}
	if s := d.String(); !strings.Contains(s, "Kind:newer_kind") {
		t.Fatalf("String() = %s", s)
	}
}

func TestPasswordChangedTemplatesValidated(t *testing.T) {
	for name, tmpl := range map[string]recovery.Template{
		"code in text":     {PasswordChangedText: "Your code was " + recovery.CodePlaceholder},
		"code in html":     {PasswordChangedHTML: "<p>" + recovery.CodePlaceholder + "</p>"},
		"code in sms":      {PasswordChangedSMS: recovery.CodePlaceholder},
		"link in text":     {PasswordChangedText: "Go to " + recovery.LinkPlaceholder},
		"code in subject":  {PasswordChangedSubject: "Changed " + recovery.CodePlaceholder},
		"subject two line": {PasswordChangedSubject: "Changed\r\nBcc: x@example.com"},
	} {
		_, err := recovery.New(validConfig(func(c *recovery.Config) {
			c.LinkBaseURL = "https://example.com/reset"
			c.Templates = map[string]recovery.Template{"en": tmpl}
		}))
		if err == nil || !strings.Contains(err.Error(), "PasswordChanged") {
			t.Errorf("%s: New = %v; want it refused, naming the field", name, err)
		}
	}
	if _, err := recovery.New(validConfig(func(c *recovery.Config) {
		c.Templates = map[string]recovery.Template{"en": {PasswordChangedText: "Hello {username}, your password changed."}}
	})); err != nil {
		t.Fatalf("a valid notice template was refused: %v", err)
	}
}

// validConfig is a Config New accepts, adjusted by mutate.
func validConfig(mutate func(*recovery.Config)) recovery.Config {
	c := recovery.Config{
		Users: memstore.NewUserStore(), Codes: memstore.NewCodeStore(), Sender: recovery.SenderFunc(func(context.Context, recovery.Message) error { return nil }),
		Clients: []recovery.Client{{ID: "web"}}, Keys: []recovery.Key{testKey}, Outbox: recovery.NewInlineOutbox(),
	}
	mutate(&c)
	return c
}

// After a reset, the user hears of it on every verified channel, in their
// language, without a code.
func Example_passwordChangedNotice() {
	ctx := context.Background()
	users := memstore.NewUserStore()
	users.CreateUser(ctx, recovery.DefaultPoolID, recovery.User{Username: "alice", Attributes: map[string]string{
		"email": "alice@example.com", "email_verified": "true", "locale": "de",
	}}, "")
	sender := capturesender.New()
	engine, err := recovery.New(recovery.Config{
		Users: users, Codes: memstore.NewCodeStore(), Sender: sender,
		Clients:   []recovery.Client{{ID: "web"}},
		Keys:      []recovery.Key{{ID: "k1", Secret: []byte("an example secret of 32 bytes or more")}},
		Templates: locales.All(), // the notice's texts in en, de, fr and es
		// SkipPasswordChangedNotice: true, // to turn the notice off
	})
	if err != nil {
		panic(err)
	}
	engine.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "alice"})
	code, _ := sender.AwaitCode(ctx, "alice")
	if err := engine.Confirm(ctx, recovery.ConfirmRequest{ClientID: "web", Username: "alice", ConfirmationCode: code, Password: "N3w-passw0rd!"}); err != nil {
		panic(err)
	}
	engine.Close(ctx) // drains the outbox, which carries the notice too
	m, _ := sender.Last("alice")
	fmt.Println(m.Kind, m.Locale, m.Subject, m.Code == "")
	// Output: password_changed de Ihr Passwort wurde geändert true
}
