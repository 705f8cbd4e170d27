package recovery

import (
	"runtime"
	"strings"
	"testing"
)

// The list must be what listed and isCommon assume: sorted, unique,
// folded, newline-terminated lines of commonMinBase to commonMaxEntry bytes.
func TestCommonPasswordListShape(t *testing.T) {
	if !strings.HasSuffix(commonPasswords, "\n") {
		t.Fatal("the list does not end with a newline")
	}
	lines := strings.Split(strings.TrimSuffix(commonPasswords, "\n"), "\n")
	if len(lines) < 40000 {
		t.Fatalf("%d entries, want the whole zxcvbn list (46,432)", len(lines))
	}
	longest := 0
	for i, l := range lines {
		if len(l) < commonMinBase || len(l) > commonMaxEntry {
			t.Errorf("entry %d %q: %d bytes, want %d to %d", i, l, len(l), commonMinBase, commonMaxEntry)
		}
		longest = max(longest, len(l))
		if i > 0 && lines[i-1] >= l {
			t.Errorf("entry %d %q: not after %q", i, l, lines[i-1])
		}
		for j := range len(l) {
			if foldByte(l[j]) != l[j] {
				t.Errorf("entry %d %q: byte %q is not folded (internal/commonpwgen's foldByte differs from this package's)", i, l, l[j])
				break
			}
		}
	}
	if longest != commonMaxEntry {
		t.Errorf("longest entry %d bytes, commonMaxEntry is %d", longest, commonMaxEntry)
	}
	// Every entry, and nothing between entries, is found.
	for _, l := range lines {
		if !listed([]byte(l)) {
			t.Fatalf("listed(%q) = false", l)
		}
		if listed([]byte(l + "~")) {
			t.Fatalf("listed(%q) = true", l+"~")
		}
	}
	for _, w := range []string{"", "\n", "aaa", "zzzzzzzzzzzzzzzzzzzzzzzzz", "{{{{"} {
		if listed([]byte(w)) {
			t.Errorf("listed(%q) = true", w)
		}
	}
}

// The check allocates nothing and the list costs no heap: it is searched
// where the binary holds it.
func TestCommonPasswordCheckMemory(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	allocs := testing.AllocsPerRun(100, func() {
		isCommon("Summer2024!")
		isCommon("correct-Horse-battery-9")
	})
	runtime.ReadMemStats(&after)
	if allocs != 0 {
		t.Errorf("isCommon allocates %v times per call, want 0", allocs)
	}
	t.Logf("list: %d bytes of read-only data; heap allocated while checking: %d bytes in %d objects",
		len(commonPasswords), after.TotalAlloc-before.TotalAlloc, after.Mallocs-before.Mallocs)
}

func BenchmarkIsCommon(b *testing.B) {
	for _, pw := range []string{"Summer2024!", "Xq7#pLm2vK9!", "correct-Horse-battery-9"} {
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
