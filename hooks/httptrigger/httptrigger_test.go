package httptrigger_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/delivery/capturesender"
	"github.com/recoverykit/recoverykit/hooks/httptrigger"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/recovery/standardwebhooks"
	"github.com/recoverykit/recoverykit/store/memstore"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

// endpoint is an httptest server that verifies each request's signature,
// records the event and answers with respond.
type endpoint struct {
	srv    *httptest.Server
	mu     sync.Mutex
	events []map[string]any
}

func newEndpoint(t *testing.T, respond func(w http.ResponseWriter, event map[string]any)) *endpoint {
	t.Helper()
	ep := &endpoint{}
	ep.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := standardwebhooks.Verify(secret, r.Header, body, time.Now(), 0); err != nil {
			t.Errorf("signature: %v", err)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var ev map[string]any
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Errorf("event is not JSON: %v", err)
		}
		ep.mu.Lock()
		ep.events = append(ep.events, ev)
		ep.mu.Unlock()
		var mine map[string]any // respond may change its copy
		json.Unmarshal(body, &mine)
		respond(w, mine)
	}))
	t.Cleanup(ep.srv.Close)
	return ep
}

func (ep *endpoint) last() map[string]any {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if len(ep.events) == 0 {
		return nil
	}
	return ep.events[len(ep.events)-1]
}

// echo answers the event with response set, as a Lambda does.
func echo(response any) func(http.ResponseWriter, map[string]any) {
	return func(w http.ResponseWriter, ev map[string]any) {
		ev["response"] = response
		json.NewEncoder(w).Encode(ev)
	}
}

func trigger(t *testing.T, ep *endpoint, timeout time.Duration) *httptrigger.Trigger {
	t.Helper()
	tr, err := httptrigger.New(httptrigger.Config{URL: ep.srv.URL + "/hook", Secret: secret, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

type env struct {
	engine *recovery.Engine
	sender *capturesender.Sender
	users  *memstore.UserStore
}

func newEngine(t *testing.T, h recovery.Hooks) env {
	t.Helper()
	users := memstore.NewUserStore()
	users.CreateUser(context.Background(), "us-east-1_Pool", recovery.User{Sub: "sub-alice", Username: "alice",
		Attributes: map[string]string{"email": "alice@example.com", "email_verified": "true", "locale": "en"}}, "")
	sender := capturesender.New()
	e, err := recovery.New(recovery.Config{
		PoolID: "us-east-1_Pool",
		Users:  users, Codes: memstore.NewCodeStore(), Sender: sender,
		Clients: []recovery.Client{{ID: "web", RevealUserExistence: true}}, // errors and delivery during the request
		Keys:    []recovery.Key{{ID: "k1", Secret: bytes.Repeat([]byte("k"), 32)}},
		Hasher:  recoverytest.InsecureHasher{},
		Hooks:   h,
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return env{e, sender, users}
}

// field reads a dotted path from a decoded event.
func field(ev map[string]any, path string) any {
	var cur any = ev
	for _, p := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

func checkFields(t *testing.T, ev map[string]any, want map[string]any) {
	t.Helper()
	for path, w := range want {
		if got := field(ev, path); got != w {
			t.Errorf("%s = %#v, want %#v", path, got, w)
		}
	}
}

func TestCustomMessageOverHTTP(t *testing.T) {
	ep := newEndpoint(t, echo(map[string]any{"emailSubject": "Reset", "emailMessage": "<p>Code: {####}</p>", "smsMessage": nil}))
	e := newEngine(t, recovery.Hooks{CustomMessage: trigger(t, ep, 0)})
	ctx := context.Background()
	if _, err := e.engine.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "alice", ClientMetadata: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	checkFields(t, ep.last(), map[string]any{
		"version": "1", "triggerSource": "CustomMessage_ForgotPassword", "region": "us-east-1",
		"userPoolId": "us-east-1_Pool", "userName": "alice",
		"callerContext.clientId": "web", "callerContext.awsSdkVersion": "recoverykit",
		"request.codeParameter": "{####}", "request.usernameParameter": "{username}", "request.linkParameter": nil,
		"request.userAttributes.email": "alice@example.com", "request.userAttributes.sub": "sub-alice",
		"request.clientMetadata.k": "v",
	})
	if r, ok := ep.last()["response"].(map[string]any); !ok || len(r) != 0 {
		t.Errorf("response sent = %#v, want {}", ep.last()["response"])
	}
	m, _ := e.sender.Last("alice")
	if m.Subject != "Reset" || m.HTML != "<p>Code: "+m.Code+"</p>" {
		t.Fatalf("message %q %q", m.Subject, m.HTML)
	}
	if strings.Contains(ep.srv.URL, m.Code) {
		t.Fatal("impossible")
	}
	for _, ev := range ep.events {
		b, _ := json.Marshal(ev)
		if strings.Contains(string(b), m.Code) {
			t.Fatal("the hook saw the code")
		}
	}
}

func TestUserMigrationOverHTTP(t *testing.T) {
	ep := newEndpoint(t, func(w http.ResponseWriter, ev map[string]any) {
		if ev["userName"] == "legacy" {
			echo(map[string]any{
				"userAttributes":  map[string]string{"email": "legacy@example.com", "email_verified": "true"},
				"finalUserStatus": "RESET_REQUIRED", "messageAction": nil, "desiredDeliveryMediums": []string{"EMAIL"},
			})(w, ev)
			return
		}
		echo(map[string]any{})(w, ev)
	})
	e := newEngine(t, recovery.Hooks{UserMigration: trigger(t, ep, 0)})
	ctx := context.Background()
	d, err := e.engine.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "legacy", ClientMetadata: map[string]string{"src": "app"}})
	if err != nil || d.Destination != "l***@e***" {
		t.Fatalf("%+v, %v", d, err)
	}
	checkFields(t, ep.last(), map[string]any{
		"triggerSource": "UserMigration_ForgotPassword", "userName": "legacy", "userPoolId": "us-east-1_Pool",
		"callerContext.clientId": "web", "request.clientMetadata.src": "app", "request.password": nil,
	})
	if _, ok := ep.last()["request"].(map[string]any)["validationData"]; !ok {
		t.Error("request.validationData missing")
	}
	_, err = e.engine.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "stranger"})
	if !errors.Is(err, recovery.ErrUserNotFound) {
		t.Fatalf("empty response: %v, want UserNotFound", err)
	}
}

func TestRiskCheckOverHTTP(t *testing.T) {
	ep := newEndpoint(t, func(w http.ResponseWriter, ev map[string]any) {
		block := field(ev, "request.userContextData.ipAddress") == "203.0.113.9"
		echo(map[string]any{"block": block})(w, ev)
	})
	e := newEngine(t, recovery.Hooks{RiskCheck: trigger(t, ep, 0)})
	ctx := context.Background()
	_, err := e.engine.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "alice", UserContextData: &recovery.UserContextData{IPAddress: "203.0.113.9", EncodedData: "dev"}})
	if !errors.Is(err, recovery.ErrForbidden) {
		t.Fatalf("%v, want Forbidden", err)
	}
	checkFields(t, ep.last(), map[string]any{
		"triggerSource": "RiskCheck_ForgotPassword", "request.operation": "ForgotPassword",
		"request.userContextData.ipAddress": "203.0.113.9", "request.userContextData.encodedData": "dev",
	})
	if _, err := e.engine.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "alice"}); err != nil {
		t.Fatal(err)
	}
}

func TestPostConfirmOverHTTP(t *testing.T) {
	ep := newEndpoint(t, echo(map[string]any{}))
	e := newEngine(t, recovery.Hooks{PostConfirm: trigger(t, ep, 0)})
	ctx := context.Background()
	e.engine.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "alice"})
	code, _ := e.sender.LastCode("alice")
	const password = "N3w-password!"
	if err := e.engine.Confirm(ctx, recovery.ConfirmRequest{ClientID: "web", Username: "alice", ConfirmationCode: code, Password: password, ClientMetadata: map[string]string{"why": "forgot"}}); err != nil {
		t.Fatal(err)
	}
	checkFields(t, ep.last(), map[string]any{
		"triggerSource": "PostConfirmation_ConfirmForgotPassword", "userName": "alice",
		"request.userAttributes.sub": "sub-alice", "request.clientMetadata.why": "forgot",
	})
	b, _ := json.Marshal(ep.last())
	if strings.Contains(string(b), password) || strings.Contains(string(b), code) {
		t.Fatal("the post-confirm event carries the password or the code")
	}
}

func TestErrorMapping(t *testing.T) {
	for _, tc := range []struct {
		name    string
		respond func(http.ResponseWriter, map[string]any)
		timeout time.Duration
		kind    error
		message string
	}{
		{"lambda error in 200", func(w http.ResponseWriter, _ map[string]any) {
			w.Write([]byte(`{"errorMessage":"user is on hold","errorType":"Error"}`))
		}, 0, recovery.ErrUserLambdaValidation, "CustomMessage_ForgotPassword failed with error user is on hold."},
		{"4xx with message", func(w http.ResponseWriter, _ map[string]any) {
			w.WriteHeader(http.StatusUnprocessableEntity)
			w.Write([]byte(`{"message":"not allowed"}`))
		}, 0, recovery.ErrUserLambdaValidation, "CustomMessage_ForgotPassword failed with error not allowed."},
		{"5xx", func(w http.ResponseWriter, _ map[string]any) {
			http.Error(w, `{"errorMessage":"internal detail"}`, http.StatusBadGateway)
		}, 0, recovery.ErrUnexpectedLambda, "CustomMessage_ForgotPassword invocation failed."},
		{"4xx without message", func(w http.ResponseWriter, _ map[string]any) { w.WriteHeader(http.StatusNotFound) },
			0, recovery.ErrUnexpectedLambda, ""},
		{"timeout", func(w http.ResponseWriter, _ map[string]any) { time.Sleep(300 * time.Millisecond) },
			50 * time.Millisecond, recovery.ErrUnexpectedLambda, ""},
		{"garbage", func(w http.ResponseWriter, _ map[string]any) { w.Write([]byte("<html>oops</html>")) },
			0, recovery.ErrInvalidLambdaResponse, "Unrecognizable lambda output"},
		{"no response", func(w http.ResponseWriter, _ map[string]any) { w.Write([]byte(`{"version":"1"}`)) },
			0, recovery.ErrInvalidLambdaResponse, ""},
		{"wrong type", echo(map[string]any{"emailMessage": 42}), 0, recovery.ErrInvalidLambdaResponse, ""},
		{"missing placeholder", echo(map[string]any{"emailMessage": "no code"}), 0, recovery.ErrInvalidLambdaResponse, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ep := newEndpoint(t, tc.respond)
			e := newEngine(t, recovery.Hooks{CustomMessage: trigger(t, ep, tc.timeout)})
			start := time.Now()
			_, err := e.engine.Recover(context.Background(), recovery.RecoverRequest{ClientID: "web", Username: "alice"})
			var re *recovery.Error
			if !errors.As(err, &re) || re.Name != tc.kind.(*recovery.Error).Name {
				t.Fatalf("err = %v, want %v", err, tc.kind)
			}
			if tc.message != "" && re.Message != tc.message {
				t.Fatalf("message %q, want %q", re.Message, tc.message)
			}
			if strings.Contains(re.Message, "internal detail") {
				t.Fatal("a 5xx body leaked into the message")
			}
			if tc.timeout > 0 && time.Since(start) > 250*time.Millisecond {
				t.Fatalf("took %s with a %s timeout", time.Since(start), tc.timeout)
			}
		})
	}
}

func TestConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	tr, _ := httptrigger.New(httptrigger.Config{URL: url, Secret: secret})
	e := newEngine(t, recovery.Hooks{PostConfirm: tr})
	ctx := context.Background()
	e.engine.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "alice"})
	code, _ := e.sender.LastCode("alice")
	err := e.engine.Confirm(ctx, recovery.ConfirmRequest{ClientID: "web", Username: "alice", ConfirmationCode: code, Password: "N3w-password!"})
	if !errors.Is(err, recovery.ErrUnexpectedLambda) {
		t.Fatalf("%v, want UnexpectedLambda", err)
	}
}

func TestConfigValidation(t *testing.T) {
	if _, err := httptrigger.New(httptrigger.Config{URL: "ftp://x", Secret: secret}); err == nil {
		t.Error("accepted a non-http URL")
	}
	if _, err := httptrigger.New(httptrigger.Config{URL: "http://x", Secret: []byte("short")}); err == nil {
		t.Error("accepted a short secret")
	}
}
