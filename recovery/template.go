package recovery

import (
	"errors"
	"html"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Placeholders in templates and custom messages (Cognito's).
const (
	CodePlaceholder     = "{####}"
	UsernamePlaceholder = "{username}"
)

// LinkPlaceholder is ours: in a code message it becomes the link
// Config.LinkBaseURL describes, the base URL with username and code in its
// query, so it counts as the code's place. Cognito marks a link as
// {##text##} and renders the whole anchor with its own URL; "{link}" is
// the bare URL instead, so that the HTML template writes its own anchor
// (<a href="{link}">) and the text and SMS bodies show the URL itself.
// It is HTML-escaped in EmailHTML and raw elsewhere, and the username and
// code in it are query-escaped, so no username can end the URL, the
// attribute or the element, or be read as a placeholder. Put it in a
// quoted attribute or in text, never in a script or style.
const LinkPlaceholder = "{link}"

// Template is the text of the messages in one locale: the recovery message
// that carries the code, and the notice that the password was changed.
//
// The code message's bodies use CodePlaceholder (or LinkPlaceholder, whose
// link holds the code) and UsernamePlaceholder. In EmailHTML the username
// and the link are HTML-escaped when substituted; EmailSubject may hold
// neither the code nor the link.
//
// The PasswordChanged fields are the notice Confirm sends after a reset
// (see Config.SkipPasswordChangedNotice). They may use UsernamePlaceholder
// but never CodePlaceholder or LinkPlaceholder: the notice carries no code.
// Empty ones fall back like the others, so a locale that leaves them out
// gets the default locale's notice.
type Template struct {
	EmailSubject string
	EmailText    string
	EmailHTML    string
	SMS          string

	PasswordChangedSubject string
	PasswordChangedText    string
	PasswordChangedHTML    string
	PasswordChangedSMS     string
}

// DefaultTemplate returns the built-in English message.
func DefaultTemplate() Template { return defaultTemplate }

var defaultTemplate = Template{
	EmailSubject: "Your password reset code",
	EmailText: "Hello {username},\n\n" +
		"Your password reset code is {####}\n\n" +
		"If you did not ask to reset your password, you can ignore this message.\n",
	EmailHTML: "<!DOCTYPE html><html><body>" +
		"<p>Hello {username},</p>" +
		"<p>Your password reset code is <strong>{####}</strong></p>" +
		"<p>If you did not ask to reset your password, you can ignore this message.</p>" +
		"</body></html>",
	SMS: "Your password reset code is {####}",

	PasswordChangedSubject: "Your password was changed",
	PasswordChangedText: "Hello {username},\n\n" +
		"The password of your account was just changed.\n\n" +
		"If you did this, there is nothing more to do. If you did not, reset your password now and contact us.\n",
	PasswordChangedHTML: "<!DOCTYPE html><html><body>" +
		"<p>Hello {username},</p>" +
		"<p>The password of your account was just changed.</p>" +
		"<p>If you did this, there is nothing more to do. If you did not, reset your password now and contact us.</p>" +
		"</body></html>",
	PasswordChangedSMS: "Your password was changed. If this was not you, reset it now.",
}

// Limits Cognito puts on custom messages.
const (
	maxEmailMessage = 20000
	maxSMSMessage   = 140
)

// validate checks t; withLink says whether Config.LinkBaseURL is set, so
// that LinkPlaceholder may stand for the code.
func (t Template) validate(withLink bool) error {
	var errs []error
	for _, f := range []struct{ name, v string }{{"EmailText", t.EmailText}, {"EmailHTML", t.EmailHTML}, {"SMS", t.SMS}} {
		switch {
		case strings.Contains(f.v, LinkPlaceholder) && !withLink:
			errs = append(errs, errors.New(f.name+" uses {link} but Config.LinkBaseURL is empty: set LinkBaseURL to the page that takes the code, or use {####} instead"))
		case f.v != "" && !containsCode(f.v, withLink):
			errs = append(errs, errors.New(f.name+" lacks the code placeholder {####}: add it where the code goes"))
		}
	}
	if containsCode(t.EmailSubject, true) {
		errs = append(errs, errors.New("EmailSubject holds {####} or {link}: keep the code out of subject lines, which mail systems log"))
	}
	if strings.ContainsAny(t.EmailSubject, "\r\n") || strings.ContainsAny(t.PasswordChangedSubject, "\r\n") {
		errs = append(errs, errors.New("EmailSubject or PasswordChangedSubject holds a line break: use one line"))
	}
	for _, f := range []struct{ name, v string }{{"PasswordChangedSubject", t.PasswordChangedSubject}, {"PasswordChangedText", t.PasswordChangedText}, {"PasswordChangedHTML", t.PasswordChangedHTML}, {"PasswordChangedSMS", t.PasswordChangedSMS}} {
		if containsCode(f.v, true) {
			errs = append(errs, errors.New(f.name+" holds {####} or {link}: the password-changed notice carries no code; take the placeholder out"))
		}
	}
	for _, v := range []string{t.EmailHTML, t.EmailText, t.PasswordChangedHTML, t.PasswordChangedText} {
		if utf8.RuneCountInString(v) > maxEmailMessage {
			errs = append(errs, errors.New("an email body is longer than 20,000 characters: shorten it"))
			break
		}
	}
	return errors.Join(errs...)
}

// merged fills t's empty fields from fallback.
func (t Template) merged(fallback Template) Template {
	if t.EmailSubject == "" {
		t.EmailSubject = fallback.EmailSubject
	}
	if t.EmailText == "" && t.EmailHTML == "" {
		t.EmailText, t.EmailHTML = fallback.EmailText, fallback.EmailHTML
	}
	if t.SMS == "" {
		t.SMS = fallback.SMS
	}
	if t.PasswordChangedSubject == "" {
		t.PasswordChangedSubject = fallback.PasswordChangedSubject
	}
	if t.PasswordChangedText == "" && t.PasswordChangedHTML == "" {
		t.PasswordChangedText, t.PasswordChangedHTML = fallback.PasswordChangedText, fallback.PasswordChangedHTML
	}
	if t.PasswordChangedSMS == "" {
		t.PasswordChangedSMS = fallback.PasswordChangedSMS
	}
	return t
}

// passwordChanged returns t's notice texts in the places of the code
// message's, so that the hook and rendering treat both alike.
func (t Template) passwordChanged() Template {
	return Template{EmailSubject: t.PasswordChangedSubject, EmailText: t.PasswordChangedText, EmailHTML: t.PasswordChangedHTML, SMS: t.PasswordChangedSMS}
}

// templates resolves the locale of a message.
type templates struct {
	byLocale      map[string]Template // keys lower-cased, fields merged
	defaultLocale string
}

func newTemplates(in map[string]Template, defaultLocale string) templates {
	def := defaultTemplate
	if t, ok := in[defaultLocale]; ok {
		def = t.merged(defaultTemplate)
	}
	ts := templates{byLocale: map[string]Template{strings.ToLower(defaultLocale): def}, defaultLocale: defaultLocale}
	for loc, t := range in {
		ts.byLocale[strings.ToLower(loc)] = t.merged(def)
	}
	return ts
}

// pick returns the first of the candidate locales that has a template,
// trying each with and without its region ("pt-BR", then "pt"), else the
// default.
func (ts templates) pick(candidates ...string) (string, Template) {
	for _, c := range candidates {
		c = strings.ToLower(strings.ReplaceAll(c, "_", "-"))
		if c == "" {
			continue
		}
		if t, ok := ts.byLocale[c]; ok {
			return c, t
		}
		if base, _, ok := strings.Cut(c, "-"); ok {
			if t, ok := ts.byLocale[base]; ok {
				return base, t
			}
		}
	}
	return strings.ToLower(ts.defaultLocale), ts.byLocale[strings.ToLower(ts.defaultLocale)]
}

// render substitutes the placeholders in one pass, so that nothing
// substituted is read for placeholders again: a username that reads
// "{####}" or "{link}" stays literal text. The code is digits only; the
// link is escaped for its context by the caller (link.go); the username is
// escaped in HTML.
func render(text, code, link, username string, isHTML bool) string {
	if isHTML {
		username = html.EscapeString(username)
	}
	var b strings.Builder
	b.Grow(len(text) + len(code) + len(link) + len(username))
	for {
		i := strings.IndexByte(text, '{')
		if i < 0 {
			b.WriteString(text)
			return b.String()
		}
		b.WriteString(text[:i])
		text = text[i:]
		n := 1 // a brace that starts no placeholder is copied
		for _, p := range [...]struct{ ph, v string }{{CodePlaceholder, code}, {LinkPlaceholder, link}, {UsernamePlaceholder, username}} {
			if strings.HasPrefix(text, p.ph) {
				b.WriteString(p.v)
				n = len(p.ph)
				break
			}
		}
		if n == 1 {
			b.WriteByte('{')
		}
		text = text[n:]
	}
}

// containsCode reports whether s has a place for the code: the code
// placeholder, or, when withLink, the link placeholder.
func containsCode(s string, withLink bool) bool {
	return strings.Contains(s, CodePlaceholder) || (withLink && strings.Contains(s, LinkPlaceholder))
}

func runeLen(s string) int       { return utf8.RuneCountInString(s) }
func hasLineBreak(s string) bool { return strings.ContainsAny(s, "\r\n") }

// oneLine replaces control characters (CR, LF, tabs and the like) with
// spaces, for header values such as the email subject.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}
