// Package webhooksender delivers recovery messages by HTTP POST of a JSON
// Payload to a URL you run, typically an adapter in front of an SMS gateway
// or an email API. Requests are signed as Standard Webhooks
// (recovery/standardwebhooks): the receiver checks webhook-signature with
// the shared secret before it trusts the body.
//
// The webhook-id is the message's recovery.Message.ID (a fresh random one
// when it is empty), the same on every retry, including retries made above
// this sender by delivery/asyncsender, so the receiver can drop duplicates.
// An attempt that times out, fails to connect, or gets a 5xx or 429 answer
// is retried with exponential backoff and full jitter (a Retry-After header
// on such an answer, in seconds or as a date, sets the wait instead; both
// capped by Config.MaxDelay), up to Config.MaxAttempts and never past the
// context's deadline. Any other 4xx fails at once: 401 wraps
// recovery.ErrDeliveryUnauthorized and 403 wraps
// recovery.ErrDeliveryForbidden, which the engine reports as a
// misconfiguration. Redirects are not followed by the default client.
//
// Retry in one place. Behind the engine's default outbox, which makes one
// attempt per delivery, this sender's own retries are the only ones: keep
// them. Behind delivery/asyncsender, which retries each delivery itself,
// set Config.MaxAttempts to 1, or the two layers multiply (3 × 3 = 9
// requests with both defaults); the queue then honours the receiver's
// Retry-After through Error.RetryAfter.
//
// The body carries the code, since the receiver must deliver it; errors
// never do (a response body that echoes it is redacted), and neither do
// the Payload's String, Format and LogValue.
package webhooksender

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/recoverykit/recoverykit/delivery/internal/backoff"
	"github.com/recoverykit/recoverykit/delivery/internal/loopback"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/standardwebhooks"
)

var _ recovery.Sender = (*Sender)(nil)

// DefaultType is the Payload.Type of recovery messages.
const DefaultType = "recovery.code"

// Defaults for Config's zero values.
const (
	DefaultAttemptTimeout = 10 * time.Second
	DefaultMaxAttempts    = 3
	DefaultBaseDelay      = 500 * time.Millisecond
	DefaultMaxDelay       = 10 * time.Second
)

// MinSecretBytes is the shortest secret New accepts, the lower end of the
// Standard Webhooks recommendation (24 to 64 bytes).
const MinSecretBytes = 24

// Config configures a Sender. URL and Secret are required; every other zero
// value means the default documented on its field.
type Config struct {
	// URL receives the POSTs. It must be https, or http to a loopback
	// host (localhost, 127.0.0.0/8, ::1). Only its scheme, host and path
	// appear in errors, so a token in the query stays out of logs.
	URL string
	// Secret signs every request; share it with the receiver, usually as
	// standardwebhooks.FormatSecret(secret). At least MinSecretBytes random
	// bytes. Required.
	Secret []byte
	// Header holds extra request headers, such as the gateway's
	// Authorization. It may not set the webhook-* headers or Content-Type.
	Header http.Header
	// Client sends the requests. Default: a client on
	// http.DefaultTransport that does not follow redirects.
	Client *http.Client

	// AttemptTimeout bounds each attempt, from sending the request to
	// reading the response. Default 10 s.
	AttemptTimeout time.Duration
	// MaxAttempts bounds the attempts per message, the first included; 1
	// means no retry. Default 3. Set 1 behind delivery/asyncsender, which
	// retries on its own (see the package documentation).
	MaxAttempts int
	// BaseDelay is the backoff before the second attempt; it doubles for
	// each later one, and each wait is drawn uniformly from zero to that
	// value ("full jitter"). Default 500 ms.
	BaseDelay time.Duration
	// MaxDelay caps each wait, including one a Retry-After header asks
	// for. Default 10 s.
	MaxDelay time.Duration

	// Type is Payload.Type. Default DefaultType, "recovery.code".
	Type string

	// Now is the clock for webhook-timestamp and Retry-After dates.
	// Default time.Now.
	Now func() time.Time
	// Sleep waits between attempts; it returns early with ctx's error when
	// ctx ends. Default: a timer. Tests inject one that only records.
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand is the randomness for message ids and jitter. Default
	// crypto/rand.Reader.
	Rand io.Reader
}

// Payload is the JSON body of a request. Receivers written in Go can decode
// into it. Its String, Format and LogValue leave out the code and bodies.
type Payload struct {
	// Type is Config.Type, "recovery.code" by default.
	Type string `json:"type"`
	// Medium is "EMAIL" or "SMS".
	Medium recovery.DeliveryMedium `json:"medium"`
	// To is the email address or E.164 phone number.
	To string `json:"to"`
	// Kind is "code" for a code message, or "password_changed" for the
	// notice that follows a reset, which carries no code (recovery's
	// DeliveryKind; an empty Kind is "code").
	Kind string `json:"kind"`
	// Code is the confirmation code; empty in a notice.
	Code string `json:"code"`
	// Subject is the email subject (empty for SMS).
	Subject string `json:"subject,omitempty"`
	// Text is the rendered text body, the SMS text for SMS.
	Text string `json:"text,omitempty"`
	// HTML is the rendered HTML body (empty for SMS).
	HTML string `json:"html,omitempty"`
	// Locale is the language the bodies are in.
	Locale string `json:"locale,omitempty"`
	// Username is the user's username.
	Username string `json:"username,omitempty"`
	// Sub is the user's immutable id.
	Sub string `json:"sub,omitempty"`
	// UserPoolID is the pool that asked (recovery.Config.PoolID).
	UserPoolID string `json:"userPoolId,omitempty"`
	// ClientID is the app client that asked.
	ClientID string `json:"clientId,omitempty"`
	// ClientMetadata is the request's ClientMetadata.
	ClientMetadata map[string]string `json:"clientMetadata,omitempty"`
}

// String describes the payload without its code or bodies.
func (p Payload) String() string {
	code := `""`
	if p.Code != "" {
		code = "[redacted]"
	}
	return fmt.Sprintf("Payload{Type:%q Medium:%s To:%q Username:%q Locale:%q Code:%s}", p.Type, p.Medium, p.To, p.Username, p.Locale, code)
}

// Format makes every fmt verb print String, so %v, %+v and %#v redact too.
func (p Payload) Format(f fmt.State, _ rune) { fmt.Fprint(f, p.String()) }

// LogValue implements slog.LogValuer without the code or bodies.
func (p Payload) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("type", p.Type),
		slog.String("medium", string(p.Medium)),
		slog.String("to", p.To),
		slog.String("username", p.Username),
		slog.String("locale", p.Locale),
	)
}

// Sender posts messages to a webhook. It is safe for concurrent use.
type Sender struct {
	cfg     Config
	url     string // as given
	display string // scheme://host/path, for errors
	backoff backoff.Policy
}

// New checks cfg and returns a Sender. It does not connect. The error lists
// every problem found, each saying what to change.
func New(cfg Config) (*Sender, error) {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("webhooksender: "+format, args...)) }
	display := checkURL(cfg.URL, add)
	if len(cfg.Secret) < MinSecretBytes {
		add("Config.Secret has %d bytes: use at least %d random bytes (standardwebhooks.ParseSecret reads the whsec_ form)", len(cfg.Secret), MinSecretBytes)
	}
	checkHeader(cfg.Header, add)
	cfg.checkRetries(add)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.Type == "" {
		cfg.Type = DefaultType
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = backoff.Sleep
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	cfg.Secret = bytes.Clone(cfg.Secret)
	cfg.Header = cfg.Header.Clone()
	policy := backoff.Policy{Base: cfg.BaseDelay, Max: cfg.MaxDelay, Rand: cfg.Rand}
	return &Sender{cfg: cfg, url: cfg.URL, display: display, backoff: policy}, nil
}

// checkURL checks the receiver's URL and returns it without query and
// credentials, for messages.
func checkURL(raw string, add func(string, ...any)) string {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		add("Config.URL is empty: set the https URL that receives the messages")
	case err != nil || u.Host == "":
		add("Config.URL is not an absolute URL: use https://host/path")
	case u.Scheme == "https":
	case u.Scheme == "http" && loopback.Is(u.Hostname()):
	case u.Scheme == "http":
		add("Config.URL uses http to %s: the body holds the code, so use https (plain http is allowed to loopback hosts only)", u.Hostname())
	default:
		add("Config.URL has scheme %q: use https", u.Scheme)
	}
	if err != nil || u == nil {
		return ""
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// checkHeader refuses headers the sender sets itself and control
// characters.
func checkHeader(h http.Header, add func(string, ...any)) {
	for k, vs := range h {
		switch http.CanonicalHeaderKey(k) {
		case "Webhook-Id", "Webhook-Timestamp", "Webhook-Signature", "Content-Type", "Content-Length", "Host":
			add("Config.Header sets %s, which the sender sets itself: remove it", k)
		}
		for _, v := range vs {
			if strings.IndexFunc(v, func(r rune) bool { return unicode.IsControl(r) && r != '\t' }) >= 0 {
				add("Config.Header[%q] holds a line break or another control character: remove it", k)
			}
		}
	}
}

// checkRetries fills and checks the retry settings.
func (cfg *Config) checkRetries(add func(string, ...any)) {
	if cfg.AttemptTimeout == 0 {
		cfg.AttemptTimeout = DefaultAttemptTimeout
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.BaseDelay == 0 {
		cfg.BaseDelay = DefaultBaseDelay
	}
	if cfg.MaxDelay == 0 {
		cfg.MaxDelay = DefaultMaxDelay
	}
	if cfg.AttemptTimeout < 0 {
		add("Config.AttemptTimeout is %s: use a positive duration, or 0 for %s", cfg.AttemptTimeout, DefaultAttemptTimeout)
	}
	if cfg.MaxAttempts < 0 || cfg.MaxAttempts > 100 {
		add("Config.MaxAttempts is %d: use 1 (no retry) to 100, or 0 for %d", cfg.MaxAttempts, DefaultMaxAttempts)
	}
	if cfg.BaseDelay < 0 || cfg.MaxDelay < 0 {
		add("Config.BaseDelay or MaxDelay is negative: use positive durations, or 0 for the defaults")
	} else if cfg.BaseDelay > cfg.MaxDelay {
		add("Config.BaseDelay %s is above MaxDelay %s: lower BaseDelay or raise MaxDelay", cfg.BaseDelay, cfg.MaxDelay)
	}
}

// Send posts m, retrying as the package documentation describes, and
// returns nil once the receiver answered 2xx. Any medium is accepted.
func (s *Sender) Send(ctx context.Context, m recovery.Message) error {
	body, err := s.encode(m)
	if err != nil {
		return err
	}
	// The engine's message id, when there is one, so the same id also
	// survives retries made above this sender (delivery/asyncsender).
	id := m.ID
	if id == "" {
		if id, err = s.newID(); err != nil {
			return err
		}
	}
	for attempt := 1; ; attempt++ {
		e := s.attempt(ctx, id, body, m.Code)
		if e == nil {
			return nil
		}
		e.Attempts = attempt
		if !e.temporary || attempt >= s.cfg.MaxAttempts || ctx.Err() != nil {
			return e
		}
		delay := s.backoff.Delay(attempt, e.retryAfter)
		if d, ok := ctx.Deadline(); ok && time.Until(d) < delay {
			// The next attempt could not finish in time: give up now
			// rather than sleep into the deadline.
			return e
		}
		if err := s.cfg.Sleep(ctx, delay); err != nil {
			e.detail += "; stopped waiting to retry: " + err.Error()
			e.wrapped = append(e.wrapped, err)
			return e
		}
	}
}

// payloadKind names a message's kind in the payload: a code's empty
// DeliveryKind as "code".
func payloadKind(k recovery.DeliveryKind) string {
	if k == recovery.DeliveryCode {
		return "code"
	}
	return string(k)
}

func (s *Sender) encode(m recovery.Message) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(Payload{
		Type: s.cfg.Type, Kind: payloadKind(m.Kind), Medium: m.Medium, To: m.To, Code: m.Code,
		Subject: m.Subject, Text: m.Text, HTML: m.HTML, Locale: m.Locale,
		Username: m.Username, Sub: m.Sub, UserPoolID: m.Pool, ClientID: m.ClientID,
		ClientMetadata: m.ClientMetadata,
	})
	if err != nil {
		// Only strings and a map of strings: this cannot happen, and the
		// encoder's message would not hold the code anyway.
		return nil, fmt.Errorf("webhooksender: encoding the payload: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// newID returns "msg_" and 32 random hex digits.
func (s *Sender) newID() (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(s.cfg.Rand, b[:]); err != nil {
		return "", fmt.Errorf("webhooksender: reading randomness for the message id: %w", err)
	}
	return "msg_" + hex.EncodeToString(b[:]), nil
}

// attempt makes one POST and returns nil on a 2xx answer. code is only used
// to redact a response that echoes it.
func (s *Sender) attempt(ctx context.Context, id string, body []byte, code string) *Error {
	actx, cancel := context.WithTimeout(ctx, s.cfg.AttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return s.newError(0, "building the request: "+err.Error(), false)
	}
	for k, vs := range s.cfg.Header {
		req.Header[k] = append([]string(nil), vs...)
	}
	req.Header.Set("Content-Type", "application/json")
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "recoverykit-webhooksender")
	}
	standardwebhooks.SetHeaders(req.Header, s.cfg.Secret, id, s.cfg.Now(), body)

	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		return s.transportError(ctx, actx, err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused

	st := resp.StatusCode
	if st >= 200 && st < 300 {
		return nil
	}
	detail := fmt.Sprintf("%d %s", st, http.StatusText(st))
	if text := clean(string(snippet), code); text != "" {
		detail += ": " + text
	}
	switch {
	case st == http.StatusUnauthorized:
		return s.newError(st, detail, false, recovery.ErrDeliveryUnauthorized)
	case st == http.StatusForbidden:
		return s.newError(st, detail, false, recovery.ErrDeliveryForbidden)
	case st == http.StatusTooManyRequests || st >= 500:
		e := s.newError(st, detail, true)
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), s.cfg.Now()); ok {
			e.retryAfter = d
		}
		return e
	}
	return s.newError(st, detail, false)
}

// transportError interprets an error from Client.Do: the request's context
// ending the attempt, the attempt's own timeout, an untrusted certificate,
// or a network failure. The URL is left out of the message.
func (s *Sender) transportError(ctx, actx context.Context, err error) *Error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var certErr *tls.CertificateVerificationError
	var unknownAuthority x509.UnknownAuthorityError
	var hostnameErr x509.HostnameError
	switch {
	case ctx.Err() != nil:
		return s.newError(0, "stopped: "+context.Cause(ctx).Error(), false, ctx.Err())
	case actx.Err() != nil:
		return s.newError(0, fmt.Sprintf("no answer within the attempt timeout of %s", s.cfg.AttemptTimeout), true, context.DeadlineExceeded)
	case errors.As(err, &certErr), errors.As(err, &unknownAuthority), errors.As(err, &hostnameErr):
		return s.newError(0, err.Error(), false, err)
	}
	return s.newError(0, err.Error(), true, err)
}

func (s *Sender) newError(status int, detail string, temporary bool, wrapped ...error) *Error {
	return &Error{URL: s.display, StatusCode: status, detail: detail, temporary: temporary, wrapped: wrapped, retryAfter: -1}
}

// clean makes a response body fit for an error message: one line of
// printable text, at most 200 bytes, with the code redacted in case the
// receiver echoes the request.
func clean(s, code string) string {
	if code != "" {
		s = strings.ReplaceAll(s, code, "[redacted]")
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "") + "..."
	}
	return s
}

// parseRetryAfter reads Retry-After as seconds or as an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(min(secs, 1<<32)) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// Error is a failed delivery. Its text names the URL's scheme, host and
// path, the last answer and the number of attempts; never the code.
type Error struct {
	// URL is the receiver's scheme, host and path (no query).
	URL string
	// StatusCode is the last HTTP status, or 0 when no answer came (a
	// timeout, a refused connection).
	StatusCode int
	// Attempts is how many attempts were made.
	Attempts int

	detail     string
	temporary  bool
	wrapped    []error
	retryAfter time.Duration // negative when the receiver asked for no wait
}

// Error describes the failure.
func (e *Error) Error() string {
	return fmt.Sprintf("webhooksender: POST %s: %s (attempts: %d)", e.URL, e.detail, e.Attempts)
}

// Unwrap returns what the error wraps: recovery.ErrDeliveryUnauthorized
// (401) or recovery.ErrDeliveryForbidden (403), context.DeadlineExceeded
// for an attempt timeout, the context's error when it ended the Send, or
// the network error.
func (e *Error) Unwrap() []error { return e.wrapped }

// Temporary reports whether the last failure was of a kind that is retried
// (timeout, network error, 5xx, 429): trying again later may succeed.
func (e *Error) Temporary() bool { return e.temporary }

// RetryAfter returns the wait the receiver asked for in a Retry-After
// header on its last answer (a 429 or 5xx), before any cap; ok is false
// when it asked for none. delivery/asyncsender honours it when it does the
// retrying (see the package documentation).
func (e *Error) RetryAfter() (d time.Duration, ok bool) {
	if e.retryAfter < 0 {
		return 0, false
	}
	return e.retryAfter, true
}
