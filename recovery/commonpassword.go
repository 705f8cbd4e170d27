package recovery

import (
	"context"
	_ "embed" // the common-password list
	"slices"
	"strings"

	"github.com/recoverykit/recoverykit/recovery/internal/leetfold"
)

//go:generate go run ./internal/commonpwgen -o commonpasswords.txt -w commonwords.txt

// commonPasswords is the built-in list of common passwords: the 47,023 most
// frequent passwords of Mark Burnett's 10 million password sample (public
// domain), as ranked in data/passwords.txt of github.com/trustelem/zxcvbn
// v1.0.1 (MIT; the Go port of Dropbox's zxcvbn, MIT), folded by leetfold.Byte,
// entries shorter than commonMinBase dropped, sorted and deduplicated, one a
// line. internal/commonpwgen makes it. It stays in the binary's read-only
// data and is binary-searched in place: loading it costs no heap.
//
//go:embed commonpasswords.txt
var commonPasswords string

// commonWords is the built-in list of dictionary words and names: the
// 100,000 most frequent words of English Wikipedia, as counted by zxcvbn,
// and the first names and surnames of the 1990 US census (public domain),
// from data/ in the same module, made of letters alone and at least
// wordMinBase long, folded, sorted and deduplicated like commonPasswords,
// without the entries commonPasswords has. internal/commonpwgen makes it.
//
//go:embed commonwords.txt
var commonWords string

// The decorations a common password may carry and still be refused.
const (
	// commonMinBase is the shortest base word that refuses a password: a
	// password is not refused for merely holding a short word.
	commonMinBase = 4
	// commonMaxDecoration is how many characters (digits, symbols, spaces)
	// may be added before and after a base word, in all, for the password
	// to count as that word, and never more than the base word's length:
	// "Summer2024!" is "summer" with 5, while "Dragon!8301974625" holds
	// more than a decorated word, and a random "+A1ia$=!5-" is not "aiia".
	commonMaxDecoration = 6
	// commonMaxUnit is the longest unit whose repetition alone makes a
	// base word common; a longer one must be a listed word.
	commonMaxUnit = 4
	// commonMaxEntry is the longest entry of commonPasswords (a test checks
	// it), so longer passwords are not looked up at all.
	commonMaxEntry = 20
	// wordMinBase is the shortest dictionary word or name that refuses a
	// password: a list of 150,000 words holds most short letter strings,
	// "Ad3!la^901" among them (folded, "adelia").
	wordMinBase = 5
	// wordMaxDecoration is how many characters may be added around a
	// dictionary word or name, in all: fewer than around a leaked
	// password, since people who pick a word decorate it with the least
	// the rules ask ("Slideshow1!"), and a word from so long a list with
	// more added to it is as often a random password.
	wordMaxDecoration = 3
)

const commonPasswordRule = "Password is too common or has appeared in a data breach"

// isCommon reports whether password is on the built-in list, or is a listed
// base word decorated the way users meet a policy: any case, leetspeak
// (see leetfold.Byte), and at most commonMaxDecoration digits and symbols (and
// no more than the base's length) before or after a base of at least
// commonMinBase characters. A base is also common when it repeats a listed
// word or a short unit. A dictionary word or name of at least wordMinBase
// letters is common with up to wordMaxDecoration characters around it.
// "Passw0rd!", "P@ssword123", "Summer2024!" and "Xylophone1!" are
// refused; "correct-Horse-battery-9" is not, because only whole base words
// are looked up, never a word inside a longer one, and no password longer
// than commonMaxEntry+commonMaxDecoration (26) bytes is. It does not
// allocate.
func isCommon(password string) bool {
	n := len(password)
	if n > commonMaxEntry+commonMaxDecoration {
		return false
	}
	var buf [commonMaxEntry + commonMaxDecoration]byte
	folded := buf[:n]
	for i := range n {
		folded[i] = leetfold.Byte(password[i])
	}
	// The base word is what remains once the edges are trimmed: of every
	// non-letter, of non-letters on one side only (so that a leading
	// "@dmin" or a trailing "passw0rd" keeps its leet letter), or of
	// symbols only (so that "qwerty123456!" is "qwerty123456"), or nothing.
	lead, trail := trimEdges(password, isLetter)
	slead, strail := trimEdges(password, isDigitOrLetter)
	spans := [...][2]int{{lead, trail}, {0, trail}, {lead, n}, {slead, strail}, {0, n}}
	for i, s := range spans {
		if slices.Contains(spans[:i], s) {
			continue // "Dragon1!" trims the same on every side
		}
		w, deco := folded[s[0]:s[1]], n-(s[1]-s[0])
		if len(w) >= commonMinBase && deco <= min(len(w), commonMaxDecoration) && commonBase(w) ||
			len(w) >= wordMinBase && deco <= wordMaxDecoration && foldedLetters(w) && listed(commonWords, w) {
			return true
		}
	}
	return false
}

// commonBase reports whether a folded base word is listed, or is a listed
// word or a unit of up to commonMaxUnit characters said again and again
// ("lovelove", "jenjen", "abcabc").
func commonBase(w []byte) bool {
	if len(w) <= commonMaxEntry && listed(commonPasswords, w) {
		return true
	}
	for k := 1; k <= len(w)/2; k++ {
		if len(w)%k == 0 && repeats(w, k) {
			return k <= commonMaxUnit || k >= commonMinBase && k <= commonMaxEntry && listed(commonPasswords, w[:k])
		}
	}
	return false
}

// foldedLetters reports whether a folded base is all letters, as every
// entry of commonWords is: a check of a few bytes that spares a search of
// the larger list (a cache miss a probe) for most passphrases and random
// passwords.
func foldedLetters(w []byte) bool {
	for _, c := range w {
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// repeats reports whether w is its first k bytes over and over.
func repeats(w []byte, k int) bool {
	for i := k; i < len(w); i++ {
		if w[i] != w[i-k] {
			return false
		}
	}
	return true
}

// trimEdges returns the bounds of s without the bytes at either end for
// which keep is false.
func trimEdges(s string, keep func(byte) bool) (lead, trail int) {
	trail = len(s)
	for lead < trail && !keep(s[lead]) {
		lead++
	}
	for trail > lead && !keep(s[trail-1]) {
		trail--
	}
	return lead, trail
}

// isLetter counts every byte of a multi-byte character as a letter, so
// that trimming never splits one.
func isLetter(c byte) bool { return c >= 0x80 || 'a' <= c|0x20 && c|0x20 <= 'z' }

func isDigitOrLetter(c byte) bool { return isLetter(c) || '0' <= c && c <= '9' }

// listed binary-searches list (sorted lines, each ending in a newline) for
// w, without an index: each probe backs up to the start of the line it
// lands in.
func listed(list string, w []byte) bool {
	lo, hi := 0, len(list) // each the start of a line, or the end
	for lo < hi {
		mid := lo + (hi-lo)/2
		start := lo + strings.LastIndexByte(list[lo:mid], '\n') + 1
		end := start + strings.IndexByte(list[start:hi], '\n')
		switch line := list[start:end]; {
		case line == string(w):
			return true
		case line < string(w):
			lo = end + 1
		default:
			hi = start
		}
	}
	return false
}

// PasswordScreen refuses passwords known to be compromised, beyond the
// built-in list: typically a client of an online k-anonymity service such
// as Have I Been Pwned's range API, which is sent only the first five hex
// digits of the password's SHA-1. Set one as PasswordPolicy.Screen.
//
// Screen reports whether password must be refused. It runs on the request
// path under the request's context, for every Confirm whose password meets
// the rest of the policy (for identifiers that match nobody too, so that
// its time reveals nothing), before the code is checked: bound its time
// (an HTTP client timeout, say). An error means it could not decide:
// Confirm then answers InternalErrorException, wrapping the error, and
// consumes nothing, so the user can retry with the same code. Neither the
// answer nor the error may hold the password.
type PasswordScreen interface {
	Screen(ctx context.Context, password string) (refuse bool, err error)
}

// PasswordScreenFunc adapts a function to PasswordScreen.
type PasswordScreenFunc func(ctx context.Context, password string) (refuse bool, err error)

// Screen calls f.
func (f PasswordScreenFunc) Screen(ctx context.Context, password string) (bool, error) {
	return f(ctx, password)
}
