package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/chromedp/chromedp"

	"github.com/recoverykit/recoverykit/examples/smtpsink"
)

// Environment of the browser test.
const (
	browserEnv     = "RECOVERY_TEST_BROWSER"     // path of a Chromium binary
	axeEnv         = "RECOVERY_TEST_AXE"         // path of axe-core's axe.min.js
	screenshotsEnv = "RECOVERY_TEST_SCREENSHOTS" // directory for the screenshots
)

// needFile returns the file the environment variable name names. Unset, it
// skips the test, or fails it under RECOVERY_TEST_REQUIRE=1.
func needFile(t *testing.T, name, what string) string {
	t.Helper()
	path := os.Getenv(name)
	if path == "" {
		if os.Getenv("RECOVERY_TEST_REQUIRE") == "1" {
			t.Fatalf("%s is not set, and RECOVERY_TEST_REQUIRE=1: set it to %s", name, what)
		}
		t.Skipf("set %s to %s to run this test", name, what)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return path
}

// browserPages is the server with -pages, its mail sink and a browser tab.
type browserPages struct {
	s    *server
	sink *smtpsink.Sink
	tab  context.Context
	base string // the pages' URL, ending in /
}

// TestBrowser drives the pages in headless Chromium against the server
// (a child process), reading the codes from an SMTP sink: a reset that
// works, the localized errors of a wrong code, a weak password and a
// replayed code, a cross-origin post refused, axe-core's checks, and
// screenshots when asked.
func TestBrowser(t *testing.T) {
	chromium := needFile(t, browserEnv, "the path of a Chromium binary (/usr/bin/chromium)")
	sink, err := smtpsink.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	seed, _ := writeSeed(t)
	b := &browserPages{sink: sink}
	b.s = start(t, nil, "-seed", seed, "-smtp", sink.Addr(), "-pages", "/recover/", "-pages-client", "quiet")
	b.base = "http://" + b.s.addr + "/recover/"
	b.tab = newTab(t, chromium)

	t.Run("reset", b.reset)
	t.Run("errors", b.errors)
	t.Run("cross-origin", b.crossOrigin)
	t.Run("axe", b.axe)
	t.Run("screenshots", b.screenshots)
	stop(t, b.s)
}

// newTab starts Chromium with a fresh profile and returns its tab; the
// browser ends with the test.
func newTab(t *testing.T, chromium string) context.Context {
	t.Helper()
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()))
	tab, cancelTab := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	if err := chromedp.Do(tab); err != nil { // starts the browser
		t.Fatalf("starting %s: %v", chromium, err)
	}
	return tab
}

// do runs steps within 20 seconds.
func (b *browserPages) do(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.tab, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// text returns the text of the element sel.
func (b *browserPages) text(t *testing.T, sel string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.tab, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func (b *browserPages) location(t *testing.T) string {
	t.Helper()
	loc, err := chromedp.Run(b.tab, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// askCode asks for alice's code on the request page in lang and returns
// the code the sink received.
func (b *browserPages) askCode(t *testing.T, lang string) string {
	t.Helper()
	b.do(t, chromedp.Navigate(b.base+"?lang="+lang), chromedp.SendKeys(chromedp.ID("username"), "alice"))
	if status := b.click(t, "button[type=submit]"); status != http.StatusOK {
		t.Fatalf("asking for a code answered %d", status)
	}
	if status := b.text(t, "p[role=status]"); !strings.Contains(status, "a***@e***") {
		t.Fatalf("the sent page says %q, without the masked address", status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code, err := b.sink.Take(ctx, "alice@example.com")
	if err != nil {
		t.Fatalf("%v\n%s", err, b.s.log())
	}
	return code
}

// submitReset fills the reset form shown (the code unless code is empty,
// and the password; the username is already there), submits it and waits
// for the next page to load: the success page, or the form again with its
// error. It returns that page's status.
func (b *browserPages) submitReset(t *testing.T, code, password string) int64 {
	t.Helper()
	steps := []chromedp.Action[chromedp.Void]{chromedp.Clear(chromedp.ID("password")), chromedp.SendKeys(chromedp.ID("password"), password)}
	if code != "" {
		steps = append(steps, chromedp.Clear(chromedp.ID("code")), chromedp.SendKeys(chromedp.ID("code"), code))
	}
	b.do(t, steps...)
	return b.click(t, "button[type=submit]")
}

// click clicks sel and waits for the page it leads to; it returns that
// page's status.
func (b *browserPages) click(t *testing.T, sel string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.tab, 20*time.Second)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("clicking %s: %v", sel, err)
	}
	return resp.Status
}

// reset: ask for a code, follow the link, enter the code and a new
// password, land on the success page, whose URL holds no code.
func (b *browserPages) reset(t *testing.T) {
	code := b.askCode(t, "en")
	b.click(t, "a.button")
	if v, _ := chromedp.Run(b.tab, chromedp.Value(chromedp.ID("username"))); v != "alice" {
		t.Fatalf("the reset form's username is %q, want alice", v)
	}
	if status := b.submitReset(t, code, "N3w-passw0rd!"); status != http.StatusOK {
		t.Fatalf("the reset answered %d after its redirect", status)
	}
	if got := b.text(t, "h1"); got != "Password changed" {
		t.Fatalf("after the reset: %q\n%s", got, b.s.log())
	}
	if loc := b.location(t); loc != b.base+"done?lang=en" {
		t.Fatalf("the success page is at %s, want %sdone?lang=en", loc, b.base)
	}
	if err := b.s.signIn("quiet", "alice", "N3w-passw0rd!"); err != nil {
		t.Fatalf("the new password does not sign in: %v", err)
	}
}

// errors: a wrong code (German), a weak password (French, through a link
// with the code, which the refusal leaves usable), then the reset, then the
// same code replayed (Spanish).
func (b *browserPages) errors(t *testing.T) {
	code := b.askCode(t, "de")
	wrong := fmt.Sprintf("%06d", (atoi(code)+1)%1000000)
	b.do(t, chromedp.Navigate(b.base+"reset?lang=de&username=alice"), chromedp.WaitVisible(chromedp.ID("code")))
	if status := b.submitReset(t, wrong, "N3w-passw0rd-2!"); status != http.StatusBadRequest {
		t.Fatalf("a wrong code answered %d, want 400", status)
	}
	b.wantProblem(t, "code", "Dieser Code ist nicht richtig. Prüfen Sie die Nachricht und versuchen Sie es erneut.")

	link := b.base + "reset?lang=fr&username=alice&code=" + code
	b.do(t, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("code")))
	b.submitReset(t, "", "faible-passw0rd")
	b.wantProblem(t, "password", "Ce mot de passe doit contenir une lettre majuscule.")
	if loc := b.location(t); strings.Contains(loc, code) || strings.Contains(loc, "passw0rd") {
		t.Fatalf("after the post, the URL %s holds the code or the password", loc)
	}
	b.submitReset(t, "", "Fort-passw0rd-2!")
	if got := b.text(t, "h1"); got != "Mot de passe modifié" {
		t.Fatalf("after the reset in French: %q", got)
	}

	b.do(t, chromedp.Navigate(b.base+"reset?lang=es&username=alice&code="+code), chromedp.WaitVisible(chromedp.ID("code")))
	b.submitReset(t, "", "Otra-passw0rd-3!")
	b.wantProblem(t, "code", "Ese código ha caducado o ya se ha usado. Solicite un código nuevo.")
	if err := b.s.signIn("quiet", "alice", "Fort-passw0rd-2!"); err != nil {
		t.Fatalf("the replayed code changed the password: %v", err)
	}
}

func atoi(s string) (n int) {
	fmt.Sscan(s, &n)
	return n
}

// wantProblem checks the error message shown and that the field it is about
// points to it.
func (b *browserPages) wantProblem(t *testing.T, field, want string) {
	t.Helper()
	if got := b.text(t, "#problem"); got != want {
		t.Fatalf("the page says %q, want %q", got, want)
	}
	attrs, err := chromedp.Run(b.tab, chromedp.Attributes(chromedp.ID(field)))
	if err != nil {
		t.Fatal(err)
	}
	if attrs["aria-invalid"] != "true" || !strings.Contains(attrs["aria-describedby"], "problem") {
		t.Fatalf("the %s field is not tied to the error: %v", field, attrs)
	}
}

// crossOrigin: a page on another site posts the reset form with a valid
// code; the post is refused (403) and the password stays.
func (b *browserPages) crossOrigin(t *testing.T) {
	if _, err := b.s.sdk.ForgotPassword(context.Background(), &cip.ForgotPasswordInput{ClientId: aws.String("quiet"), Username: aws.String("alice")}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code, err := b.sink.Take(ctx, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!DOCTYPE html><form method="post" action="%sreset?lang=de">
<input name="username" value="alice"><input name="code" value="%s"><input name="password" value="Attacker-passw0rd!">
<button type="submit">win a prize</button></form>`, html.EscapeString(b.base), code)
	}))
	defer evil.Close()
	// localhost is another site than 127.0.0.1, where the pages are.
	evilURL := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)
	b.do(t, chromedp.Navigate(evilURL), chromedp.WaitVisible(chromedp.CSS("button")))
	if status := b.click(t, "button"); status != http.StatusForbidden {
		t.Fatalf("the cross-origin post answered %d, want 403", status)
	}
	if got := b.text(t, "#problem"); !strings.HasPrefix(got, "Dieses Formular wurde von einer anderen Website gesendet") {
		t.Fatalf("the refusal says %q", got)
	}
	if err := b.s.signIn("quiet", "alice", "Attacker-passw0rd!"); err == nil {
		t.Fatal("the cross-origin post changed the password")
	}
}

// axeViolation is the part of an axe-core violation the test reports.
type axeViolation struct {
	ID, Impact, Help string
	Nodes            []string
}

// axe runs axe-core on the request page, the reset page and the reset
// page's error state; a serious or critical violation fails the test.
func (b *browserPages) axe(t *testing.T) {
	src, err := os.ReadFile(needFile(t, axeEnv, "the path of axe-core's axe.min.js (npm pack axe-core@4)"))
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(b.tab, 20*time.Second)
		defer cancel()
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](string(src))); err != nil {
			t.Fatalf("%s: injecting axe-core: %v", name, err)
		}
		raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](`axe.run(document, {resultTypes: ["violations"]}).then(r => ({
			Version: r.testEngine.version, Passes: r.passes.length,
			Violations: r.violations.map(v => ({ID: v.id, Impact: v.impact, Help: v.help, Nodes: v.nodes.map(n => n.html)}))}))`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: running axe-core: %v", name, err)
		}
		var res struct {
			Version    string
			Passes     int
			Violations []axeViolation
		}
		if err := json.Unmarshal(raw, &res); err != nil || res.Passes == 0 {
			t.Fatalf("%s: axe-core's answer %s: %v", name, raw, err)
		}
		t.Logf("%s: axe-core %s: %d rules passed, %d violated", name, res.Version, res.Passes, len(res.Violations))
		for _, v := range res.Violations {
			if v.Impact == "serious" || v.Impact == "critical" {
				t.Errorf("%s: axe-core: %s (%s): %s %v", name, v.ID, v.Impact, v.Help, v.Nodes)
			} else {
				t.Logf("%s: axe-core, %s: %s (%s) %v", name, v.Impact, v.ID, v.Help, v.Nodes)
			}
		}
	}
	b.do(t, chromedp.Navigate(b.base+"?lang=en"), chromedp.WaitVisible(chromedp.ID("username")))
	check("request page")
	b.do(t, chromedp.Navigate(b.base+"reset?lang=de&username=alice"), chromedp.WaitVisible(chromedp.ID("code")))
	check("reset page")
	b.submitReset(t, "000000", "kurz")
	check("reset page with an error")
}

// screenshots writes the request and reset pages at a phone's and a
// desktop's width to RECOVERY_TEST_SCREENSHOTS, when it is set.
func (b *browserPages) screenshots(t *testing.T) {
	dir := os.Getenv(screenshotsEnv)
	if dir == "" {
		t.Skipf("set %s to a directory to write screenshots", screenshotsEnv)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, size := range []struct {
		name          string
		width, height int64
		mobile        bool
	}{{"phone", 390, 844, true}, {"desktop", 1280, 800, false}} {
		opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(1)}
		if size.mobile {
			opts = append(opts, chromedp.EmulateMobile)
		}
		for _, p := range []struct{ name, url, wait string }{
			{"request", b.base + "?lang=en", "username"},
			{"reset", b.base + "reset?lang=en&username=alice", "code"},
		} {
			ctx, cancel := context.WithTimeout(b.tab, 20*time.Second)
			err := chromedp.Do(ctx, chromedp.EmulateViewport(size.width, size.height, opts...),
				chromedp.Navigate(p.url), chromedp.WaitVisible(chromedp.ID(p.wait)))
			var png []byte
			if err == nil {
				png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
			}
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, p.name+"-"+size.name+".png")
			if err := os.WriteFile(path, png, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d bytes", path, len(png))
		}
	}
	b.do(t, chromedp.EmulateReset())
}
