package sealedjob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/delivery/internal/backoff"
	"github.com/recoverykit/recoverykit/recovery"
)

func key(id string, fill byte) recovery.Key {
	return recovery.Key{ID: id, Secret: bytes.Repeat([]byte{fill}, 32)}
}

func delivery() recovery.Delivery {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return recovery.Delivery{
		ID: "msg_0123456789abcdef0123456789abcdef", Pool: "us-east-1_pool", ClientID: "client1",
		Medium: recovery.Email, To: "alice.secret@example.com",
		Username: "alice-the-user", Sub: "sub-1234",
		Attributes: map[string]string{"given_name": "Alicia-Attribute", "locale": "fr-FR"},
		Code:       "736412", KeyID: "k1",
		IssuedAt: now, ExpiresAt: now.Add(time.Hour),
		ClientMetadata: map[string]string{"app": "mobile-meta"},
	}
}

func mustSealer(t *testing.T, keys ...recovery.Key) *Sealer {
	t.Helper()
	s, err := NewSealer(keys)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func same(a, b recovery.Delivery) bool {
	return a.ID == b.ID && a.Pool == b.Pool && a.ClientID == b.ClientID && a.Medium == b.Medium &&
		a.To == b.To && a.Username == b.Username && a.Sub == b.Sub && a.Code == b.Code && a.KeyID == b.KeyID &&
		a.IssuedAt.Equal(b.IssuedAt) && a.ExpiresAt.Equal(b.ExpiresAt) && a.Decoy == b.Decoy &&
		a.Kind == b.Kind && a.Operation == b.Operation &&
		fmt.Sprint(a.Attributes) == fmt.Sprint(b.Attributes) && fmt.Sprint(a.ClientMetadata) == fmt.Sprint(b.ClientMetadata)
}

func TestRoundTrip(t *testing.T) {
	s := mustSealer(t, key("k1", 1))
	notice := delivery()
	notice.ID, notice.Code, notice.KeyID = "msg_notice", "", ""
	notice.Kind, notice.Operation = recovery.DeliveryPasswordChanged, recovery.OpConfirmForgotPassword
	for _, d := range []recovery.Delivery{delivery(), {ID: "msg_decoy", Decoy: true, ExpiresAt: time.Now()}, notice} {
		sealed, err := s.Seal(d)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Open(sealed)
		if err != nil {
			t.Fatal(err)
		}
		if !same(got, d) || got.Code != d.Code {
			t.Errorf("Open(Seal(d)) = %#v, want the same delivery", got)
		}
		if id, err := ID(sealed); err != nil || id != d.ID {
			t.Errorf("ID = %q, %v; want %q", id, err, d.ID)
		}
	}
}

func TestSealDrawsNonces(t *testing.T) {
	s := mustSealer(t, key("k1", 1))
	a, _ := s.Seal(delivery())
	b, _ := s.Seal(delivery())
	if bytes.Equal(a, b) {
		t.Error("sealing the same delivery twice gave the same bytes")
	}
}

func TestRotation(t *testing.T) {
	old := mustSealer(t, key("k1", 1))
	sealed, err := old.Seal(delivery())
	if err != nil {
		t.Fatal(err)
	}
	rotated := mustSealer(t, key("k2", 2), key("k1", 1))
	if got, err := rotated.Open(sealed); err != nil || !same(got, delivery()) {
		t.Fatalf("a job sealed under the old key: Open = %v, %v", got, err)
	}
	fresh, _ := rotated.Seal(delivery())
	if _, err := old.Open(fresh); !errors.Is(err, ErrOpen) || !strings.Contains(err.Error(), `"k2"`) {
		t.Errorf("a job sealed under k2 opened with only k1: err = %v, want ErrOpen naming k2", err)
	}
}

func TestUnknownKeyID(t *testing.T) {
	sealed, _ := mustSealer(t, key("gone", 3)).Seal(delivery())
	_, err := mustSealer(t, key("k1", 1)).Open(sealed)
	if !errors.Is(err, ErrOpen) {
		t.Fatalf("err = %v, want ErrOpen", err)
	}
}

func TestSameIDOtherSecret(t *testing.T) {
	sealed, _ := mustSealer(t, key("k1", 3)).Seal(delivery())
	if _, err := mustSealer(t, key("k1", 1)).Open(sealed); !errors.Is(err, ErrOpen) {
		t.Fatalf("err = %v, want ErrOpen", err)
	}
}

func TestTamper(t *testing.T) {
	s := mustSealer(t, key("k1", 1), key("k2", 2))
	sealed, _ := s.Seal(delivery())
	for i := range sealed {
		for _, flip := range []byte{0x01, 0x80} {
			b := bytes.Clone(sealed)
			b[i] ^= flip
			if d, err := s.Open(b); err == nil {
				t.Fatalf("byte %d flipped by %#x: Open succeeded with %v", i, flip, d)
			} else if !errors.Is(err, ErrOpen) {
				t.Fatalf("byte %d: err = %v, want ErrOpen", i, err)
			}
		}
	}
	for n := range len(sealed) {
		if _, err := s.Open(sealed[:n]); err == nil {
			t.Fatalf("truncated to %d bytes: Open succeeded", n)
		}
	}
	if _, err := s.Open(append(bytes.Clone(sealed), 0)); err == nil {
		t.Fatal("a byte appended: Open succeeded")
	}
}

// TestSwappedID rebuilds an envelope whose clear ID names another delivery
// but whose ciphertext is authentic for that header: Open must still see
// that the sealed delivery is another.
func TestSwappedID(t *testing.T) {
	s := mustSealer(t, key("k1", 1))
	d := delivery()
	d.ID = "msg_other"
	sealed, _ := s.Seal(d)
	// Reseal the plaintext of d under the header of delivery().ID, as an
	// attacker holding the key could; Open compares the two IDs.
	keyID, _, _, n, err := parse(sealed)
	if err != nil {
		t.Fatal(err)
	}
	aead := s.aeads[keyID]
	plain, err := aead.Open(nil, sealed[n:n+nonceSize], sealed[n+nonceSize:], sealed[:n])
	if err != nil {
		t.Fatal(err)
	}
	id := delivery().ID
	header := append([]byte{version, byte(len(keyID))}, keyID...)
	header = append(header, byte(len(id)))
	header = append(header, id...)
	nonce := make([]byte, nonceSize)
	forged := aead.Seal(append(bytes.Clone(header), nonce...), nonce, plain, header)
	if _, err := s.Open(forged); !errors.Is(err, ErrOpen) || !strings.Contains(err.Error(), "another delivery") {
		t.Fatalf("err = %v, want ErrOpen about another delivery", err)
	}
}

func TestSealedBytesHoldNoSecret(t *testing.T) {
	d := delivery()
	sealed, err := mustSealer(t, key("k1", 1)).Seal(d)
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{d.Code, d.To, d.Username, d.Sub, "mobile-meta"}
	for _, v := range d.Attributes {
		secrets = append(secrets, v)
	}
	for _, v := range secrets {
		if bytes.Contains(sealed, []byte(v)) {
			t.Errorf("the sealed job contains %q", v)
		}
	}
}

func TestNewSealerErrors(t *testing.T) {
	secret := bytes.Repeat([]byte("s"), 31)
	for name, keys := range map[string][]recovery.Key{
		"none":      nil,
		"short":     {{ID: "k1", Secret: secret}},
		"no id":     {{ID: "", Secret: bytes.Repeat([]byte("s"), 32)}},
		"duplicate": {key("k1", 1), key("k1", 2)},
	} {
		_, err := NewSealer(keys)
		if err == nil {
			t.Errorf("%s: NewSealer succeeded", name)
			continue
		}
		if strings.Contains(err.Error(), "sss") {
			t.Errorf("%s: the error %q contains the secret", name, err)
		}
	}
}

func TestSealErrorsHoldNoContent(t *testing.T) {
	d := delivery()
	d.ID = ""
	_, err := mustSealer(t, key("k1", 1)).Seal(d)
	if err == nil || strings.Contains(err.Error(), d.Code) || strings.Contains(err.Error(), d.To) {
		t.Fatalf("err = %v, want an error without the delivery's content", err)
	}
}

type retryAfterErr struct{ d time.Duration }

func (e retryAfterErr) Error() string                     { return "slow down" }
func (e retryAfterErr) RetryAfter() (time.Duration, bool) { return e.d, true }

func TestPolicyNext(t *testing.T) {
	now := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	p := Policy{MaxAttempts: 3, Backoff: backoff.Policy{Base: time.Second, Max: 10 * time.Second}}
	live := recovery.Delivery{ExpiresAt: now.Add(time.Hour)}
	temporary := errors.New("connection refused")
	for _, c := range []struct {
		name    string
		d       recovery.Delivery
		err     error
		attempt int
		retry   bool
	}{
		{"retryable", live, temporary, 1, true},
		{"retryable, second", live, temporary, 2, true},
		{"attempts used up", live, temporary, 3, false},
		{"unauthorized", live, fmt.Errorf("smtp: %w", recovery.ErrDeliveryUnauthorized), 1, false},
		{"expired", recovery.Delivery{ExpiresAt: now}, temporary, 1, false},
		{"no expiry", recovery.Delivery{}, temporary, 1, true},
	} {
		retry, wait := p.Next(c.d, c.err, c.attempt, now)
		if retry != c.retry {
			t.Errorf("%s: retry = %v, want %v", c.name, retry, c.retry)
		}
		if retry && (wait < 0 || wait > p.Backoff.Ceiling(c.attempt)) {
			t.Errorf("%s: wait %s out of [0, %s]", c.name, wait, p.Backoff.Ceiling(c.attempt))
		}
	}
	if _, wait := p.Next(live, retryAfterErr{7 * time.Second}, 1, now); wait != 7*time.Second {
		t.Errorf("Retry-After 7s: wait = %s", wait)
	}
	if _, wait := p.Next(live, retryAfterErr{time.Minute}, 1, now); wait != 10*time.Second {
		t.Errorf("Retry-After 1m: wait = %s, want the 10s cap", wait)
	}
}

type panicky struct{}

func (panicky) Deliver(context.Context, recovery.Delivery) error  { panic("code 736412") }
func (panicky) Abandon(context.Context, recovery.Delivery, error) {}

func TestAttemptContainsPanic(t *testing.T) {
	if err := Attempt(context.Background(), panicky{}, delivery()); !errors.Is(err, ErrPanicked) || strings.Contains(err.Error(), "736412") {
		t.Fatalf("err = %v, want ErrPanicked without the panic value", err)
	}
}

func TestDecoyAsLongAsDelivery(t *testing.T) {
	s := mustSealer(t, key("k1", 1))
	real, _ := s.Seal(delivery())
	d := recovery.Delivery{ID: delivery().ID, Pool: "us-east-1_pool", IssuedAt: time.Now(), ExpiresAt: time.Now(), Decoy: true}
	decoy, _ := s.Seal(d)
	if len(real) != len(decoy) {
		t.Errorf("a sealed delivery has %d bytes, a sealed decoy %d: their sizes tell them apart", len(real), len(decoy))
	}
}
