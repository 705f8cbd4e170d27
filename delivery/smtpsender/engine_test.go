package smtpsender_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/recoverykit/recoverykit/delivery/locales"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/memstore"
)

// A username is an attribute a user (or a migrated system) chose: through
// the engine and this sender, it must neither add a header nor inject HTML.
func TestHostileUsernameThroughTheEngine(t *testing.T) {
	ctx := context.Background()
	ts := startServer(t, serverOptions{})
	sender := newSender(t, ts, nil)

	const hostile = "mallory\r\nBcc: x@y\r\n\r\n<script>alert(1)</script>"
	users := memstore.NewUserStore()
	if _, err := users.CreateUser(ctx, recovery.DefaultPoolID, recovery.User{
		Username:   hostile,
		Attributes: map[string]string{"email": "mallory@example.com", "email_verified": "true"},
	}, ""); err != nil {
		t.Fatal(err)
	}
	tmpl := locales.English()
	tmpl.EmailSubject = "Password reset for {username}"
	engine, err := recovery.New(recovery.Config{
		Users: users, Codes: memstore.NewCodeStore(), Sender: sender,
		Clients:   []recovery.Client{{ID: "web", RevealUserExistence: true}}, // delivery during the request
		Keys:      []recovery.Key{{ID: "k1", Secret: []byte("smtpsender-test-key-0123456789abcdef")}},
		Hasher:    recoverytest.InsecureHasher{},
		Templates: map[string]recovery.Template{"en": tmpl},
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := engine.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "mallory@example.com"}); err != nil {
		t.Fatal(err)
	}

	msgs := ts.messages()
	if len(msgs) != 1 || len(msgs[0].Rcpts) != 1 || msgs[0].Rcpts[0] != "mallory@example.com" {
		t.Fatalf("the server got %+v", msgs)
	}
	p := parse(t, msgs[0].Data)
	for k := range p.header {
		switch k {
		case "Auto-Submitted", "Date", "Mime-Version", "Message-Id", "Subject", "From", "To", "Reply-To", "Content-Type":
		default:
			t.Errorf("unexpected header %s: %q", k, p.header[k])
		}
	}
	subj := decodeHeader(t, p.header.Get("Subject"))
	if strings.ContainsAny(subj, "\r\n") || !strings.HasPrefix(subj, "Password reset for mallory") {
		t.Errorf("Subject decodes to %q", subj)
	}
	if len(p.parts) != 2 {
		t.Fatalf("%d parts", len(p.parts))
	}
	htmlBody := p.parts[1].body
	if strings.Contains(htmlBody, "<script>") || !strings.Contains(htmlBody, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("the HTML part holds the username unescaped:\n%s", htmlBody)
	}
	// In the text part the username is text: its line breaks stay inside
	// the part and start no MIME header.
	if !strings.Contains(crlf(p.parts[0].body), "mallory\nBcc: x@y") {
		t.Errorf("text part:\n%s", p.parts[0].body)
	}
}
