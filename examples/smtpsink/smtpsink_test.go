package smtpsink_test

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/delivery/locales"
	"github.com/recoverykit/recoverykit/delivery/smtpsender"
	"github.com/recoverykit/recoverykit/examples/smtpsink"
	"github.com/recoverykit/recoverykit/recovery"
)

// TestSinkReadsCodesFromRealMail sends with the real SMTP sender, in every
// shipped locale and with a username full of digits, and reads the code back.
func TestSinkReadsCodesFromRealMail(t *testing.T) {
	sink, err := smtpsink.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	host, port, _ := net.SplitHostPort(sink.Addr())
	p, _ := strconv.Atoi(port)
	sender, err := smtpsender.New(smtpsender.Config{Host: host, Port: p, TLS: smtpsender.StartTLSOpportunistic, From: "no-reply@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	seen := make(chan string, 16)
	sink.OnCode(func(to, code string) { seen <- to + " " + code })
	for loc, tmpl := range locales.All() {
		const code, user = "048213", "user20261127"
		render := func(s string) string {
			return strings.NewReplacer("{####}", code, "{username}", user).Replace(s)
		}
		m := recovery.Message{Medium: recovery.Email, To: user + "@example.com", Username: user, Code: code,
			Subject: render(tmpl.EmailSubject), Text: render(tmpl.EmailText), HTML: render(tmpl.EmailHTML)}
		if err := sender.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
		got, err := sink.Take(ctx, m.To)
		if err != nil || got != code {
			t.Fatalf("%s: got %q, %v; want %s", loc, got, err, code)
		}
		if line := <-seen; line != m.To+" "+code {
			t.Fatalf("%s: OnCode saw %q", loc, line)
		}
	}
	if sink.Count() != len(locales.All()) {
		t.Fatalf("count %d", sink.Count())
	}
}
