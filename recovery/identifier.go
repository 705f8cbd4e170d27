package recovery

import (
	"golang.org/x/text/cases"
	"golang.org/x/text/language"
	"golang.org/x/text/secure/precis"
	"golang.org/x/text/unicode/norm"
	"golang.org/x/text/width"
)

// FoldIdentifier returns the lookup key of a username or alias: the PRECIS
// UsernameCaseMapped profile of RFC 8265 (width folding, Unicode lower-casing,
// NFC), so "Alice", "ALICE" and full-width "ＡＬＩＣＥ" are one user. Cognito
// accepts usernames with symbols the PRECIS identifier class refuses (emoji,
// say); those get the same mapping without the class check, so every valid
// username has a key. The result is stable: FoldIdentifier(FoldIdentifier(s))
// == FoldIdentifier(s).
//
// User stores compare UserQuery.Key with FoldIdentifier of each stored
// username and alias (store the folded form in an indexed column).
func FoldIdentifier(s string) string {
	if out, ok := foldPrintableASCII(s); ok {
		return out
	}
	return fixpoint(s, func(s string) string {
		if out, err := precis.UsernameCaseMapped.String(s); err == nil {
			return out
		}
		// A Caser keeps state, so each call makes its own.
		return norm.NFC.String(cases.Lower(language.Und).String(width.Fold.String(s)))
	})
}

// preserveIdentifier is FoldIdentifier without the case mapping, for pools
// with CaseSensitive set.
func preserveIdentifier(s string) string {
	return fixpoint(s, func(s string) string {
		if out, err := precis.UsernameCasePreserved.String(s); err == nil {
			return out
		}
		return norm.NFC.String(width.Fold.String(s))
	})
}

// fixpoint applies f until the result stops changing (at most a few rounds:
// one in practice), which makes the mapping idempotent even for the rare
// strings where lower-casing and normalization interact.
func fixpoint(s string, f func(string) string) string {
	out := f(s)
	for range 3 {
		next := f(out)
		if next == out {
			break
		}
		out = next
	}
	return out
}

// foldPrintableASCII is UsernameCaseMapped's result for strings of printable
// ASCII only (0x21-0x7E), the common case: there, width folding and NFC
// change nothing, the identifier class allows every character and Unicode
// lower-casing is A-Z -> a-z. TestFoldASCIIFastPath checks the equivalence
// against precis for every such character.
func foldPrintableASCII(s string) (string, bool) {
	upper := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e {
			return "", false
		}
		upper = upper || ('A' <= c && c <= 'Z')
	}
	if !upper {
		return s, true
	}
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b), true
}
