package jsonhttp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/delivery/capturesender"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/jsonhttp"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/memstore"
)

type fixture struct {
	srv    *httptest.Server
	sender *capturesender.Sender
}

func newFixture(t *testing.T, opts jsonhttp.Options, mutate ...func(*recovery.Config)) *fixture {
	t.Helper()
	users := memstore.NewUserStore()
	users.CreateUser(context.Background(), recovery.DefaultPoolID, recovery.User{
		Username:   "alice",
		Attributes: map[string]string{"email": "alice@example.com", "email_verified": "true"},
	}, "")
	f := &fixture{sender: capturesender.New()}
	cfg := recovery.Config{
		Users: users, Codes: memstore.NewCodeStore(), Sender: f.sender,
		Clients: []recovery.Client{{ID: "web"}, {ID: "backend", Secret: "s3cret-of-the-backend", RevealUserExistence: true}},
		Keys:    []recovery.Key{{ID: "k1", Secret: []byte("jsonhttp-test-key-0123456789abcdef")}},
		Hasher:  recoverytest.InsecureHasher{},
		Outbox:  recovery.NewInlineOutbox(),
		Logger:  slog.New(slog.DiscardHandler),
	}
	for _, m := range mutate {
		m(&cfg)
	}
	e, err := recovery.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h, err := jsonhttp.New(e, opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /forgot", h.Forgot())
	mux.Handle("POST /reset", h.Reset())
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// post sends body to path and returns the status and the decoded body.
func (f *fixture) post(t *testing.T, path, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(f.srv.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s: body %q is not JSON", path, raw)
		}
	}
	return resp.StatusCode, out
}

func TestForgotAndReset(t *testing.T) {
	f := newFixture(t, jsonhttp.Options{ClientID: "web", Fields: jsonhttp.Fields{Username: "email", Code: "otp", Password: "new_password"}})
	status, body := f.post(t, "/forgot", `{"email": "alice@example.com"}`)
	if status != 200 || body["destination"] != "a***@e***" || body["medium"] != "EMAIL" || body["attribute"] != "email" {
		t.Fatalf("forgot: %d %v", status, body)
	}
	code, _ := f.sender.LastCode("alice")
	status, body = f.post(t, "/reset", fmt.Sprintf(`{"email": "alice@example.com", "otp": %q, "new_password": "N3w-passw0rd!"}`, code))
	if status != 204 {
		t.Fatalf("reset: %d %v", status, body)
	}
	status, body = f.post(t, "/reset", fmt.Sprintf(`{"email": "alice@example.com", "otp": %q, "new_password": "N3w-passw0rd!"}`, code))
	if status != 400 || body["error"] != "ExpiredCodeException" {
		t.Fatalf("replay: %d %v", status, body)
	}
	// An unknown address answers as a real one.
	if status, body := f.post(t, "/forgot", `{"email": "nobody@example.com"}`); status != 200 || body["destination"] == "" {
		t.Fatalf("unknown address: %d %v", status, body)
	}
}

// Validation errors name the host's fields, not Cognito's members.
func TestErrorsNameTheHostsFields(t *testing.T) {
	f := newFixture(t, jsonhttp.Options{ClientID: "web", Fields: jsonhttp.Fields{Username: "email", Code: "otp"}})
	status, body := f.post(t, "/reset", `{"email": "alice@example.com"}`)
	if status != 400 || body["error"] != "InvalidParameterException" {
		t.Fatalf("%d %v", status, body)
	}
	msg := body["message"].(string)
	fields, _ := body["fields"].(map[string]any)
	if !strings.Contains(msg, "otp: ") || !strings.Contains(msg, "password: ") || strings.Contains(msg, "confirmationCode") || fields["otp"] == nil || fields["password"] == nil {
		t.Fatalf("message %q, fields %v: want the host's names otp and password", msg, fields)
	}
	for _, bad := range []string{`[1]`, `{"email": 7}`, `not json`, `{"email": "` + strings.Repeat("a", 20000) + `"}`} {
		if status, body := f.post(t, "/forgot", bad); status != 400 || strings.Contains(fmt.Sprint(body), "aaaa") {
			t.Errorf("body %.20q: %d %v", bad, status, body)
		}
	}
}

// A server-side client with a secret: the handler computes SecretHash.
func TestClientSecret(t *testing.T) {
	f := newFixture(t, jsonhttp.Options{ClientID: "backend", ClientSecret: "s3cret-of-the-backend"})
	if status, body := f.post(t, "/forgot", `{"username": "alice"}`); status != 200 {
		t.Fatalf("%d %v", status, body)
	}
	if status, body := f.post(t, "/forgot", `{"username": "nobody"}`); status != 404 || body["error"] != "UserNotFoundException" {
		t.Fatalf("a client that reveals existence, unknown user: %d %v", status, body)
	}
	wrong := newFixture(t, jsonhttp.Options{ClientID: "backend", ClientSecret: "wrong"})
	if status, body := wrong.post(t, "/forgot", `{"username": "alice"}`); status != 403 || body["error"] != "NotAuthorizedException" {
		t.Fatalf("wrong secret: %d %v", status, body)
	}
}

// The per-IP limit counts the connection's address.
func TestSourceIPFeedsTheLimiter(t *testing.T) {
	f := newFixture(t, jsonhttp.Options{ClientID: "web"}, func(c *recovery.Config) {
		c.Limiter = memstore.NewLimiter()
		c.Policy.IPRequests = recovery.Rate{Limit: 2, Window: time.Hour}
	})
	for i := range 3 {
		status, body := f.post(t, "/forgot", `{"username": "alice"}`)
		if want := map[bool]int{true: 429, false: 200}[i == 2]; status != want {
			t.Fatalf("request %d: %d %v, want %d", i+1, status, body, want)
		}
	}
}

func TestStatus(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{recovery.ErrCodeMismatch, 400}, {recovery.ErrInvalidParameter, 400}, {recovery.ErrNotAuthorized, 403},
		{recovery.ErrUserNotFound, 404}, {recovery.ErrLimitExceeded, 429}, {recovery.ErrTooManyRequests, 429},
		{recovery.ErrCodeDeliveryFailure, 503}, {recovery.ErrUnexpectedLambda, 502}, {recovery.ErrInternal, 500},
		{errors.New("anything else"), 500}, {fmt.Errorf("wrapped: %w", recovery.ErrExpiredCode), 400},
	} {
		if got := jsonhttp.Status(tc.err); got != tc.want {
			t.Errorf("Status(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

func TestNew(t *testing.T) {
	if _, err := jsonhttp.New(nil, jsonhttp.Options{}); err == nil || !strings.Contains(err.Error(), "ClientID") {
		t.Fatalf("New with nothing: %v", err)
	}
}
