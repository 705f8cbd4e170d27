package pages_test

import (
	"context"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/pages"
	"github.com/recoverykit/recoverykit/recovery/testkit"
)

const alice = "alice@example.com"

// send serves one request to h: a form post when form is not nil.
func send(t *testing.T, h http.Handler, method, target string, form url.Values, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	var req *http.Request
	if form != nil {
		req = httptest.NewRequest(method, target, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(method, target, nil)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func newPages(t *testing.T, k *testkit.Kit, opts pages.Options) http.Handler {
	t.Helper()
	if opts.ClientID == "" {
		opts.ClientID = testkit.Client
	}
	h, err := pages.New(k.Engine, opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/recover/", h)
	return mux
}

func wantStatus(t *testing.T, rec *httptest.ResponseRecorder, want int) string {
	t.Helper()
	if rec.Code != want {
		t.Fatalf("status %d, want %d:\n%s", rec.Code, want, rec.Body)
	}
	return rec.Body.String()
}

// TestResetFlow walks the pages: ask, follow the link, which a scanner
// also opens (three times), confirm, land on the success page.
func TestResetFlow(t *testing.T) {
	k := testkit.New(t)
	k.AddUser(alice)
	h := newPages(t, k, pages.Options{})

	body := wantStatus(t, send(t, h, "GET", "/recover/", nil), http.StatusOK)
	for _, want := range []string{`<label for="username">`, `id="username" name="username"`, `autocomplete="username"`, `<link rel="stylesheet" href="style.css">`} {
		if !strings.Contains(body, want) {
			t.Errorf("request page lacks %q", want)
		}
	}
	body = wantStatus(t, send(t, h, "POST", "/recover/", url.Values{"username": {alice}}), http.StatusOK)
	if !strings.Contains(body, "by email to a***@e***.") || !strings.Contains(body, `role="status"`) {
		t.Fatalf("sent page without the masked destination in a status region:\n%s", body)
	}
	link := regexp.MustCompile(`href="(reset\?[^"]*)"`).FindStringSubmatch(body)
	if link == nil || link[1] != "reset?username=alice%40example.com" {
		t.Fatalf("sent page links to %q, want reset?username=alice%%40example.com", link)
	}
	code := k.Code(alice)
	prefill := "/recover/reset?username=alice%40example.com&code=" + code
	for range 3 {
		body = wantStatus(t, send(t, h, "GET", prefill, nil), http.StatusOK)
	}
	for _, want := range []string{`value="` + code + `"`, `autocomplete="one-time-code" inputmode="numeric"`, `type="password" autocomplete="new-password"`, `aria-describedby="rules"`, `<li>at least 8 characters</li>`} {
		if !strings.Contains(body, want) {
			t.Errorf("reset page lacks %q:\n%s", want, body)
		}
	}
	if !k.PasswordIs(alice, "Old-passw0rd!") {
		t.Fatal("opening the link changed the password")
	}
	rec := send(t, h, "POST", "/recover/reset", url.Values{"username": {alice}, "code": {code}, "password": {"N3w-passw0rd!"}})
	wantStatus(t, rec, http.StatusSeeOther)
	if loc := rec.Header().Get("Location"); loc != "done" {
		t.Fatalf("Location %q after the reset, want done", loc)
	}
	if !k.PasswordIs(alice, "N3w-passw0rd!") {
		t.Fatal("the password did not change")
	}
	body = wantStatus(t, send(t, h, "GET", "/recover/done", nil), http.StatusOK)
	if !strings.Contains(body, "Your password has been changed.") {
		t.Fatalf("done page:\n%s", body)
	}
}

// TestHeaders: every answer, errors and refusals too, carries the
// security headers.
func TestHeaders(t *testing.T) {
	k := testkit.New(t)
	h := newPages(t, k, pages.Options{})
	for _, rec := range []*httptest.ResponseRecorder{
		send(t, h, "GET", "/recover/", nil),
		send(t, h, "GET", "/recover/reset?username=a&code=1", nil),
		send(t, h, "POST", "/recover/reset", url.Values{"username": {"a"}, "code": {"123456"}, "password": {"N3w-passw0rd!"}}),
		send(t, h, "POST", "/recover/", url.Values{"username": {"a"}}, "Sec-Fetch-Site", "cross-site"),
		send(t, h, "GET", "/recover/nothing", nil),
	} {
		for name, want := range map[string]string{
			"Content-Security-Policy": "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
			"Referrer-Policy":         "no-referrer", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
		} {
			if got := rec.Header().Get(name); got != want {
				t.Errorf("answer %d: %s %q, want %q", rec.Code, name, got, want)
			}
		}
	}
	css := send(t, h, "GET", "/recover/style.css", nil)
	if css.Code != http.StatusOK || css.Header().Get("Content-Type") != "text/css; charset=utf-8" || !strings.Contains(css.Body.String(), ".card") {
		t.Fatalf("style.css: %d %s", css.Code, css.Header().Get("Content-Type"))
	}
	if rec := send(t, h, "PUT", "/recover/reset", nil); rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("PUT: %d, want 405", rec.Code)
	}
}

// TestCrossOriginRefused: a post from another site is refused before the
// engine sees it.
func TestCrossOriginRefused(t *testing.T) {
	k := testkit.New(t)
	k.AddUser(alice)
	h := newPages(t, k, pages.Options{})
	for _, header := range [][]string{{"Sec-Fetch-Site", "cross-site"}, {"Sec-Fetch-Site", "same-site"}, {"Origin", "https://evil.example"}} {
		rec := send(t, h, "POST", "/recover/?lang=fr", url.Values{"username": {alice}}, header...)
		body := wantStatus(t, rec, http.StatusForbidden)
		if !strings.Contains(body, "Ce formulaire a été envoyé depuis un autre site") {
			t.Errorf("%v: refusal not in French:\n%s", header, body)
		}
	}
	if _, ok := k.Sender.LastCode(alice); ok {
		t.Fatal("a refused cross-origin post sent a code")
	}
	wantStatus(t, send(t, h, "POST", "/recover/", url.Values{"username": {alice}}, "Sec-Fetch-Site", "same-origin"), http.StatusOK)
	if _, ok := k.Sender.LastCode(alice); !ok {
		t.Fatal("a same-origin post sent no code")
	}
	trusting := newPages(t, k, pages.Options{TrustedOrigins: []string{"https://accounts.example.com"}})
	wantStatus(t, send(t, trusting, "POST", "/recover/", url.Values{"username": {alice}},
		"Sec-Fetch-Site", "cross-site", "Origin", "https://accounts.example.com"), http.StatusOK)
}

// TestRules: the reset form lists the engine's password policy.
func TestRules(t *testing.T) {
	k := testkit.New(t, func(c *recovery.Config) {
		c.PasswordPolicy = recovery.PasswordPolicy{MinLength: 12, MaxLength: 64, OptionalSymbols: true}
	})
	body := wantStatus(t, send(t, newPages(t, k, pages.Options{}), "GET", "/recover/reset?lang=de", nil), http.StatusOK)
	want := "<ul><li>mindestens 12 Zeichen</li><li>höchstens 64 Zeichen</li><li>einen Großbuchstaben</li><li>einen Kleinbuchstaben</li><li>eine Ziffer</li>" +
		"<li>kein häufiges oder aus einem Datenleck bekanntes Passwort</li></ul>"
	if !strings.Contains(body, want) {
		t.Fatalf("want the rules %s in:\n%s", want, body)
	}
	k = testkit.New(t, func(c *recovery.Config) { c.PasswordPolicy = recovery.PasswordPolicy{AllowCommonPasswords: true} })
	body = wantStatus(t, send(t, newPages(t, k, pages.Options{}), "GET", "/recover/reset?lang=de", nil), http.StatusOK)
	if strings.Contains(body, "Datenleck") {
		t.Fatalf("AllowCommonPasswords: the common-password rule is still listed:\n%s", body)
	}
}

// TestHidesExistence: for a client that hides user existence, the answer
// for an account and for no account differ only where the identifier and
// its masked destination are.
func TestHidesExistence(t *testing.T) {
	// Email only: with a second mechanism, a simulated answer may name
	// either medium, as a real one may.
	k := testkit.New(t, func(c *recovery.Config) { c.AccountRecovery = []recovery.RecoveryMechanism{recovery.VerifiedEmail} })
	k.AddUser(alice)
	h := newPages(t, k, pages.Options{})
	page := func(identifier, dest string) string {
		body := wantStatus(t, send(t, h, "POST", "/recover/", url.Values{"username": {identifier}}), http.StatusOK)
		if !strings.Contains(body, dest) {
			t.Fatalf("the answer for %s lacks %s:\n%s", identifier, dest, body)
		}
		return strings.NewReplacer(url.QueryEscape(identifier), "ID", dest, "DEST").Replace(body)
	}
	if known, unknown := page(alice, "a***@e***"), page("anna@example.com", "a***@e***"); known != unknown {
		t.Fatalf("known and unknown identifiers answer differently:\n%s\n---\n%s", known, unknown)
	}
}

// TestErrors: each error the reset form can meet, in each language, with
// the field it belongs to marked.
func TestErrors(t *testing.T) {
	k := testkit.New(t, func(c *recovery.Config) {
		c.Clients = append(c.Clients, recovery.Client{ID: "reveal", RevealUserExistence: true})
	})
	k.AddUser(alice)
	h := newPages(t, k, pages.Options{})
	reveal := newPages(t, k, pages.Options{ClientID: "reveal"})
	reset := func(h http.Handler, lang, code, password string) string {
		t.Helper()
		rec := send(t, h, "POST", "/recover/reset", url.Values{"lang": {lang}, "username": {alice}, "code": {code}, "password": {password}})
		if rec.Code == http.StatusSeeOther {
			return "303 " + rec.Header().Get("Location")
		}
		return rec.Body.String()
	}
	ask := func() string {
		t.Helper()
		wantStatus(t, send(t, h, "POST", "/recover/", url.Values{"username": {alice}}), http.StatusOK)
		return k.Code(alice)
	}
	code := ask()
	wrong := "000000"
	if code == wrong {
		wrong = "000001"
	}
	cases := []struct {
		name, lang, code, password, want, field string
	}{
		{"mismatch", "de", wrong, "N3w-passw0rd!", "Dieser Code ist nicht richtig.", "code"},
		{"no upper case", "fr", code, "n3w-passw0rd!", "Ce mot de passe doit contenir une lettre majuscule.", "password"},
		{"too short", "es", code, "N3w-p!", "Esta contraseña es demasiado corta: use al menos 8 caracteres.", "password"},
		{"no symbol", "en", code, "N3wpassw0rd", "This password needs a symbol", "password"},
		{"empty code", "de", "", "N3w-passw0rd!", "Bitte füllen Sie dieses Feld aus.", "code"},
		{"common", "de", code, "Passw0rd!", "Dieses Passwort ist zu häufig oder aus einem Datenleck bekannt", "password"},
		{"success", "de", code, "N3w-passw0rd!", "303 done?lang=de", ""},
		{"replayed", "es", code, "0ther-passw0rd!", "Ese código ha caducado o ya se ha usado.", "code"},
	}
	for _, c := range cases {
		body := reset(h, c.lang, c.code, c.password)
		if !strings.Contains(body, c.want) {
			t.Errorf("%s: want %q in:\n%s", c.name, c.want, body)
			continue
		}
		if c.field == "" {
			continue
		}
		if !strings.Contains(body, `<p class="problem" id="problem" role="alert">`) || !regexp.MustCompile(`id="`+c.field+`"[^>]*aria-invalid="true" aria-describedby="problem`).MatchString(body) {
			t.Errorf("%s: the error is not tied to the %s field:\n%s", c.name, c.field, body)
		}
		if strings.Contains(body, c.password) {
			t.Errorf("%s: the page echoes the password", c.name)
		}
		if c.field == "password" && !strings.Contains(body, `value="`+c.code+`"`) {
			t.Errorf("%s: a refused password dropped the code, which is still usable", c.name)
		}
	}
	// Wrong codes until the lock: the limit's message.
	if ask() == wrong {
		wrong = "999999" // the new code happens to be the wrong one
	}
	var body string
	for range 6 {
		body = reset(h, "fr", wrong, "N3w-passw0rd!")
	}
	if !strings.Contains(body, "Trop de tentatives.") {
		t.Errorf("after 6 wrong codes: %s", body)
	}
	// The request form's own errors: an empty field, the budget spent.
	body = wantStatus(t, send(t, h, "POST", "/recover/?lang=es", url.Values{"username": {""}}), http.StatusBadRequest)
	if !strings.Contains(body, "Rellene este campo.") || !strings.Contains(body, `aria-invalid="true" aria-describedby="problem"`) {
		t.Errorf("empty identifier: %s", body)
	}
	for range 5 {
		body = send(t, h, "POST", "/recover/?lang=de", url.Values{"username": {alice}}).Body.String()
	}
	if !strings.Contains(body, "Zu viele Versuche.") || strings.Contains(body, `aria-invalid`) {
		t.Errorf("requests past the budget: %s", body)
	}
	// Existence is revealed only by the client that reveals it.
	body = wantStatus(t, send(t, reveal, "POST", "/recover/?lang=de", url.Values{"username": {"nobody"}}), http.StatusNotFound)
	if !strings.Contains(body, "Wir haben kein Konto mit diesem Namen gefunden.") {
		t.Errorf("unknown user, revealing client: %s", body)
	}
	body = wantStatus(t, send(t, h, "POST", "/recover/?lang=de", url.Values{"username": {"nobody"}}), http.StatusOK)
	if strings.Contains(body, "Wir haben kein Konto") {
		t.Errorf("unknown user, hiding client, is told: %s", body)
	}
}

// TestLanguage: ?lang wins, then Accept-Language by weight, then the
// default.
func TestLanguage(t *testing.T) {
	k := testkit.New(t)
	h := newPages(t, k, pages.Options{})
	hFR := newPages(t, k, pages.Options{DefaultLanguage: "fr"})
	for _, c := range []struct {
		h              http.Handler
		query, accept  string
		want, wantLang string
	}{
		{h, "", "", "Forgot your password?", "en"},
		{h, "?lang=es", "de", "¿Ha olvidado su contraseña?", "es"},
		{h, "?lang=xx", "de-AT", "Passwort vergessen?", "de"},
		{h, "", "it, fr-CA;q=0.8, de;q=0.9", "Passwort vergessen?", "de"},
		{h, "", "es;q=0, fr", "Mot de passe oublié ?", "fr"},
		{hFR, "", "it", "Mot de passe oublié ?", "fr"},
	} {
		body := wantStatus(t, send(t, c.h, "GET", "/recover/"+c.query, nil, "Accept-Language", c.accept), http.StatusOK)
		if !strings.Contains(body, c.want) || !strings.Contains(body, `<html lang="`+c.wantLang+`">`) {
			t.Errorf("%s %q: want %q in %s", c.query, c.accept, c.want, c.wantLang)
		}
		if strings.HasPrefix(c.query, "?lang=es") && !strings.Contains(body, `<input type="hidden" name="lang" value="es">`) {
			t.Errorf("a chosen language is not carried in the form")
		}
	}
}

// TestLanguageSwitcherKeepsLink: switching language on a page opened from
// a message's link keeps what the link filled in; on a page answering a
// POST, the switcher's links hold no code.
func TestLanguageSwitcherKeepsLink(t *testing.T) {
	k := testkit.New(t)
	h := newPages(t, k, pages.Options{})
	body := wantStatus(t, send(t, h, "GET", "/recover/reset?lang=de&username=alice&code=123456", nil), http.StatusOK)
	if want := `href="?code=123456&amp;lang=fr&amp;username=alice"`; !strings.Contains(body, want) {
		t.Errorf("reset form from a link: no switcher link %s in\n%s", want, body)
	}
	body = wantStatus(t, send(t, h, "GET", "/recover/?username=alice", nil), http.StatusOK)
	if want := `href="?lang=es&amp;username=alice"`; !strings.Contains(body, want) {
		t.Errorf("request form with a username: no switcher link %s in\n%s", want, body)
	}
	body = wantStatus(t, send(t, h, "GET", "/recover/reset", nil), http.StatusOK)
	if want := `href="?lang=fr"`; !strings.Contains(body, want) {
		t.Errorf("empty reset form: no switcher link %s in\n%s", want, body)
	}
	body = send(t, h, "POST", "/recover/reset?lang=de", url.Values{"username": {"alice"}, "code": {"654321"}, "password": {"short"}}).Body.String()
	if strings.Contains(body, "code=654321") || !strings.Contains(body, `href="?lang=fr"`) {
		t.Errorf("a POST's answer: the code must stay out of links, the switcher links to ?lang=fr:\n%s", body)
	}
}

// TestTheme: the host's layout, stylesheet URL and CSS.
func TestTheme(t *testing.T) {
	k := testkit.New(t)
	layout := template.Must(template.New("host").Parse(`{{define "layout"}}<html lang="{{.Lang}}"><link href="{{.Stylesheet}}"><div class="host">{{.Content}}</div>{{end}}`))
	h := newPages(t, k, pages.Options{Layout: layout, CSSURL: "https://cdn.example.com/site.css"})
	rec := send(t, h, "GET", "/recover/", nil)
	body := wantStatus(t, rec, http.StatusOK)
	if !strings.Contains(body, `<div class="host"><h1>Forgot your password?</h1>`) || !strings.Contains(body, `href="https://cdn.example.com/site.css"`) {
		t.Fatalf("host layout not used:\n%s", body)
	}
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "style-src 'self' https://cdn.example.com;") {
		t.Fatalf("CSP %q does not allow the stylesheet's origin", csp)
	}
	if rec := send(t, h, "GET", "/recover/style.css", nil); rec.Code != http.StatusNotFound {
		t.Fatalf("style.css with CSSURL: %d, want 404", rec.Code)
	}
	h = newPages(t, k, pages.Options{CSS: []byte("body{color:red}")})
	if body := send(t, h, "GET", "/recover/style.css", nil).Body.String(); body != "body{color:red}" {
		t.Fatalf("style.css %q, want the host's", body)
	}
}

// TestOptions: every bad option is reported, saying what to change.
func TestOptions(t *testing.T) {
	k := testkit.New(t)
	_, err := pages.New(nil, pages.Options{DefaultLanguage: "it", Layout: template.Must(template.New("x").Parse("x")),
		CSS: []byte("x"), CSSURL: "http://cdn.example.com/x.css"})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"engine is nil", "ClientID is empty", `DefaultLanguage "it"`, `no template named "layout"`, "both set", "https URL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if _, err := pages.New(k.Engine, pages.Options{ClientID: "web", TrustedOrigins: []string{"not an origin"}}); err == nil {
		t.Error("a malformed trusted origin is accepted")
	}
}

// TestSecretAndSourceIP: a client with a secret gets its SecretHash, and
// the engine sees the address past the trusted proxy.
func TestSecretAndSourceIP(t *testing.T) {
	lim := &recordingLimiter{}
	k := testkit.New(t, func(c *recovery.Config) {
		c.Clients = append(c.Clients, recovery.Client{ID: "server", Secret: "a-long-client-secret"})
		c.Limiter = lim
		c.Policy.IPRequests = recovery.Rate{Limit: 100, Window: time.Hour}
	})
	k.AddUser(alice)
	h := newPages(t, k, pages.Options{ClientID: "server", ClientSecret: "a-long-client-secret",
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}})
	wantStatus(t, send(t, h, "POST", "/recover/", url.Values{"username": {alice}}, "X-Forwarded-For", "203.0.113.7"), http.StatusOK)
	k.Code(alice)
	if !lim.saw("ip:203.0.113.7") {
		t.Errorf("the limiter saw %v, not the forwarded address", lim.keys)
	}
	noSecret := newPages(t, k, pages.Options{ClientID: "server"})
	body := wantStatus(t, send(t, noSecret, "POST", "/recover/", url.Values{"username": {alice}}), http.StatusForbidden)
	if !strings.Contains(body, "cannot be reset here") {
		t.Errorf("without the secret: %s", body)
	}
}

type recordingLimiter struct {
	mu   sync.Mutex
	keys []string
}

func (l *recordingLimiter) Allow(_ context.Context, r recovery.LimitRequest) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range r.Keys {
		l.keys = append(l.keys, k.Key)
	}
	return true, nil
}

func (l *recordingLimiter) saw(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range l.keys {
		if k == key {
			return true
		}
	}
	return false
}

// BenchmarkResetPage measures serving the reset form from a link (the
// README's per-page CPU figure): language, policy rules, template, headers.
func BenchmarkResetPage(b *testing.B) {
	k := testkit.New(b)
	h, err := pages.New(k.Engine, pages.Options{ClientID: testkit.Client})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/recover/reset?lang=de&username=alice&code=123456", nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}
