package recovery_test

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/delivery/capturesender"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/store/memstore"
)

const linkBase = "https://example.com/reset?lang=de"

// linkTemplate puts the link in an attribute and in text, and the username
// beside it.
var linkTemplate = recovery.Template{
	EmailSubject: "Reset for {username}",
	EmailText:    "Go to {link} as {username}",
	EmailHTML:    `<p><a href="{link}">Reset</a> {username}</p>`,
	SMS:          "{link}",
}

// linkEngine is an engine with LinkBaseURL and linkTemplate whose sender
// hands each message to the returned function's caller.
func linkEngine(t testing.TB) (*recovery.Engine, func() recovery.Message) {
	var mu sync.Mutex
	var last recovery.Message
	e, err := recovery.New(validConfig(func(c *recovery.Config) {
		c.PoolID = pool
		c.LinkBaseURL = linkBase
		c.Templates = map[string]recovery.Template{"en": linkTemplate}
		c.Sender = recovery.SenderFunc(func(_ context.Context, m recovery.Message) error {
			mu.Lock()
			defer mu.Unlock()
			last = m
			return nil
		})
	}))
	if err != nil {
		t.Fatal(err)
	}
	return e, func() recovery.Message {
		mu.Lock()
		defer mu.Unlock()
		return last
	}
}

// checkLink fails unless link is linkBase's page with exactly username
// and code added to its query, and nothing after it.
func checkLink(t *testing.T, link, username, code string) {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatalf("the link %q does not parse: %v", link, err)
	}
	q := u.Query()
	if u.Scheme != "https" || u.Host != "example.com" || u.Path != "/reset" || u.Fragment != "" || u.User != nil ||
		len(q) != 3 || q.Get("lang") != "de" || len(q["username"]) != 1 || q.Get("username") != username || len(q["code"]) != 1 || q.Get("code") != code {
		t.Fatalf("the link %q reads back as %s://%s%s #%q query %v; want username %q and code %q", link, u.Scheme, u.Host, u.Path, u.Fragment, q, username, code)
	}
}

// deliver renders one message for username through Engine.Deliver.
func deliver(t *testing.T, e *recovery.Engine, medium recovery.DeliveryMedium, username, code string) {
	t.Helper()
	now := time.Now()
	d := recovery.Delivery{ID: "msg_link", Pool: pool, ClientID: "web", Medium: medium, To: "x@example.com",
		Username: username, Sub: "sub-1", Code: code, KeyID: testKey.ID, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := e.Deliver(context.Background(), d); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
}

// checkLinkMessages renders the email and the SMS for a (hostile)
// username and checks that the link holds exactly the username and the
// code, and that the username breaks out of neither the URL nor the HTML.
func checkLinkMessages(t *testing.T, e *recovery.Engine, last func() recovery.Message, username string) {
	const code = "424242"
	deliver(t, e, recovery.Email, username, code)
	m := last()
	// The HTML: the template's markup and nothing more. Escaping leaves
	// no < > " ' of the username; its & only as the start of an entity.
	for _, c := range []string{"<", ">", `"`, "'"} {
		if got, want := strings.Count(m.HTML, c), strings.Count(linkTemplate.EmailHTML, c); got != want {
			t.Fatalf("the HTML has %d %q, the template %d: the username broke out\n%s", got, c, want, m.HTML)
		}
	}
	if n := strings.Count(m.HTML, "href="); n != 1 {
		t.Fatalf("the HTML has %d href attributes, want 1\n%s", n, m.HTML)
	}
	prefix := `<p><a href="`
	rest, ok := strings.CutPrefix(m.HTML, prefix)
	href, tail, ok2 := strings.Cut(rest, `">Reset</a> `)
	if !ok || !ok2 || tail != html.EscapeString(username)+"</p>" {
		t.Fatalf("the HTML is not the template's shape:\n%s", m.HTML)
	}
	link := html.UnescapeString(href)
	if href != html.EscapeString(link) {
		t.Fatalf("the href %q is not the HTML-escaped link", href)
	}
	checkLink(t, link, username, code)
	// The text: the raw link, then the username verbatim (its
	// placeholders stay literal).
	if m.Text != "Go to "+link+" as "+username {
		t.Fatalf("the text body is %q; want the raw link %q and the username verbatim", m.Text, link)
	}
	if strings.ContainsAny(link, " <>\"'{}#\\") || strings.IndexFunc(link, func(r rune) bool { return r <= ' ' || r >= 0x7f }) >= 0 {
		t.Fatalf("the raw link %q holds a character that ends a URL in text, or one that is not printable ASCII", link)
	}
	if m.Code != code || strings.ContainsAny(m.Subject, "\r\n") {
		t.Fatalf("code %q, subject %q", m.Code, m.Subject)
	}
	deliver(t, e, recovery.SMS, username, code)
	if s := last(); s.Text != link {
		t.Fatalf("the SMS is %q, want the link %q", s.Text, link)
	}
}

func TestLinkMessagesWithHostileUsernames(t *testing.T) {
	e, last := linkEngine(t)
	for _, username := range []string{
		"alice", `"><script>alert(1)</script>`, "o'brien & co", "a b#frag?x=1&code=999999", "100%", "José 🔑",
		"ctl\x00\r\n\t", recovery.CodePlaceholder, recovery.LinkPlaceholder, recovery.UsernamePlaceholder, "&amp;", "\xff",
	} {
		checkLinkMessages(t, e, last, username)
	}
}

// FuzzLinkMessage renders link messages for arbitrary usernames through
// the engine and checks that the link reads back to exactly the username
// and code, and that the username stays inside the URL and the HTML.
func FuzzLinkMessage(f *testing.F) {
	for _, s := range []string{"alice", `"'<>&`, "a b#c?d=e&code=1", "%41%", "{####}{link}{username}", "\x00\n", "é\u2028"} {
		f.Add(s)
	}
	e, last := linkEngine(f)
	f.Fuzz(func(t *testing.T, username string) {
		checkLinkMessages(t, e, last, username)
	})
}

func TestLinkNeedsABaseURL(t *testing.T) {
	_, err := recovery.New(validConfig(func(c *recovery.Config) {
		c.Templates = map[string]recovery.Template{"en": linkTemplate}
	}))
	if err == nil || !strings.Contains(err.Error(), "uses {link} but Config.LinkBaseURL is empty") {
		t.Fatalf("New = %v; want the missing LinkBaseURL named", err)
	}
	// With the base, {link} stands for the code; without either, a body
	// is refused.
	if _, err := recovery.New(validConfig(func(c *recovery.Config) {
		c.LinkBaseURL = "https://example.com/reset"
		c.Templates = map[string]recovery.Template{"en": linkTemplate}
	})); err != nil {
		t.Fatalf("New refused a link template with LinkBaseURL: %v", err)
	}
	if _, err := recovery.New(validConfig(func(c *recovery.Config) {
		c.LinkBaseURL = "https://example.com/reset"
		c.Templates = map[string]recovery.Template{"en": {EmailSubject: "Code {link}"}}
	})); err == nil {
		t.Fatal("New accepted {link} in a subject")
	}
}

func TestLinkBaseURLValidated(t *testing.T) {
	for _, ok := range []string{"https://example.com/reset", "https://example.com/r?lang=de&x=1", "http://localhost:8080/reset", "http://127.0.0.1/reset", "http://[::1]:9/r"} {
		if _, err := recovery.New(validConfig(func(c *recovery.Config) { c.LinkBaseURL = ok })); err != nil {
			t.Errorf("LinkBaseURL %q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"example.com/reset", "/reset", "http://example.com/reset", "ftp://example.com/r", "https://example.com/r#top",
		"https://example.com/r#", "https://user:pw@example.com/r", "https://example.com/r?code=1", "https://example.com/r?username=a", "https:///r",
		"https://example.com/{x}", "https://example.com/r?a=%zz", "javascript:alert(1)", "mailto:a@example.com"} {
		if _, err := recovery.New(validConfig(func(c *recovery.Config) { c.LinkBaseURL = bad })); err == nil || !strings.Contains(err.Error(), "LinkBaseURL") {
			t.Errorf("LinkBaseURL %q: New = %v; want it refused", bad, err)
		}
	}
}

// The hook sees LinkParameter when the pool has links, and may answer
// with the link instead of the code.
func TestLinkInCustomMessage(t *testing.T) {
	var param string
	e, err := recovery.New(validConfig(func(c *recovery.Config) {
		c.PoolID = pool
		c.LinkBaseURL = linkBase
		c.Hooks.CustomMessage = recovery.CustomMessageFunc(func(_ context.Context, ev recovery.CustomMessageEvent) (recovery.CustomMessage, error) {
			param = ev.LinkParameter
			return recovery.CustomMessage{EmailMessage: `<a href="` + ev.LinkParameter + `">Reset</a>`}, nil
		})
		var mu sync.Mutex
		c.Sender = recovery.SenderFunc(func(_ context.Context, m recovery.Message) error {
			mu.Lock()
			defer mu.Unlock()
			if !strings.HasPrefix(m.HTML, `<a href="https://example.com/reset?lang=de&amp;code=424242&amp;username=a%26b">`) {
				t.Errorf("HTML %q", m.HTML)
			}
			return nil
		})
	}))
	if err != nil {
		t.Fatal(err)
	}
	deliver(t, e, recovery.Email, "a&b", "424242")
	if param != recovery.LinkPlaceholder {
		t.Fatalf("LinkParameter = %q", param)
	}
	// Without a base URL the hook sees none, and may not use it.
	noLink, err := recovery.New(validConfig(func(c *recovery.Config) {
		c.PoolID = pool
		c.Hooks.CustomMessage = recovery.CustomMessageFunc(func(_ context.Context, ev recovery.CustomMessageEvent) (recovery.CustomMessage, error) {
			param = ev.LinkParameter
			return recovery.CustomMessage{EmailMessage: "<a href=\"{link}\">Reset</a>"}, nil
		})
	}))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	err = noLink.Deliver(context.Background(), recovery.Delivery{ID: "msg_x", Pool: pool, Medium: recovery.Email, To: "x@example.com", Username: "a", Code: "424242", IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
	if param != "" || !errors.Is(err, recovery.ErrInvalidLambdaResponse) {
		t.Fatalf("LinkParameter %q, Deliver = %v; want none, and the answer refused", param, err)
	}
}

// A message with a link that opens the reset page with the code filled in.
func ExampleConfig_linkBaseURL() {
	ctx := context.Background()
	users := memstore.NewUserStore()
	users.CreateUser(ctx, recovery.DefaultPoolID, recovery.User{Username: "alice", Attributes: map[string]string{
		"email": "alice@example.com", "email_verified": "true",
	}}, "")
	sender := capturesender.New()
	engine, err := recovery.New(recovery.Config{
		Users: users, Codes: memstore.NewCodeStore(), Sender: sender,
		Clients:     []recovery.Client{{ID: "web"}},
		Keys:        []recovery.Key{{ID: "k1", Secret: []byte("an example secret of 32 bytes or more")}},
		LinkBaseURL: "https://example.com/reset", // shows a form on GET, confirms on POST only
		Templates: map[string]recovery.Template{"en": {
			EmailSubject: "Reset your password",
			EmailText:    "Open {link} to choose a new password.",
			EmailHTML:    `<p><a href="{link}">Choose a new password</a></p>`,
		}},
	})
	if err != nil {
		panic(err)
	}
	defer engine.Close(ctx)
	engine.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "alice"})
	m, _ := sender.Await(ctx, "alice")
	fmt.Println(strings.ReplaceAll(m.HTML, m.Code, "CODE"))
	fmt.Println(strings.ReplaceAll(m.Text, m.Code, "CODE"))
	// Output:
	// <p><a href="https://example.com/reset?code=CODE&amp;username=alice">Choose a new password</a></p>
	// Open https://example.com/reset?code=CODE&username=alice to choose a new password.
}
