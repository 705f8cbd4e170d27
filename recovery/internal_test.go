package recovery

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"io"
	mrand "math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/secure/precis"
)

// TestNewCodeUniform draws a million codes and checks, with a chi-square test
// over 1000 buckets, that they are uniform. The source is a seeded ChaCha8,
// so the result is reproducible; the critical value is for p = 1e-6.
func TestNewCodeUniform(t *testing.T) {
	const samples, buckets = 1_000_000, 1000
	r := mrand.NewChaCha8([32]byte{1, 2, 3})
	var counts [buckets]int
	for range samples {
		c, err := newCode(r, 6)
		if err != nil {
			t.Fatal(err)
		}
		if len(c) != 6 {
			t.Fatalf("code %q has %d digits, want 6", c, len(c))
		}
		v, err := strconv.Atoi(c)
		if err != nil {
			t.Fatalf("code %q is not decimal", c)
		}
		counts[v/1000]++
	}
	expected := float64(samples) / buckets
	chi2 := 0.0
	for _, n := range counts {
		d := float64(n) - expected
		chi2 += d * d / expected
	}
	// chi-square with 999 degrees of freedom: mean 999, p=1e-6 upper
	// critical value about 1230, lower about 790.
	if chi2 > 1230 || chi2 < 790 {
		t.Errorf("chi-square over %d buckets = %.1f, outside [790, 1230]: codes are not uniform", buckets, chi2)
	}
	t.Logf("chi-square = %.1f (999 degrees of freedom)", chi2)
}

// TestNewCodeRejectsBiasedDraws feeds a draw in the biased tail (at or above
// the largest multiple of 10^6 below 2^64): a modulo would map it to a code,
// rejection sampling must skip it and use the next draw.
func TestNewCodeRejectsBiasedDraws(t *testing.T) {
	var buf bytes.Buffer
	binary.Write(&buf, binary.BigEndian, uint64(1<<64-1)) // in the tail
	binary.Write(&buf, binary.BigEndian, uint64(123456))
	c, err := newCode(&buf, 6)
	if err != nil {
		t.Fatal(err)
	}
	if c != "123456" {
		t.Fatalf("code = %q, want 123456 (the tail draw must be rejected)", c)
	}
	if _, err := newCode(strings.NewReader("short"), 6); err == nil {
		t.Fatal("a failing random source must be an error")
	}
}

func TestNewCodeLeadingZeros(t *testing.T) {
	var buf bytes.Buffer
	binary.Write(&buf, binary.BigEndian, uint64(42))
	if c, _ := newCode(&buf, 6); c != "000042" {
		t.Fatalf("code = %q, want 000042", c)
	}
}

func TestSecretHashComparedInConstantTime(t *testing.T) {
	calls := 0
	orig := constantTimeEqual
	constantTimeEqual = func(a, b []byte) bool { calls++; return orig(a, b) }
	defer func() { constantTimeEqual = orig }()

	good := SecretHash("s3cret", "alice", "web")
	if !secretHashOK("s3cret", "alice", "web", good) {
		t.Fatal("correct secret hash refused")
	}
	if secretHashOK("s3cret", "alice", "web", good[:len(good)-2]+"AA") {
		t.Fatal("wrong secret hash accepted")
	}
	if calls != 2 {
		t.Fatalf("constant-time comparison called %d times for 2 checks", calls)
	}
}

func TestFoldIdentifier(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Alice", "alice"},
		{"ALICE", "alice"},
		{"ＡＬＩＣＥ", "alice"}, // full width
		{"Ünïcode", "ünïcode"},
		{"U\u0308nicode", "ünicode"}, // combining diaeresis composes (NFC)
		{"Alice@Example.COM", "alice@example.com"},
		{"+15555550100", "+15555550100"},
		{"😀Smile", "😀smile"}, // symbol outside PRECIS's identifier class
		{"ΣΑΣ", "σασ"},
	} {
		got := FoldIdentifier(tc.in)
		if got != tc.want {
			t.Errorf("FoldIdentifier(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if again := FoldIdentifier(got); again != got {
			t.Errorf("FoldIdentifier is not idempotent on %q: %q then %q", tc.in, got, again)
		}
	}
}

func TestFoldASCIIFastPath(t *testing.T) {
	for c := byte(0x21); c <= 0x7e; c++ {
		in := "a" + string(c) + "Z"
		want, err := precis.UsernameCaseMapped.String(in)
		if err != nil {
			t.Fatalf("precis refused %q: %v", in, err)
		}
		if got, ok := foldPrintableASCII(in); !ok || got != want {
			t.Errorf("fast path(%q) = %q, %v; precis says %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"a b", "é", "\x00", ""} {
		if _, ok := foldPrintableASCII(in); ok && in != "" {
			t.Errorf("fast path took %q", in)
		}
	}
}

func TestMask(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{MaskEmail("test@test.com"), "t***@t***"},
		{MaskEmail("alice@example.com"), "a***@e***"},
		{MaskEmail("émile@über.de"), "é***@ü***"},
		{MaskPhone("+15555550100"), "+*******0100"},
		{MaskPhone("+447700900123"), "+********0123"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestSimulatedDetailsStable(t *testing.T) {
	build := func(ar []RecoveryMechanism) *Engine {
		e, err := New(Config{
			Users: nopUsers{}, Codes: nopCodes{}, Sender: SenderFunc(func(context.Context, Message) error { return nil }),
			Clients: []Client{{ID: "web"}}, Keys: []Key{{ID: "k", Secret: bytes.Repeat([]byte{7}, 32)}},
			AccountRecovery: ar,
		})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	email := build([]RecoveryMechanism{VerifiedEmail})
	a, b := email.simulatedDetails("ghost"), email.simulatedDetails(FoldIdentifier("GHOST"))
	if a != b || a.DeliveryMedium != Email || !strings.HasSuffix(a.Destination, "***") || !strings.Contains(a.Destination, "***@") {
		t.Fatalf("simulated email details %+v and %+v: want equal, masked like an email", a, b)
	}
	phone := build([]RecoveryMechanism{VerifiedPhoneNumber})
	if s := phone.simulatedDetails("ghost"); s.DeliveryMedium != SMS || s.AttributeName != "phone_number" || !strings.HasPrefix(s.Destination, "+*******") || len(s.Destination) != 12 {
		t.Fatalf("simulated SMS details %+v: want 11 digits", s)
	}
	if d := email.simulatedDetails("bob@example.com"); d.Destination != "b***@e***" || d.DeliveryMedium != Email {
		t.Fatalf("email-like identifier, email pool: %+v", d)
	}
	if d := phone.simulatedDetails("+15555550199"); d.Destination != "+*******0199" || d.DeliveryMedium != SMS {
		t.Fatalf("phone-like identifier, phone pool: %+v", d)
	}
	if d := phone.simulatedDetails("bob@example.com"); d.DeliveryMedium != SMS {
		t.Fatalf("email-like identifier, phone-only pool: %+v, want SMS (a real user there gets SMS or nothing)", d)
	}
}

type nopUsers struct{}

func (nopUsers) FindUser(context.Context, string, UserQuery) (User, error) {
	return User{}, ErrUserNotFound
}
func (nopUsers) SetPassword(context.Context, string, PasswordChange) error { return nil }

type nopCodes struct{}

func (nopCodes) Issue(context.Context, IssueParams) (Outcome, error)     { return OutcomeOK, nil }
func (nopCodes) Check(context.Context, CheckParams) (Outcome, error)     { return OutcomeExpired, nil }
func (nopCodes) Revoke(context.Context, string, string, KeyedHash) error { return nil }
func (nopCodes) Restore(context.Context, RestoreParams) error            { return nil }

func TestArgon2id(t *testing.T) {
	h := Argon2id{Memory: 1024, Iterations: 1}
	enc, err := h.Hash("Correct-h0rse!")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("not a PHC argon2id string: %q", enc)
	}
	if ok, err := (Argon2id{}).Verify("Correct-h0rse!", enc); !ok || err != nil {
		t.Fatalf("Verify(right) = %v, %v (parameters must come from the encoded hash)", ok, err)
	}
	if ok, _ := h.Verify("wrong", enc); ok {
		t.Fatal("Verify(wrong) = true")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=1,t=1,p=1$AA$AA", "$argon2id$v=19$m=x$AA$AA", "$argon2id$v=19$m=8,t=1,p=1$!!$AA"} {
		if _, err := h.Verify("x", bad); err == nil {
			t.Errorf("Verify accepted malformed %q", bad)
		}
	}
	enc2, _ := h.Hash("Correct-h0rse!")
	if enc2 == enc {
		t.Fatal("two hashes of one password are equal: salt missing")
	}
	if _, err := (Argon2id{Rand: io.LimitReader(rand.Reader, 0)}).Hash("x"); err == nil {
		t.Fatal("a failing salt source must be an error")
	}
}

func TestDefaultPolicyFigures(t *testing.T) {
	p := Policy{}.WithDefaults()
	if p.CodeDigits != 6 || p.CodeLifetime != time.Hour || p.Budget != 5 || p.BudgetWindow != time.Hour || p.MaxFailures != 100 || p.Cooldown != 24*time.Hour {
		t.Fatalf("defaults: %+v", p)
	}
	if g := p.GuessProbability(); g != 1.2e-4 {
		t.Fatalf("GuessProbability() = %g, want 1.2e-4 (5 guesses/h * 24 h / 10^6)", g)
	}
	if g := (Policy{FailureBudget: 20}).GuessProbability(); g != 4.8e-4 {
		t.Fatalf("FailureBudget 20: %g, want 4.8e-4", g)
	}
	if g := (Policy{Budget: 20}).GuessProbability(); g != 1.2e-4 {
		t.Fatalf("Budget 20: %g, want 1.2e-4 (requests add no guesses)", g)
	}
	if g := (Policy{BudgetWindow: 7 * time.Hour}).GuessProbability(); g != 5*4/1e6 {
		t.Fatalf("7h window: %g, want 2e-5 (ceil(24/7)=4 windows)", g)
	}
}

func TestZeroPadded(t *testing.T) {
	for _, c := range []struct {
		v      uint64
		digits int
		want   string
	}{{0, 4, "0000"}, {7, 6, "000007"}, {999999, 6, "999999"}, {42, 10, "0000000042"}, {9999999999, 10, "9999999999"}} {
		if got := zeroPadded(c.v, c.digits); got != c.want {
			t.Errorf("zeroPadded(%d, %d) = %q, want %q", c.v, c.digits, got, c.want)
		}
	}
}

// BenchmarkRender measures filling the default HTML body (the figure the
// README gives for rendering): one pass, one allocation.
func BenchmarkRender(b *testing.B) {
	tmpl := DefaultTemplate().EmailHTML
	for _, username := range []string{"alice", `alice "<admin>"`} {
		b.Run(username, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = render(tmpl, "424242", "", username, true)
			}
		})
	}
}
