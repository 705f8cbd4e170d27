package locales_test

import (
	"context"
	"html"
	"log/slog"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/recoverykit/recoverykit/delivery/capturesender"
	"github.com/recoverykit/recoverykit/delivery/locales"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/memstore"
)

// username is hostile on purpose: HTML, an ampersand and a quote must come
// out escaped in the HTML body and verbatim in the text body.
const username = `O'Brien <b>&</b>`

type fixture struct {
	engine *recovery.Engine
	sender *capturesender.Sender
	users  *memstore.UserStore
}

func newEngine(t *testing.T, templates map[string]recovery.Template) (fixture, error) {
	t.Helper()
	f := fixture{sender: capturesender.New(), users: memstore.NewUserStore()}
	var err error
	f.engine, err = recovery.New(recovery.Config{
		Users:     f.users,
		Codes:     memstore.NewCodeStore(),
		Sender:    f.sender,
		Clients:   []recovery.Client{{ID: "web", RevealUserExistence: true}}, // delivery during the request
		Keys:      []recovery.Key{{ID: "k1", Secret: []byte("locales-test-key-0123456789abcdef")}},
		Hasher:    recoverytest.InsecureHasher{},
		Templates: templates,
		Logger:    slog.New(slog.DiscardHandler),
	})
	return f, err
}

func TestTemplatesAreAccepted(t *testing.T) {
	all := locales.All()
	for _, lang := range []string{"en", "de", "fr", "es"} {
		if _, ok := all[lang]; !ok {
			t.Errorf("All() lacks %q", lang)
		}
	}
	for lang, tmpl := range all {
		t.Run(lang, func(t *testing.T) {
			if _, err := newEngine(t, map[string]recovery.Template{lang: tmpl}); err != nil {
				t.Fatalf("recovery.New refuses the %s template: %v", lang, err)
			}
			for name, v := range map[string]string{"EmailText": tmpl.EmailText, "EmailHTML": tmpl.EmailHTML, "SMS": tmpl.SMS} {
				if !strings.Contains(v, recovery.CodePlaceholder) {
					t.Errorf("%s lacks %s", name, recovery.CodePlaceholder)
				}
				if !utf8.ValidString(v) {
					t.Errorf("%s is not valid UTF-8", name)
				}
			}
			if tmpl.EmailSubject == "" || strings.ContainsAny(tmpl.EmailSubject, "\r\n") {
				t.Errorf("EmailSubject %q is empty or holds a line break", tmpl.EmailSubject)
			}
			if !strings.Contains(tmpl.EmailHTML, `lang="`+lang+`"`) {
				t.Errorf("EmailHTML does not declare lang=%q", lang)
			}
		})
	}
	// The check above can fail: New does refuse a template without the code.
	broken := locales.German()
	broken.SMS = "Ihr Code"
	if _, err := newEngine(t, map[string]recovery.Template{"de": broken}); err == nil {
		t.Fatal("recovery.New accepted an SMS template without {####}")
	}
}

func TestAllReturnsACopy(t *testing.T) {
	m := locales.All()
	m["de"] = recovery.Template{}
	if locales.All()["de"].SMS == "" {
		t.Fatal("changing the map All returned changed the package's templates")
	}
}

func TestRenderEachLocale(t *testing.T) {
	ctx := context.Background()
	f, err := newEngine(t, locales.All())
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"en", "de", "fr", "es"} {
		tmpl := locales.All()[lang]
		t.Run(lang, func(t *testing.T) {
			email := lang + "@example.com"
			phone := map[string]string{"en": "+15550101", "de": "+15550102", "fr": "+15550103", "es": "+15550104"}[lang]
			mustCreate(t, f.users, recovery.User{
				Username:   username + " " + lang,
				Attributes: map[string]string{"email": email, "email_verified": "true", "locale": lang},
			})
			mustCreate(t, f.users, recovery.User{
				Username:   "sms-" + lang,
				Attributes: map[string]string{"phone_number": phone, "phone_number_verified": "true"},
			})

			// Email, locale from the user's attribute.
			if _, err := f.engine.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: email}); err != nil {
				t.Fatal(err)
			}
			m, ok := f.sender.Last(email)
			if !ok {
				t.Fatal("no email was sent")
			}
			name := username + " " + lang
			if m.Locale != lang || m.Subject != tmpl.EmailSubject {
				t.Errorf("locale %q subject %q, want %q %q", m.Locale, m.Subject, lang, tmpl.EmailSubject)
			}
			if len(m.Code) != 6 || !strings.Contains(m.Text, m.Code) || !strings.Contains(m.HTML, m.Code) {
				t.Errorf("the code is missing from a body:\ntext: %s\nhtml: %s", m.Text, m.HTML)
			}
			if !strings.Contains(m.Text, name) {
				t.Errorf("the text body lacks the username verbatim: %s", m.Text)
			}
			if !strings.Contains(m.HTML, html.EscapeString(name)) || strings.Contains(m.HTML, "<b>") {
				t.Errorf("the HTML body lacks the escaped username or holds it raw: %s", m.HTML)
			}

			// SMS, locale from ClientMetadata, with a region.
			if _, err := f.engine.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "sms-" + lang, ClientMetadata: map[string]string{"locale": lang + "-XX"}}); err != nil {
				t.Fatal(err)
			}
			s, ok := f.sender.Last(phone)
			if !ok {
				t.Fatal("no SMS was sent")
			}
			if s.Locale != lang || s.Text != strings.ReplaceAll(tmpl.SMS, recovery.CodePlaceholder, s.Code) {
				t.Errorf("SMS in %q: %q", s.Locale, s.Text)
			}
			if n := utf8.RuneCountInString(s.Text); n > 70 {
				t.Errorf("the SMS has %d characters: more than one UCS-2 segment", n)
			}
		})
	}
}

func TestUnknownLocaleFallsBackToDefault(t *testing.T) {
	ctx := context.Background()
	f, err := newEngine(t, locales.All())
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, f.users, recovery.User{
		Username:   "it",
		Attributes: map[string]string{"email": "it@example.com", "email_verified": "true", "locale": "it"},
	})
	if _, err := f.engine.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "it"}); err != nil {
		t.Fatal(err)
	}
	if m, _ := f.sender.Last("it"); m.Locale != "en" || m.Subject != locales.English().EmailSubject {
		t.Fatalf("an Italian user got locale %q, subject %q; want the English default", m.Locale, m.Subject)
	}
}

func mustCreate(t *testing.T, users *memstore.UserStore, u recovery.User) {
	t.Helper()
	if _, err := users.CreateUser(context.Background(), recovery.DefaultPoolID, u, ""); err != nil {
		t.Fatal(err)
	}
}

// Every locale has its own password-changed notice: without a code, within
// one SMS segment, and sent in the user's language after a reset.
func TestPasswordChangedNoticeEachLocale(t *testing.T) {
	ctx := context.Background()
	f, err := newEngine(t, locales.All())
	if err != nil {
		t.Fatal(err)
	}
	subjects := map[string]bool{}
	for _, lang := range []string{"en", "de", "fr", "es"} {
		tmpl := locales.All()[lang]
		t.Run(lang, func(t *testing.T) {
			fields := map[string]string{"PasswordChangedSubject": tmpl.PasswordChangedSubject, "PasswordChangedText": tmpl.PasswordChangedText,
				"PasswordChangedHTML": tmpl.PasswordChangedHTML, "PasswordChangedSMS": tmpl.PasswordChangedSMS}
			for name, v := range fields {
				if v == "" || strings.Contains(v, recovery.CodePlaceholder) || strings.Contains(v, recovery.LinkPlaceholder) || !utf8.ValidString(v) {
					t.Errorf("%s = %q: empty, invalid, or holding a code placeholder", name, v)
				}
			}
			if !strings.Contains(tmpl.PasswordChangedHTML, `lang="`+lang+`"`) {
				t.Errorf("PasswordChangedHTML does not declare lang=%q", lang)
			}
			if n := utf8.RuneCountInString(tmpl.PasswordChangedSMS); n > 70 {
				t.Errorf("the notice SMS has %d characters: more than one UCS-2 segment", n)
			}
			subjects[tmpl.PasswordChangedSubject] = true

			email := "notice-" + lang + "@example.com"
			mustCreate(t, f.users, recovery.User{
				Username:   username + " notice " + lang,
				Attributes: map[string]string{"email": email, "email_verified": "true", "locale": lang},
			})
			if _, err := f.engine.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: email}); err != nil {
				t.Fatal(err)
			}
			code, _ := f.sender.LastCode(email)
			if err := f.engine.Confirm(ctx, recovery.ConfirmRequest{ClientID: "web", Username: email, ConfirmationCode: code, Password: "N3w-passw0rd!"}); err != nil {
				t.Fatal(err)
			}
			m := awaitNotice(t, f.sender, email)
			if m.Locale != lang || m.Subject != tmpl.PasswordChangedSubject || m.Code != "" {
				t.Errorf("notice in %q, subject %q, code %q; want %q, %q, none", m.Locale, m.Subject, m.Code, lang, tmpl.PasswordChangedSubject)
			}
			if strings.Contains(m.Text, code) || strings.Contains(m.HTML, code) {
				t.Errorf("the notice holds the code:\n%s\n%s", m.Text, m.HTML)
			}
			if !strings.Contains(m.HTML, html.EscapeString(username)) || strings.Contains(m.HTML, "<b>") {
				t.Errorf("the notice's HTML lacks the escaped username or holds it raw: %s", m.HTML)
			}
		})
	}
	if len(subjects) != 4 {
		t.Errorf("%d distinct notice subjects, want one per locale", len(subjects))
	}
}

// awaitNotice waits for the password-changed notice to to arrive (it goes
// through the engine's outbox, after Confirm returns).
func awaitNotice(t *testing.T, s *capturesender.Sender, to string) recovery.Message {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if m, ok := s.Last(to); ok && m.Code == "" {
			return m
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("no password-changed notice reached %s", to)
	return recovery.Message{}
}
