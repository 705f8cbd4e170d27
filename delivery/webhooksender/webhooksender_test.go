package webhooksender_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/delivery/webhooksender"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/standardwebhooks"
)

var secret = []byte("webhooksender-test-secret-0123456789")

const code = "493817"

func smsMessage() recovery.Message {
	return recovery.Message{
		Pool: "eu-pool", ClientID: "web", Medium: recovery.SMS, To: "+15550100",
		Username: "alice", Sub: "sub-1", Locale: "en", Code: code,
		Text:           "Your password reset code is " + code,
		ClientMetadata: map[string]string{"tenant": "acme"},
	}
}

// hit is one request as the receiver saw it.
type hit struct {
	header http.Header
	body   []byte
	err    error // from standardwebhooks.Verify
}

// receiver is an httptest server that verifies each request and answers
// with the next of its handlers (the last one repeats).
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	hits     []hit
	handlers []http.HandlerFunc
}

func newReceiver(t *testing.T, handlers ...http.HandlerFunc) *receiver {
	t.Helper()
	r := &receiver{handlers: handlers}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.hits = append(r.hits, hit{req.Header.Clone(), body, standardwebhooks.Verify(secret, req.Header, body, time.Now(), 0)})
		h := r.handlers[min(len(r.hits), len(r.handlers))-1]
		r.mu.Unlock()
		h(w, req)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) got() []hit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hit(nil), r.hits...)
}

func status(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

// sleeps records the waits instead of waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

func newSender(t *testing.T, url string, sl *sleeps, mutate func(*webhooksender.Config)) *webhooksender.Sender {
	t.Helper()
	cfg := webhooksender.Config{URL: url, Secret: secret, AttemptTimeout: 5 * time.Second, MaxAttempts: 3}
	if sl != nil {
		cfg.Sleep = sl.sleep
	}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := webhooksender.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustNotLeak(t *testing.T, err error) {
	t.Helper()
	if err != nil && (strings.Contains(err.Error(), code) || strings.Contains(err.Error(), "token=")) {
		t.Errorf("the error leaks: %v", err)
	}
}

func TestSendSignedPayload(t *testing.T) {
	r := newReceiver(t, status(http.StatusNoContent))
	s := newSender(t, r.URL+"/sms?token=gateway-token", nil, func(c *webhooksender.Config) {
		c.Header = http.Header{"Authorization": {"Bearer gw"}}
	})
	for _, m := range []recovery.Message{smsMessage(), {
		Pool: "eu-pool", ClientID: "web", Medium: recovery.Email, To: "alice@example.com", Code: code,
		Subject: "Your code", Text: "Code: " + code, HTML: "<p>Code: <b>" + code + "</b> & more</p>", Locale: "fr",
	}} {
		if err := s.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	hits := r.got()
	if len(hits) != 2 {
		t.Fatalf("%d requests, want 2", len(hits))
	}
	for i, h := range hits {
		if h.err != nil {
			t.Errorf("request %d: standardwebhooks.Verify: %v", i, h.err)
		}
		if ct := h.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		if a := h.header.Get("Authorization"); a != "Bearer gw" {
			t.Errorf("Authorization %q", a)
		}
		if !strings.HasPrefix(h.header.Get("webhook-id"), "msg_") {
			t.Errorf("webhook-id %q", h.header.Get("webhook-id"))
		}
	}
	if hits[0].header.Get("webhook-id") == hits[1].header.Get("webhook-id") {
		t.Error("two messages share a webhook-id")
	}

	var sms webhooksender.Payload
	if err := json.Unmarshal(hits[0].body, &sms); err != nil {
		t.Fatal(err)
	}
	want := webhooksender.Payload{
		Type: "recovery.code", Medium: recovery.SMS, To: "+15550100", Code: code,
		Text: "Your password reset code is " + code, Locale: "en", Username: "alice", Sub: "sub-1",
		UserPoolID: "eu-pool", ClientID: "web", ClientMetadata: map[string]string{"tenant": "acme"},
	}
	if fmt.Sprintf("%#v", sms.ClientMetadata) != fmt.Sprintf("%#v", want.ClientMetadata) || sms.Code != want.Code ||
		sms.Type != want.Type || sms.Medium != want.Medium || sms.To != want.To || sms.Text != want.Text ||
		sms.Locale != want.Locale || sms.Username != want.Username || sms.Sub != want.Sub ||
		sms.UserPoolID != want.UserPoolID || sms.ClientID != want.ClientID || sms.HTML != "" || sms.Subject != "" {
		t.Errorf("SMS payload %s", hits[0].body)
	}
	var raw map[string]any
	json.Unmarshal(hits[1].body, &raw)
	if raw["medium"] != "EMAIL" || raw["html"] != "<p>Code: <b>"+code+"</b> & more</p>" || raw["subject"] != "Your code" || raw["code"] != code {
		t.Errorf("email payload %s", hits[1].body)
	}
}

func TestRetryThenSuccess(t *testing.T) {
	r := newReceiver(t, status(500), status(502), status(200))
	var sl sleeps
	s := newSender(t, r.URL, &sl, nil)
	if err := s.Send(context.Background(), smsMessage()); err != nil {
		t.Fatal(err)
	}
	hits := r.got()
	if len(hits) != 3 {
		t.Fatalf("%d attempts, want 3", len(hits))
	}
	id := hits[0].header.Get("webhook-id")
	for i, h := range hits {
		if h.err != nil {
			t.Errorf("attempt %d: %v", i+1, h.err)
		}
		if got := h.header.Get("webhook-id"); got != id {
			t.Errorf("attempt %d has webhook-id %q, the first had %q", i+1, got, id)
		}
		if !bytes.Equal(h.body, hits[0].body) {
			t.Errorf("attempt %d sent another body", i+1)
		}
	}
	if d := sl.all(); len(d) != 2 || d[0] > webhooksender.DefaultBaseDelay || d[1] > 2*webhooksender.DefaultBaseDelay {
		t.Errorf("waits %v, want two under 500ms and 1s", d)
	}
}

// TestMessageIDIsTheWebhookID: the engine's Message.ID is the webhook-id, so
// two Send calls for one message (a retry from asyncsender) share it.
func TestMessageIDIsTheWebhookID(t *testing.T) {
	r := newReceiver(t, status(200))
	s := newSender(t, r.URL, nil, nil)
	m := smsMessage()
	m.ID = "msg_0123456789abcdef0123456789abcdef"
	for range 2 {
		if err := s.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	for i, h := range r.got() {
		if got := h.header.Get("webhook-id"); got != m.ID {
			t.Errorf("send %d: webhook-id %q, want %q", i+1, got, m.ID)
		}
	}
}

// constReader yields one byte forever, making the jitter predictable: all
// 0xff bytes draw (nearly) the ceiling, zeros draw zero.
type constReader byte

func (c constReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(c)
	}
	return len(p), nil
}

func TestBackoff(t *testing.T) {
	r := newReceiver(t, status(503))
	for _, tc := range []struct {
		name string
		rnd  constReader
		want []time.Duration
	}{
		{"zero jitter", 0, []time.Duration{0, 0, 0, 0, 0}},
		{"ceilings", 0xff, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 500 * time.Millisecond, 500 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sl sleeps
			s := newSender(t, r.URL, &sl, func(c *webhooksender.Config) {
				c.MaxAttempts, c.BaseDelay, c.MaxDelay, c.Rand = 6, 100*time.Millisecond, 500*time.Millisecond, tc.rnd
			})
			err := s.Send(context.Background(), smsMessage())
			var we *webhooksender.Error
			if !errors.As(err, &we) || we.StatusCode != 503 || we.Attempts != 6 || !we.Temporary() {
				t.Fatalf("Send = %v, want a temporary 503 after 6 attempts", err)
			}
			got := sl.all()
			if len(got) != len(tc.want) {
				t.Fatalf("waits %v, want %v", got, tc.want)
			}
			for i := range got {
				// All-0xff bytes draw just under the ceiling.
				if got[i] > tc.want[i] || got[i] < tc.want[i]*99/100 {
					t.Errorf("wait %d is %v, want %v", i+1, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, header string
		want         time.Duration
	}{
		{"seconds", "3", 3 * time.Second},
		{"HTTP date", now.Add(7 * time.Second).Format(http.TimeFormat), 7 * time.Second},
		{"date in the past", now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"capped", "3600", 10 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", tc.header)
				w.WriteHeader(http.StatusTooManyRequests)
			}, status(200))
			var sl sleeps
			s := newSender(t, r.URL, &sl, func(c *webhooksender.Config) {
				c.Now = func() time.Time { return now }
				c.MaxDelay = 10 * time.Second
			})
			if err := s.Send(context.Background(), smsMessage()); err != nil {
				t.Fatal(err)
			}
			if got := sl.all(); len(got) != 1 || got[0] != tc.want {
				t.Fatalf("waits %v, want [%v]", got, tc.want)
			}
			if hits := r.got(); len(hits) != 2 || hits[0].header.Get("webhook-id") != hits[1].header.Get("webhook-id") {
				t.Fatalf("%d attempts or ids differ", len(hits))
			}
		})
	}
}

// With one attempt (behind delivery/asyncsender), the error carries the
// receiver's Retry-After for the queue to honour, uncapped: the queue caps
// it with its own MaxDelay.
func TestErrorRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name, header string
		want         time.Duration
		ok           bool
	}{
		{"asked", "3600", time.Hour, true},
		{"asked for none", "", 0, false},
		{"unreadable", "soon", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
				if tc.header != "" {
					w.Header().Set("Retry-After", tc.header)
				}
				w.WriteHeader(http.StatusTooManyRequests)
			})
			var sl sleeps
			err := newSender(t, r.URL, &sl, func(c *webhooksender.Config) { c.MaxAttempts = 1 }).Send(context.Background(), smsMessage())
			var we *webhooksender.Error
			if !errors.As(err, &we) || we.Attempts != 1 || len(sl.all()) != 0 {
				t.Fatalf("Send = %v after waits %v, want one attempt and no wait", err, sl.all())
			}
			if d, ok := we.RetryAfter(); d != tc.want || ok != tc.ok {
				t.Fatalf("RetryAfter() = %v, %v; want %v, %v", d, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestClientErrorsAreNotRetried(t *testing.T) {
	echo := func(code int) http.HandlerFunc {
		return func(w http.ResponseWriter, req *http.Request) {
			// A careless receiver echoes the request, code included.
			w.WriteHeader(code)
			b, _ := io.ReadAll(req.Body)
			w.Write([]byte("bad request: "))
			w.Write(b)
		}
	}
	for _, tc := range []struct {
		status int
		kind   error
	}{
		{400, nil},
		{404, nil},
		{401, recovery.ErrDeliveryUnauthorized},
		{403, recovery.ErrDeliveryForbidden},
		{307, nil}, // redirects are not followed
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			r := newReceiver(t, echo(tc.status))
			var sl sleeps
			err := newSender(t, r.URL+"?token=gateway-token", &sl, nil).Send(context.Background(), smsMessage())
			var we *webhooksender.Error
			if !errors.As(err, &we) || we.StatusCode != tc.status || we.Attempts != 1 || we.Temporary() {
				t.Fatalf("Send = %v, want a permanent %d after one attempt", err, tc.status)
			}
			if len(r.got()) != 1 || len(sl.all()) != 0 {
				t.Fatalf("%d attempts, %d waits", len(r.got()), len(sl.all()))
			}
			if tc.kind != nil && !errors.Is(err, tc.kind) {
				t.Errorf("errors.Is(%v, %v) is false", err, tc.kind)
			}
			for _, other := range []error{recovery.ErrDeliveryUnauthorized, recovery.ErrDeliveryForbidden} {
				if other != tc.kind && errors.Is(err, other) {
					t.Errorf("a %d reads as %v", tc.status, other)
				}
			}
			if !strings.Contains(err.Error(), "bad request") && tc.status != 307 {
				t.Errorf("the error lacks the receiver's explanation: %v", err)
			}
			mustNotLeak(t, err)
		})
	}
}

func TestAttemptTimeout(t *testing.T) {
	release := make(chan struct{})
	r := newReceiver(t, func(w http.ResponseWriter, req *http.Request) {
		select {
		case <-req.Context().Done():
		case <-release:
		}
	})
	defer close(release) // before the server's Close, which waits for handlers
	var sl sleeps
	s := newSender(t, r.URL, &sl, func(c *webhooksender.Config) { c.AttemptTimeout, c.MaxAttempts = 100*time.Millisecond, 2 })
	start := time.Now()
	err := s.Send(context.Background(), smsMessage())
	elapsed := time.Since(start)
	var we *webhooksender.Error
	if !errors.As(err, &we) || !errors.Is(err, context.DeadlineExceeded) || we.Attempts != 2 || we.StatusCode != 0 || !we.Temporary() {
		t.Fatalf("Send = %v, want a timeout after 2 attempts", err)
	}
	if elapsed < 200*time.Millisecond || elapsed > 3*time.Second {
		t.Errorf("two 100ms attempts took %s", elapsed)
	}
	mustNotLeak(t, err)
}

func TestConnectionRefusedIsRetried(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String() + "/hook"
	l.Close()
	var sl sleeps
	err = newSender(t, url, &sl, nil).Send(context.Background(), smsMessage())
	var we *webhooksender.Error
	if !errors.As(err, &we) || we.Attempts != 3 || !we.Temporary() || len(sl.all()) != 2 {
		t.Fatalf("Send = %v after %d waits, want 3 attempts", err, len(sl.all()))
	}
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Errorf("the network error is not reachable with errors.As: %v", err)
	}
}

func TestContext(t *testing.T) {
	r := newReceiver(t, status(500))
	t.Run("cancelled while waiting", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		s := newSender(t, r.URL, nil, func(c *webhooksender.Config) {
			c.BaseDelay, c.MaxDelay = time.Hour, time.Hour
			c.Sleep = func(ctx context.Context, d time.Duration) error { cancel(); <-ctx.Done(); return ctx.Err() }
		})
		err := s.Send(ctx, smsMessage())
		var we *webhooksender.Error
		if !errors.Is(err, context.Canceled) || !errors.As(err, &we) || we.Attempts != 1 {
			t.Fatalf("Send = %v, want context.Canceled after 1 attempt", err)
		}
	})
	t.Run("deadline before the next attempt", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		var sl sleeps
		s := newSender(t, r.URL, &sl, func(c *webhooksender.Config) {
			c.BaseDelay, c.MaxDelay, c.Rand = time.Minute, time.Minute, constReader(0xff)
		})
		err := s.Send(ctx, smsMessage())
		var we *webhooksender.Error
		if !errors.As(err, &we) || we.StatusCode != 500 || we.Attempts != 1 || len(sl.all()) != 0 {
			t.Fatalf("Send = %v after %v waits, want to give up after 1 attempt without waiting", err, sl.all())
		}
	})
	t.Run("already done", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		before := len(r.got())
		err := newSender(t, r.URL, nil, nil).Send(ctx, smsMessage())
		if !errors.Is(err, context.Canceled) || len(r.got()) != before {
			t.Fatalf("Send = %v", err)
		}
	})
}

func TestPayloadRedacts(t *testing.T) {
	p := webhooksender.Payload{Type: "recovery.code", Medium: recovery.SMS, To: "+15550100", Code: code, Text: "code " + code}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("got", "payload", p)
	for _, s := range []string{p.String(), fmt.Sprintf("%v %+v %#v %s", p, p, p, p), logged.String()} {
		if strings.Contains(s, code) {
			t.Errorf("the code leaks: %s", s)
		}
	}
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  webhooksender.Config
		want string
	}{
		{"no URL", webhooksender.Config{Secret: secret}, "Config.URL is empty"},
		{"relative URL", webhooksender.Config{URL: "/hook", Secret: secret}, "absolute"},
		{"plain http to a remote host", webhooksender.Config{URL: "http://sms.example.com/hook", Secret: secret}, "use https"},
		{"ftp", webhooksender.Config{URL: "ftp://sms.example.com/hook", Secret: secret}, "scheme"},
		{"short secret", webhooksender.Config{URL: "https://sms.example.com/hook", Secret: []byte("short")}, "Config.Secret has 5 bytes"},
		{"webhook header", webhooksender.Config{URL: "https://sms.example.com/hook", Secret: secret, Header: http.Header{"Webhook-Id": {"x"}}}, "Webhook-Id"},
		{"header injection", webhooksender.Config{URL: "https://sms.example.com/hook", Secret: secret, Header: http.Header{"X-A": {"a\r\nX-B: b"}}}, "control character"},
		{"delays", webhooksender.Config{URL: "https://sms.example.com/hook", Secret: secret, BaseDelay: time.Minute, MaxDelay: time.Second}, "BaseDelay"},
		{"attempts", webhooksender.Config{URL: "https://sms.example.com/hook", Secret: secret, MaxAttempts: -1}, "MaxAttempts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := webhooksender.New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want an error mentioning %q", err, tc.want)
			}
			if strings.Contains(err.Error(), string(secret)) {
				t.Errorf("the error holds the secret")
			}
		})
	}
	for _, url := range []string{"https://sms.example.com/hook", "http://localhost:8080/hook", "http://127.0.0.1/hook", "http://[::1]:9/h"} {
		if _, err := webhooksender.New(webhooksender.Config{URL: url, Secret: secret}); err != nil {
			t.Errorf("New(%s) = %v", url, err)
		}
	}
}

// TestPayloadKind: a code says "kind":"code", the password-changed notice
// "password_changed", with no code, so a receiver can tell them apart.
func TestPayloadKind(t *testing.T) {
	r := newReceiver(t, status(http.StatusNoContent))
	s := newSender(t, r.URL, nil, nil)
	notice := smsMessage()
	notice.Kind, notice.Code, notice.Text = recovery.DeliveryPasswordChanged, "", "Your password was changed."
	for _, m := range []recovery.Message{smsMessage(), notice} {
		if err := s.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	hits := r.got()
	if len(hits) != 2 {
		t.Fatalf("%d requests, want 2", len(hits))
	}
	for i, want := range []struct{ kind, code string }{{"code", code}, {"password_changed", ""}} {
		var p webhooksender.Payload
		if err := json.Unmarshal(hits[i].body, &p); err != nil {
			t.Fatal(err)
		}
		if p.Kind != want.kind || p.Code != want.code {
			t.Errorf("payload %d: kind %q code %q, want %q %q: %s", i, p.Kind, p.Code, want.kind, want.code, hits[i].body)
		}
	}
}
