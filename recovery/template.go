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

// Template is the text of the recovery message in one locale. Bodies use
// CodePlaceholder and UsernamePlaceholder. In EmailHTML the username is
// HTML-escaped when substituted; EmailSubject may not hold the code.
type Template struct {
	EmailSubject string
	EmailText    string
	EmailHTML    string
	SMS          string
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
}

// Limits Cognito puts on custom messages.
const (
	maxEmailMessage = 20000
	maxSMSMessage   = 140
)

func (t Template) validate() error {
	var errs []error
	for _, f := range []struct{ name, v string }{{"EmailText", t.EmailText}, {"EmailHTML", t.EmailHTML}, {"SMS", t.SMS}} {
		if f.v != "" && !strings.Contains(f.v, CodePlaceholder) {
			errs = append(errs, errors.New(f.name+" lacks the code placeholder {####}: add it where the code goes"))
		}
	}
	if strings.Contains(t.EmailSubject, CodePlaceholder) {
		errs = append(errs, errors.New("EmailSubject holds {####}: keep the code out of subject lines, which mail systems log"))
	}
	if strings.ContainsAny(t.EmailSubject, "\r\n") {
		errs = append(errs, errors.New("EmailSubject holds a line break: use one line"))
	}
	if utf8.RuneCountInString(t.EmailHTML) > maxEmailMessage || utf8.RuneCountInString(t.EmailText) > maxEmailMessage {
		errs = append(errs, errors.New("an email body is longer than 20,000 characters: shorten it"))
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
	return t
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

// render substitutes the placeholders. The code is digits only; the username
// is escaped in HTML. The code goes in first, so a username that reads
// "{####}" stays literal text.
func render(text, code, username string, isHTML bool) string {
	if isHTML {
		username = html.EscapeString(username)
	}
	return strings.ReplaceAll(strings.ReplaceAll(text, CodePlaceholder, code), UsernamePlaceholder, username)
}

func containsCode(s string) bool { return strings.Contains(s, CodePlaceholder) }
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
