package standardwebhooks_test

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/recovery/standardwebhooks"
)

// Known vectors, computed outside Go so that Sign is checked against an
// independent implementation of the specification.
var vectors = []struct {
	name, secret, id string
	ts               int64
	body, want       string
}{
	{
		// The vector published with the reference libraries (svix,
		// standard-webhooks). Recomputed with:
		//   key=$(printf %s MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw | base64 -d | xxd -p -c 256)
		//   printf %s 'msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{"test": 2432232314}' |
		//     openssl dgst -sha256 -mac HMAC -macopt hexkey:$key -binary | base64
		name:   "reference",
		secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		id:     "msg_p5jXN8AQM9LWM0D4loKWxJek",
		ts:     1614265330,
		body:   `{"test": 2432232314}`,
		want:   "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
	},
	{
		// Ours, with python3:
		//   secret = bytes(range(32))
		//   msg = b'msg_2Lh9KRb0pzN4LxAoUHhtGmiYq3G.1767225600.' + body
		//   'v1,' + base64.b64encode(hmac.new(secret, msg, hashlib.sha256).digest())
		name:   "python3",
		secret: "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
		id:     "msg_2Lh9KRb0pzN4LxAoUHhtGmiYq3G",
		ts:     1767225600,
		body:   `{"type":"recovery.code","medium":"SMS","to":"+15550100","code":"123456"}`,
		want:   "v1,une0qzuGhjB0toU9kcYPWoG3BxW18nrPTbeFc/35Z+8=",
	},
}

func TestSignKnownVectors(t *testing.T) {
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			secret, err := standardwebhooks.ParseSecret(v.secret)
			if err != nil {
				t.Fatal(err)
			}
			ts := time.Unix(v.ts, 0)
			if got := standardwebhooks.Sign(secret, v.id, ts, []byte(v.body)); got != v.want {
				t.Errorf("Sign = %s, want %s", got, v.want)
			}
			h := http.Header{}
			standardwebhooks.SetHeaders(h, secret, v.id, ts, []byte(v.body))
			if h.Get("webhook-id") != v.id || h.Get("webhook-timestamp") != itoa(v.ts) || h.Get("webhook-signature") != v.want {
				t.Errorf("SetHeaders set %v", h)
			}
			if err := standardwebhooks.Verify(secret, h, []byte(v.body), ts.Add(time.Minute), 0); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestVerify(t *testing.T) {
	secret := bytes.Repeat([]byte{7}, 32)
	other := bytes.Repeat([]byte{8}, 32)
	body := []byte(`{"hello":"world"}`)
	ts := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	signed := func() http.Header {
		h := http.Header{}
		standardwebhooks.SetHeaders(h, secret, "msg_1", ts, body)
		return h
	}

	tests := []struct {
		name   string
		header func() http.Header
		body   []byte
		now    time.Time
		tol    time.Duration
		want   error
	}{
		{"valid", signed, body, ts, 0, nil},
		{"valid at the edge of the tolerance", signed, body, ts.Add(time.Minute), time.Minute, nil},
		{"too old", signed, body, ts.Add(5*time.Minute + time.Second), 0, standardwebhooks.ErrTimestampTooOld},
		{"too new", signed, body, ts.Add(-5*time.Minute - time.Second), 0, standardwebhooks.ErrTimestampTooNew},
		{"custom tolerance", signed, body, ts.Add(2 * time.Minute), time.Minute, standardwebhooks.ErrTimestampTooOld},
		{"body changed", signed, []byte(`{"hello":"World"}`), ts, 0, standardwebhooks.ErrNoMatchingSignature},
		{"id changed", func() http.Header { h := signed(); h.Set("webhook-id", "msg_2"); return h }, body, ts, 0, standardwebhooks.ErrNoMatchingSignature},
		{"timestamp changed", func() http.Header {
			h := signed()
			h.Set("webhook-timestamp", itoa(ts.Unix()+1))
			return h
		}, body, ts, 0, standardwebhooks.ErrNoMatchingSignature},
		{"signed with another secret", func() http.Header {
			h := http.Header{}
			standardwebhooks.SetHeaders(h, other, "msg_1", ts, body)
			return h
		}, body, ts, 0, standardwebhooks.ErrNoMatchingSignature},
		{"one of several signatures matches", func() http.Header {
			h := signed()
			sig := h.Get("webhook-signature")
			h.Set("webhook-signature", "v1a,c29tZXRoaW5n "+standardwebhooks.Sign(other, "msg_1", ts, body)+" garbage v1,!!! "+sig)
			return h
		}, body, ts, 0, nil},
		{"right bytes under another version", func() http.Header {
			h := signed()
			h.Set("webhook-signature", "v2,"+strings.TrimPrefix(h.Get("webhook-signature"), "v1,"))
			return h
		}, body, ts, 0, standardwebhooks.ErrNoMatchingSignature},
		{"truncated signature", func() http.Header {
			h := signed()
			h.Set("webhook-signature", h.Get("webhook-signature")[:20])
			return h
		}, body, ts, 0, standardwebhooks.ErrNoMatchingSignature},
		{"no id", func() http.Header { h := signed(); h.Del("webhook-id"); return h }, body, ts, 0, standardwebhooks.ErrMissingHeaders},
		{"no timestamp", func() http.Header { h := signed(); h.Del("webhook-timestamp"); return h }, body, ts, 0, standardwebhooks.ErrMissingHeaders},
		{"no signature", func() http.Header { h := signed(); h.Del("webhook-signature"); return h }, body, ts, 0, standardwebhooks.ErrMissingHeaders},
		{"timestamp in milliseconds is far in the future", func() http.Header {
			h := signed()
			h.Set("webhook-timestamp", itoa(ts.UnixMilli()))
			return h
		}, body, ts, 0, standardwebhooks.ErrTimestampTooNew},
		{"timestamp not a number", func() http.Header { h := signed(); h.Set("webhook-timestamp", "2026-03-01"); return h }, body, ts, 0, standardwebhooks.ErrInvalidTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := standardwebhooks.Verify(secret, tt.header(), tt.body, tt.now, tt.tol)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifyEmptySecret(t *testing.T) {
	h := http.Header{}
	now := time.Unix(1767225600, 0)
	standardwebhooks.SetHeaders(h, nil, "msg_1", now, nil)
	if err := standardwebhooks.Verify(nil, h, nil, now, 0); !errors.Is(err, standardwebhooks.ErrInvalidSecret) {
		t.Fatalf("Verify with an empty secret = %v, want ErrInvalidSecret", err)
	}
}

func TestParseSecret(t *testing.T) {
	want := []byte{0, 1, 2, 3, 4, 5, 6, 7}
	for _, in := range []string{"whsec_AAECAwQFBgc=", "AAECAwQFBgc=", " whsec_AAECAwQFBgc=\n"} {
		got, err := standardwebhooks.ParseSecret(in)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("ParseSecret(%q) = %v, %v", in, got, err)
		}
	}
	if got := standardwebhooks.FormatSecret(want); got != "whsec_AAECAwQFBgc=" {
		t.Errorf("FormatSecret = %q", got)
	}
	const leaky = "whsec_not*base64*TOPSECRET"
	for _, in := range []string{"", "whsec_", leaky} {
		_, err := standardwebhooks.ParseSecret(in)
		if !errors.Is(err, standardwebhooks.ErrInvalidSecret) {
			t.Errorf("ParseSecret(%q) = %v, want ErrInvalidSecret", in, err)
		}
		if err != nil && strings.Contains(err.Error(), "TOPSECRET") {
			t.Errorf("the error repeats the secret: %v", err)
		}
	}
}
