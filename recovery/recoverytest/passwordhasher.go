package recoverytest

import (
	"strings"
	"sync"
	"testing"

	"github.com/recoverykit/recoverykit/recovery"
)

// TestPasswordHasher checks a recovery.PasswordHasher: a hash verifies its
// password and no other (also one that differs in case, by one character,
// or is empty); two hashes of one password differ (salted); a hash never
// contains the password; a value that is not a hash is refused or does not
// verify; Unicode passwords work; concurrent use is safe; and, when the
// hasher implements recovery.PasswordLengthLimiter, passwords up to the
// limit hash and verify while longer ones are refused by Hash. A hasher that
// is unsalted on purpose (InsecureHasher) may set unsalted.
func TestPasswordHasher(t *testing.T, h recovery.PasswordHasher, unsalted bool) {
	t.Helper()
	const pw = "Correct-h0rse-battery!"
	hash := func(p string) string {
		t.Helper()
		enc, err := h.Hash(p)
		if err != nil {
			t.Fatalf("Hash(%d bytes): %v", len(p), err)
		}
		return enc
	}
	verify := func(p, enc string) bool {
		t.Helper()
		ok, err := h.Verify(p, enc)
		if err != nil {
			t.Fatalf("Verify of a hash Hash made: %v", err)
		}
		return ok
	}
	enc := hash(pw)
	if !verify(pw, enc) {
		t.Fatal("the password does not verify against its own hash")
	}
	if strings.Contains(enc, pw) {
		t.Error("the hash contains the password")
	}
	for _, wrong := range []string{"correct-h0rse-battery!", "Correct-h0rse-battery", "Correct-h0rse-battery!!", "", "x"} {
		if verify(wrong, enc) {
			t.Errorf("a different password (%d bytes) verifies", len(wrong))
		}
	}
	if again := hash(pw); again == enc && !unsalted {
		t.Error("two hashes of one password are equal: no salt")
	}
	for _, junk := range []string{"", "plaintext", "$argon2id$", "$2a$10$short"} {
		if ok, _ := h.Verify(pw, junk); ok {
			t.Errorf("Verify accepted %q as a hash of the password", junk)
		}
	}
	uni := "Pässwörd-ñ-日本-🔑1"
	if !verify(uni, hash(uni)) {
		t.Error("a Unicode password does not verify")
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if e, err := h.Hash(pw); err != nil || !verify(pw, e) {
				t.Errorf("concurrent Hash/Verify: %v", err)
			}
		})
	}
	wg.Wait()
	if l, ok := h.(recovery.PasswordLengthLimiter); ok && l.MaxPasswordBytes() > 0 {
		max := l.MaxPasswordBytes()
		long := strings.Repeat("a", max-1) + "Z"
		if !verify(long, hash(long)) {
			t.Errorf("a password of %d bytes, the limit, does not verify", max)
		}
		if _, err := h.Hash(long + "b"); err == nil {
			t.Errorf("Hash accepted %d bytes, over the %d-byte limit it declares", max+1, max)
		}
	}
}
