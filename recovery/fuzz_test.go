package recovery

import (
	"errors"
	"html"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// The constraint patterns of the Cognito API model, as Go regular
// expressions: an independent statement of the rules validate.go implements
// rune by rune. (Java's \w and \S are ASCII classes; Go's are too.)
var (
	reClientID   = regexp.MustCompile(`^[\w+]+$`)
	reSecretHash = regexp.MustCompile(`^[\w+=/]+$`)
	reUsername   = regexp.MustCompile(`^[\p{L}\p{M}\p{S}\p{N}\p{P}]+$`)
	reNonSpace   = regexp.MustCompile(`^[^ \t\n\x0B\f\r]+$`)
)

func allValid(ss ...string) bool {
	for _, s := range ss {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}

func lengthOK(s string, min, max int) bool {
	n := utf8.RuneCountInString(s)
	return n >= min && n <= max
}

// FuzzValidateConfirm checks request validation against the regular
// expressions of the API model: a request passes exactly when every field
// matches, a failure is always InvalidParameterException, and the message
// never quotes a submitted value.
func FuzzValidateConfirm(f *testing.F) {
	f.Add("web", "", "alice", "123456", "N3w-password!")
	f.Add("", "x y", "al ice", "12 34", "pass word")
	f.Add("web+app", "abc=/+", "josé@example.com", "\x00", "\xff\xfe")
	f.Add(strings.Repeat("a", 129), strings.Repeat("b", 129), strings.Repeat("é", 129), strings.Repeat("1", 2049), strings.Repeat("P", 257))
	f.Fuzz(func(t *testing.T, clientID, secretHash, username, code, password string) {
		err := validateConfirm(&ConfirmRequest{ClientID: clientID, SecretHash: secretHash, Username: username, ConfirmationCode: code, Password: password})
		// Each field on its own: two invalid halves can concatenate into
		// valid UTF-8 (the fuzzer found that).
		valid := allValid(clientID, secretHash, username, code, password) &&
			lengthOK(clientID, 1, 128) && reClientID.MatchString(clientID) &&
			(secretHash == "" || (lengthOK(secretHash, 1, 128) && reSecretHash.MatchString(secretHash))) &&
			lengthOK(username, 1, 128) && reUsername.MatchString(username) &&
			lengthOK(code, 1, 2048) && reNonSpace.MatchString(code) &&
			lengthOK(password, 1, 256) && reNonSpace.MatchString(password)
		if valid != (err == nil) {
			t.Fatalf("validate = %v, but the model's patterns say valid = %v", err, valid)
		}
		if err == nil {
			return
		}
		var e *Error
		if !errors.As(err, &e) || e.Name != "InvalidParameterException" {
			t.Fatalf("error %v is not InvalidParameterException", err)
		}
		for _, secret := range []string{secretHash, username, code, password} {
			if len(secret) >= 8 && strings.Contains(e.Message, secret) {
				t.Fatalf("the message quotes a submitted value: %q", e.Message)
			}
		}
	})
}

// FuzzValidateRecover does the same for ForgotPassword, with the
// UserContextData length limits.
func FuzzValidateRecover(f *testing.F) {
	f.Add("web", "", "alice", "192.0.2.1", "")
	// (The 131,072-character limits are covered by the table tests: seeds
	// that long slow the fuzzer's mutator to a crawl.)
	f.Add("web app", "a=b", "al ice", "2001:db8::1", "x")
	f.Add("", "", "", "", "")
	f.Fuzz(func(t *testing.T, clientID, secretHash, username, ip, encoded string) {
		req := &RecoverRequest{ClientID: clientID, SecretHash: secretHash, Username: username,
			UserContextData: &UserContextData{IPAddress: ip, EncodedData: encoded}}
		err := validateRecover(req)
		valid := allValid(clientID, secretHash, username) &&
			lengthOK(clientID, 1, 128) && reClientID.MatchString(clientID) &&
			(secretHash == "" || (lengthOK(secretHash, 1, 128) && reSecretHash.MatchString(secretHash))) &&
			lengthOK(username, 1, 128) && reUsername.MatchString(username) &&
			lengthOK(ip, 0, 131072) && lengthOK(encoded, 0, 131072)
		if valid != (err == nil) {
			t.Fatalf("validate = %v, but the model's patterns say valid = %v", err, valid)
		}
		var e *Error
		if err != nil && (!errors.As(err, &e) || e.Name != "InvalidParameterException") {
			t.Fatalf("error %v is not InvalidParameterException", err)
		}
	})
}

// FuzzFoldIdentifier checks that folding is idempotent, that inputs which
// differ only in ASCII case fold alike, and that two identifiers fold alike
// exactly when they find the same user.
func FuzzFoldIdentifier(f *testing.F) {
	for _, s := range []string{"alice", "ALICE", "ＡＬＩＣＥ", "Ünïcode", "U\u0308nicode", "ΣΑΣ", "😀Smile", "İstanbul", "ß", "ﬁ", "\u212a"} {
		f.Add(s, strings.ToUpper(s))
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		fa, fb := FoldIdentifier(a), FoldIdentifier(b)
		if FoldIdentifier(fa) != fa {
			t.Fatalf("not idempotent: %q -> %q -> %q", a, fa, FoldIdentifier(fa))
		}
		if isASCII(a) && strings.EqualFold(a, b) && fa != fb {
			t.Fatalf("ASCII case variants %q and %q fold to %q and %q", a, b, fa, fb)
		}
		// The engine looks users up by the folded key only, so "finds the
		// same user" is "folds alike"; check the case-sensitive mode too.
		if preserveIdentifier(preserveIdentifier(a)) != preserveIdentifier(a) {
			t.Fatalf("case-preserving form not idempotent for %q", a)
		}
		if preserveIdentifier(a) == preserveIdentifier(b) && fa != fb {
			t.Fatalf("%q and %q are equal with case kept but differ folded", a, b)
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// FuzzRender checks template rendering with hostile usernames: in HTML the
// username arrives escaped and nowhere raw, the subject has no line breaks,
// and the code always lands where {####} was.
func FuzzRender(f *testing.F) {
	f.Add("alice", "Hello {username}, code {####}")
	f.Add("<script>alert(1)</script>", DefaultTemplate().EmailHTML)
	f.Add("a\r\nBcc: x@example.com", "Code for {username}")
	f.Add("{####}", "{username} {####}")
	f.Add(`"'&<>`, "<a title=\"{username}\">{####}</a>")
	f.Fuzz(func(t *testing.T, username, tmpl string) {
		const code = "424242"
		out := render(tmpl, code, "", username, true)
		want := strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(tmpl, CodePlaceholder, code), LinkPlaceholder, ""), UsernamePlaceholder, html.EscapeString(username))
		if out != want {
			t.Fatalf("html render = %q, want %q", out, want)
		}
		// Escaping removes every < and >, so a username holding one must
		// not appear verbatim unless the template itself has it. (Not &:
		// "&" is a prefix of its own escape, "&amp;"; the fuzzer found that.)
		if strings.Contains(tmpl, UsernamePlaceholder) && strings.ContainsAny(username, "<>") && !strings.Contains(tmpl, username) && strings.Contains(out, username) {
			t.Fatalf("raw username %q reached the HTML %q", username, out)
		}
		if s := oneLine(render(tmpl, "", "", username, false)); strings.ContainsAny(s, "\r\n") {
			t.Fatalf("subject %q has a line break", s)
		}
	})
}
