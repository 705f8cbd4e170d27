// Package standardwebhooks signs and verifies HTTP webhooks as the Standard
// Webhooks specification describes (https://www.standardwebhooks.com).
//
// A webhook carries three headers:
//
//	webhook-id:        a unique message id, the same on every retry
//	webhook-timestamp: the attempt's time, in Unix seconds
//	webhook-signature: "v1," + base64(HMAC-SHA256(secret, id + "." + timestamp + "." + body))
//
// The signature header may hold several space-separated signatures (one per
// secret, while a secret is being rotated); a receiver accepts the message
// when any "v1" signature matches. Secrets are usually exchanged as "whsec_"
// followed by the base64 of the key bytes (ParseSecret, FormatSecret).
//
// The package depends on the standard library only, so senders and
// receivers of any kind (delivery, hooks) can share it. It never puts a
// secret or a signature in an error message.
package standardwebhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix begins a secret in its usual text form.
const SecretPrefix = "whsec_"

// DefaultTolerance is how far a timestamp may lie from the receiver's clock,
// in either direction, when Verify is given a zero tolerance. It is the
// value the reference implementations use.
const DefaultTolerance = 5 * time.Minute

// Errors Verify returns (wrapped); test for them with errors.Is.
var (
	// ErrMissingHeaders: webhook-id, webhook-timestamp or
	// webhook-signature is absent or empty.
	ErrMissingHeaders = errors.New("standardwebhooks: missing webhook-id, webhook-timestamp or webhook-signature header")
	// ErrInvalidTimestamp: webhook-timestamp is not a whole number of seconds.
	ErrInvalidTimestamp = errors.New("standardwebhooks: webhook-timestamp is not a Unix time in seconds")
	// ErrTimestampTooOld: the message is older than the tolerance allows
	// (a replay, or a clock far behind).
	ErrTimestampTooOld = errors.New("standardwebhooks: message timestamp too old")
	// ErrTimestampTooNew: the message claims a time further in the future
	// than the tolerance allows.
	ErrTimestampTooNew = errors.New("standardwebhooks: message timestamp too new")
	// ErrNoMatchingSignature: no v1 signature in webhook-signature matches.
	ErrNoMatchingSignature = errors.New("standardwebhooks: no matching signature")
	// ErrInvalidSecret: a secret is empty or not valid base64.
	ErrInvalidSecret = errors.New("standardwebhooks: invalid secret")
)

// ParseSecret decodes a secret given as "whsec_" followed by standard
// base64 (the prefix is optional). The error never contains the secret.
func ParseSecret(s string) ([]byte, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), SecretPrefix)
	if s == "" {
		return nil, fmt.Errorf("%w: it is empty; use %q followed by the base64 of the key", ErrInvalidSecret, SecretPrefix)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: it is not %q followed by standard base64", ErrInvalidSecret, SecretPrefix)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: it decodes to no bytes", ErrInvalidSecret)
	}
	return b, nil
}

// FormatSecret returns the text form of a secret: "whsec_" + base64.
func FormatSecret(secret []byte) string {
	return SecretPrefix + base64.StdEncoding.EncodeToString(secret)
}

// Sign returns the signature of one attempt to deliver body under id at ts
// (truncated to whole seconds): "v1," followed by the base64 of
// HMAC-SHA256(secret, id + "." + unix seconds + "." + body). To sign with
// several secrets, join the results with a space.
func Sign(secret []byte, id string, ts time.Time, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(mac(secret, id, strconv.FormatInt(ts.Unix(), 10), body))
}

func mac(secret []byte, id, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// SetHeaders sets webhook-id, webhook-timestamp and webhook-signature on h
// for one attempt. Use the same id on every retry of a message and a fresh
// ts on each attempt.
func SetHeaders(h http.Header, secret []byte, id string, ts time.Time, body []byte) {
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, Sign(secret, id, ts, body))
}

// Verify checks a received webhook: the three headers are present, the
// timestamp lies within tolerance of now (either way; zero means
// DefaultTolerance), and one of the "v1" signatures in webhook-signature is
// that of body under secret. Signatures are compared in constant time;
// signatures of other versions are skipped. body must be the raw bytes
// received, before any JSON decoding.
//
// To accept a message signed with any of several secrets (during a
// rotation), call Verify once per secret. A receiver should also remember
// recent webhook-id values to drop redelivered messages.
func Verify(secret []byte, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	id, tsText, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || tsText == "" || sigs == "" {
		return ErrMissingHeaders
	}
	if len(secret) == 0 {
		return fmt.Errorf("%w: it is empty", ErrInvalidSecret)
	}
	sec, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return ErrInvalidTimestamp
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	// Compare in whole seconds, as the timestamp is.
	ts := time.Unix(sec, 0)
	switch {
	case now.Sub(ts) > tolerance:
		return ErrTimestampTooOld
	case ts.Sub(now) > tolerance:
		return ErrTimestampTooNew
	}
	want := mac(secret, id, tsText, body)
	for _, sig := range strings.Fields(sigs) {
		version, value, ok := strings.Cut(sig, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(value)
		if err != nil {
			continue
		}
		if hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrNoMatchingSignature
}
