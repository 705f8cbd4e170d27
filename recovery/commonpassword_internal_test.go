package recovery

import (
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/recoverykit/recoverykit/recovery/internal/leetfold"
)

// The lists must be what listed and isCommon assume: sorted, unique,
// folded, newline-terminated lines of the least length that can refuse a
// password to commonMaxEntry bytes; dictionary words and names made of
// letters alone and not already listed as passwords.
func TestCommonPasswordListShape(t *testing.T) {
	for _, c := range []struct {
		name           string
		list           string
		min, minLength int
		letters        bool
	}{
		{"commonPasswords", commonPasswords, 46000, commonMinBase, false}, // 46,432
		{"commonWords", commonWords, 130000, wordMinBase, true},           // 133,087
	} {
		t.Run(c.name, func(t *testing.T) {
			checkListShape(t, c.list, c.min, c.minLength, c.letters)
		})
	}
}

func checkListShape(t *testing.T, list string, min, minLength int, letters bool) {
	if !strings.HasSuffix(list, "\n") {
		t.Fatal("the list does not end with a newline")
	}
	lines := strings.Split(strings.TrimSuffix(list, "\n"), "\n")
	if len(lines) < min {
		t.Fatalf("%d entries, want at least %d", len(lines), min)
	}
	longest := 0
	for i, l := range lines {
		if len(l) < minLength || len(l) > commonMaxEntry {
			t.Errorf("entry %d %q: %d bytes, want %d to %d", i, l, len(l), minLength, commonMaxEntry)
		}
		longest = max(longest, len(l))
		if i > 0 && lines[i-1] >= l {
			t.Errorf("entry %d %q: not after %q", i, l, lines[i-1])
		}
		for j := range len(l) {
			if leetfold.Byte(l[j]) != l[j] {
				t.Errorf("entry %d %q: byte %q is not folded (the list was not made with leetfold.Byte)", i, l, l[j])
				break
			}
			if letters && !isLetter(l[j]) {
				t.Errorf("entry %d %q: byte %q is not a letter", i, l, l[j])
				break
			}
		}
		if letters && listed(commonPasswords, []byte(l)) {
			t.Errorf("entry %d %q is in commonPasswords too", i, l)
		}
	}
	if longest != commonMaxEntry {
		t.Errorf("longest entry %d bytes, commonMaxEntry is %d", longest, commonMaxEntry)
	}
	// Every entry, and nothing between entries, is found.
	for _, l := range lines {
		if !listed(list, []byte(l)) {
			t.Fatalf("listed(%q) = false", l)
		}
		if listed(list, []byte(l+"~")) {
			t.Fatalf("listed(%q) = true", l+"~")
		}
	}
	for _, w := range []string{"", "\n", "aaa", "zzzzzzzzzzzzzzzzzzzzzzzzz", "{{{{"} {
		if listed(list, []byte(w)) {
			t.Errorf("listed(%q) = true", w)
		}
	}
}

// A dictionary word or name with the least decoration the rules ask is
// refused, with more it is not, and a passphrase of two listed words is
// never refused: only a whole base word is looked up, never the words
// inside it. The words are drawn from commonWords itself.
func TestDictionaryWords(t *testing.T) {
	for _, c := range []struct {
		pw     string
		common bool
	}{
		{"Xylophone1!", true}, {"Cathedr@l7!", true}, {"!Zuckerberg1", true}, {"N1ghtingale#", true},
		{"Xylophone1984!", false}, {"Cathedral-Zuckerberg-7", false}, {"Xylophon1!", false},
	} {
		if got := isCommon(c.pw); got != c.common {
			t.Errorf("isCommon(%q) = %v, want %v", c.pw, got, c.common)
		}
	}
	words := strings.Split(strings.TrimSuffix(commonWords, "\n"), "\n")
	r := rand.New(rand.NewPCG(3, 4))
	const symbols = "!@#$%^&*-_=+?."
	joined := 0
	for range 10000 {
		a, b := title(words[r.IntN(len(words))]), title(words[r.IntN(len(words))])
		sym := string(symbols[r.IntN(len(symbols))])
		// "Orbit-Kettie-77": refused only if a listed password, which no
		// pair is.
		if pw := a + "-" + b + "-" + strconv.Itoa(10+r.IntN(90)); isCommon(pw) {
			t.Errorf("isCommon(%q) = true", pw)
		}
		// "OrbitKettie7!": refused when the pair, joined, is itself a word.
		if isCommon(a + b + strconv.Itoa(r.IntN(10)) + sym) {
			joined++
		}
	}
	t.Logf("of 10,000 joined pairs of listed words with a digit and a symbol, %d refused", joined)
	if joined != 0 {
		t.Errorf("%d of 10,000 joined pairs refused, want 0", joined)
	}
}

func title(w string) string { return strings.ToUpper(w[:1]) + w[1:] }

// The check allocates nothing and the list costs no heap: it is searched
// where the binary holds it.
func TestCommonPasswordCheckMemory(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	allocs := testing.AllocsPerRun(100, func() {
		isCommon("Summer2024!")
		isCommon("Xylophone1!")
		isCommon("correct-Horse-battery-9")
	})
	runtime.ReadMemStats(&after)
	if allocs != 0 {
		t.Errorf("isCommon allocates %v times per call, want 0", allocs)
	}
	t.Logf("lists: %d + %d bytes of read-only data; heap allocated while checking: %d bytes in %d objects",
		len(commonPasswords), len(commonWords), after.TotalAlloc-before.TotalAlloc, after.Mallocs-before.Mallocs)
}

func BenchmarkIsCommon(b *testing.B) {
	for _, pw := range []string{"Summer2024!", "Xylophone1!", "Xq7#pLm2vK9!", "correct-Horse-battery-9"} {
		b.Run(pw, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				isCommon(pw)
			}
		})
	}
}

// The whole default policy, common-password check included.
func BenchmarkPasswordPolicyCheck(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if (PasswordPolicy{}).Check("Zq8!vLm2#Tr") != nil {
			b.Fatal("refused")
		}
	}
}

// isCommon takes any bytes, and ignores ASCII case.
func FuzzIsCommon(f *testing.F) {
	for _, s := range []string{"Summer2024!", "P@ssw0rd", "", "!!!!", "jenjenjen", "\xff\xfe1!", "aaaaaaaaaaaaaaaaaaaaaaaaaa"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := isCommon(s)
		upper := []byte(s)
		for i, c := range upper {
			if 'a' <= c && c <= 'z' {
				upper[i] = c - 'a' + 'A'
			}
		}
		if isCommon(string(upper)) != got {
			t.Errorf("isCommon(%q) = %v, but %v in upper case", s, got, !got)
		}
	})
}
