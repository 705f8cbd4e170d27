package smtpsender_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/recoverykit/recoverykit/delivery/smtpsender"
	"github.com/recoverykit/recoverykit/recovery"
)

const code = "493817"

var fixedNow = time.Date(2026, 3, 1, 9, 30, 0, 0, time.FixedZone("CET", 3600))

func message() recovery.Message {
	return recovery.Message{
		Pool: "default", ClientID: "web", Medium: recovery.Email,
		To: "alice@example.com", Username: "alice", Sub: "sub-1", Locale: "fr",
		Code:    code,
		Subject: "Réinitialisation du mot de passe — ünïcödé",
		Text:    "Bonjour alice,\n\nVotre code est " + code + "\n",
		HTML:    "<p>Bonjour alice,</p><p>Votre code est <strong>" + code + "</strong></p>",
	}
}

// newSender builds a Sender for ts; mutate adjusts the config.
func newSender(t *testing.T, ts *testServer, mutate func(*smtpsender.Config)) *smtpsender.Sender {
	t.Helper()
	cfg := smtpsender.Config{
		Host: ts.host, Port: ts.port, TLS: smtpsender.NoTLS,
		From: "no-reply@example.com", FromName: "Sécurité Compte",
		ReplyTo:        "support@example.com",
		ConnectTimeout: 5 * time.Second,
		SendTimeout:    10 * time.Second,
		Now:            func() time.Time { return fixedNow },
	}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := smtpsender.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// parsed is a received message, decoded.
type parsed struct {
	header mail.Header
	parts  []part
}

type part struct {
	mediaType, charset, body string
}

func parse(t *testing.T, data []byte) parsed {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("the message does not parse: %v\n%s", err, data)
	}
	p := parsed{header: msg.Header}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type: %v", err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		body := decodeBody(t, msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
		p.parts = append(p.parts, part{mt, params["charset"], body})
		if mt != "text/plain" && mt != "text/html" {
			t.Fatalf("single part of type %s", mt)
		}
		return p
	}
	if mt != "multipart/alternative" {
		t.Fatalf("Content-Type is %s, want multipart/alternative", mt)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		mp, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		pt, pp, err := mime.ParseMediaType(mp.Header.Get("Content-Type"))
		if err != nil {
			t.Fatal(err)
		}
		// multipart.Reader decodes quoted-printable itself.
		b, err := io.ReadAll(mp)
		if err != nil {
			t.Fatal(err)
		}
		p.parts = append(p.parts, part{pt, pp["charset"], string(b)})
	}
	return p
}

func decodeBody(t *testing.T, cte string, r io.Reader) string {
	t.Helper()
	if strings.EqualFold(cte, "quoted-printable") {
		r = quotedprintable.NewReader(r)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func decodeHeader(t *testing.T, v string) string {
	t.Helper()
	s, err := new(mime.WordDecoder).DecodeHeader(v)
	if err != nil {
		t.Fatalf("decoding %q: %v", v, err)
	}
	return s
}

func crlf(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

func TestSendMultipartAlternative(t *testing.T) {
	ts := startServer(t, serverOptions{})
	s := newSender(t, ts, nil)
	m := message()
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	msgs := ts.messages()
	if len(msgs) != 1 {
		t.Fatalf("the server got %d messages", len(msgs))
	}
	got := msgs[0]
	if got.From != "no-reply@example.com" || len(got.Rcpts) != 1 || got.Rcpts[0] != "alice@example.com" {
		t.Errorf("envelope from %q to %q", got.From, got.Rcpts)
	}
	p := parse(t, got.Data)
	h := p.header

	if subj := decodeHeader(t, h.Get("Subject")); subj != m.Subject {
		t.Errorf("Subject %q decodes to %q, want %q", h.Get("Subject"), subj, m.Subject)
	}
	if h.Get("Subject") == m.Subject {
		t.Errorf("the non-ASCII Subject was sent raw, not RFC 2047 encoded")
	}
	from, err := mail.ParseAddress(h.Get("From")) // net/mail decodes RFC 2047 names
	if err != nil || from.Name != "Sécurité Compte" || from.Address != "no-reply@example.com" {
		t.Errorf("From %q parses to %v, %v", h.Get("From"), from, err)
	}
	to, err := h.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Address != "alice@example.com" {
		t.Errorf("To %q parses to %v, %v", h.Get("To"), to, err)
	}
	if rt, err := h.AddressList("Reply-To"); err != nil || len(rt) != 1 || rt[0].Address != "support@example.com" {
		t.Errorf("Reply-To %q parses to %v, %v", h.Get("Reply-To"), rt, err)
	}
	if d, err := h.Date(); err != nil || !d.Equal(fixedNow) {
		t.Errorf("Date %q parses to %v, %v; want %v", h.Get("Date"), d, err, fixedNow)
	}
	if id := h.Get("Message-Id"); !regexp.MustCompile(`^<[0-9a-f]{32}@example\.com>$`).MatchString(id) {
		t.Errorf("Message-ID %q", id)
	}
	if v := h.Get("Auto-Submitted"); v != "auto-generated" {
		t.Errorf("Auto-Submitted %q", v)
	}
	for _, k := range []string{"User-Agent", "X-Mailer", "Bcc", "Cc"} {
		if v := h.Get(k); v != "" {
			t.Errorf("unexpected header %s: %q", k, v)
		}
	}

	if len(p.parts) != 2 {
		t.Fatalf("%d parts, want 2", len(p.parts))
	}
	text, htmlPart := p.parts[0], p.parts[1]
	if text.mediaType != "text/plain" || htmlPart.mediaType != "text/html" {
		t.Errorf("parts are %s and %s, want text/plain then text/html", text.mediaType, htmlPart.mediaType)
	}
	for _, pt := range p.parts {
		if !strings.EqualFold(pt.charset, "utf-8") {
			t.Errorf("%s part has charset %q", pt.mediaType, pt.charset)
		}
		if !strings.Contains(pt.body, code) {
			t.Errorf("%s part lacks the code:\n%s", pt.mediaType, pt.body)
		}
	}
	if crlf(text.body) != m.Text {
		t.Errorf("text part %q, want %q", text.body, m.Text)
	}
	if crlf(htmlPart.body) != m.HTML {
		t.Errorf("HTML part %q, want %q", htmlPart.body, m.HTML)
	}
}

func TestSendSinglePart(t *testing.T) {
	ts := startServer(t, serverOptions{})
	s := newSender(t, ts, nil)
	for _, tc := range []struct {
		name      string
		text, htm string
		want      string
	}{
		{"text only", "Your code is " + code, "", "text/plain"},
		{"HTML only", "", "<p>Your code is " + code + "</p>", "text/html"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := message()
			m.Text, m.HTML = tc.text, tc.htm
			if err := s.Send(context.Background(), m); err != nil {
				t.Fatal(err)
			}
			msgs := ts.messages()
			p := parse(t, msgs[len(msgs)-1].Data)
			if len(p.parts) != 1 || p.parts[0].mediaType != tc.want || !strings.Contains(p.parts[0].body, code) {
				t.Fatalf("parts %+v, want one %s part with the code", p.parts, tc.want)
			}
		})
	}
	m := message()
	m.Text, m.HTML = "", ""
	if err := s.Send(context.Background(), m); err == nil {
		t.Fatal("a message without a body was sent")
	}
}

func TestHeaderInjection(t *testing.T) {
	ts := startServer(t, serverOptions{})
	s := newSender(t, ts, nil)

	for _, to := range []string{
		"alice@example.com\r\nBcc: evil@example.net",
		"alice@example.com\nBcc: evil@example.net",
		"Alice <alice@example.com>",
		"alice@example.com, evil@example.net",
		"not an address",
		"",
	} {
		m := message()
		m.To = to
		err := s.Send(context.Background(), m)
		if err == nil {
			t.Errorf("To %q was accepted", to)
			continue
		}
		if !errors.Is(err, smtpsender.ErrInvalidMessage) || recovery.Retryable(err) {
			t.Errorf("To %q: %v, want a permanent ErrInvalidMessage", to, err)
		}
		mustNotContain(t, err, code, "\r", "\n")
	}

	// A subject that is not one line is refused, not flattened: the engine
	// renders subjects on one line, so such a one comes from a caller who
	// must hear of it.
	for _, subject := range []string{
		"Hello\r\nBcc: evil@example.net\r\nX-Evil: 1",
		"Hello\nBcc: evil@example.net",
		"Hello\rBcc: evil@example.net",
		"Hello\u0085Bcc: evil@example.net", // NEL, a line break to some parsers
		"Hello\tthere",
		"Hello\x00",
	} {
		m := message()
		m.Subject = subject
		err := s.Send(context.Background(), m)
		if !errors.Is(err, smtpsender.ErrInvalidMessage) || recovery.Retryable(err) {
			t.Errorf("Subject %q: %v, want a permanent ErrInvalidMessage", subject, err)
		}
		mustNotContain(t, err, code, "\r", "\n", "evil")
	}
	if n := len(ts.messages()); n != 0 {
		t.Fatalf("the server got %d messages with unusable headers", n)
	}
}

func TestSMSIsRefused(t *testing.T) {
	ts := startServer(t, serverOptions{})
	s := newSender(t, ts, nil)
	m := message()
	m.Medium, m.To, m.Text, m.HTML, m.Subject = recovery.SMS, "+15550100", "Your code is "+code, "", ""
	err := s.Send(context.Background(), m)
	if !errors.Is(err, smtpsender.ErrUnsupportedMedium) {
		t.Fatalf("Send(SMS) = %v, want ErrUnsupportedMedium", err)
	}
	mustNotContain(t, err, code)
	if len(ts.messages()) != 0 {
		t.Fatal("an SMS went out by SMTP")
	}
}

func TestServerDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := newSender(t, &testServer{host: "127.0.0.1", port: port}, nil)
	err = s.Send(context.Background(), message())
	var se *smtpsender.Error
	if !errors.As(err, &se) || se.Op != "connect" || se.ReplyCode != 0 || !se.Temporary() {
		t.Fatalf("Send = %#v, want a temporary connect *Error", err)
	}
	if errors.Is(err, recovery.ErrDeliveryUnauthorized) || errors.Is(err, recovery.ErrDeliveryForbidden) {
		t.Errorf("a refused connection reads as a misconfiguration: %v", err)
	}
	mustNotContain(t, err, code)
}

func TestRecipientRejected(t *testing.T) {
	ts := startServer(t, serverOptions{rejectRcpt: "alice@example.com"})
	err := newSender(t, ts, nil).Send(context.Background(), message())
	var se *smtpsender.Error
	if !errors.As(err, &se) || se.Op != "send" || se.ReplyCode != 550 || se.EnhancedCode != "5.1.1" || se.Temporary() {
		t.Fatalf("Send = %v, want a permanent send *Error with 550 5.1.1", err)
	}
	if errors.Is(err, recovery.ErrDeliveryUnauthorized) || errors.Is(err, recovery.ErrDeliveryForbidden) {
		t.Errorf("an unknown recipient reads as a misconfiguration: %v", err)
	}
	mustNotContain(t, err, code)
}

func TestSenderRefused(t *testing.T) {
	for _, tc := range []struct {
		name      string
		reply     *smtp.SMTPError
		forbidden bool
	}{
		{"not owned by user", &smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Sender address rejected: not owned by user"}, true},
		{"bad sender domain", &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 8}, Message: "Bad sender's system address"}, false},
		{"try later", &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, serverOptions{rejectMail: tc.reply})
			err := newSender(t, ts, nil).Send(context.Background(), message())
			if err == nil {
				t.Fatal("Send succeeded")
			}
			if errors.Is(err, recovery.ErrDeliveryForbidden) != tc.forbidden {
				t.Errorf("errors.Is(%v, ErrDeliveryForbidden) = %v, want %v", err, !tc.forbidden, tc.forbidden)
			}
			var se *smtpsender.Error
			if !errors.As(err, &se) || se.ReplyCode != tc.reply.Code || se.Temporary() != (tc.reply.Code/100 == 4) {
				t.Errorf("Send = %#v", err)
			}
		})
	}
}

func TestAuth(t *testing.T) {
	const user, pass = "mailer", "s3cret-Passw0rd"
	ts := startServer(t, serverOptions{user: user, pass: pass})
	for _, mech := range []smtpsender.AuthMethod{"", smtpsender.AuthPlain, smtpsender.AuthLogin, smtpsender.AuthCRAMMD5} {
		name := string(mech)
		if name == "" {
			name = "default"
		}
		t.Run(name, func(t *testing.T) {
			s := newSender(t, ts, func(c *smtpsender.Config) { c.Auth, c.Username, c.Password = mech, user, pass })
			if err := s.Send(context.Background(), message()); err != nil {
				t.Fatal(err)
			}
			msgs := ts.messages()
			want := string(mech)
			if want == "" {
				want = "PLAIN"
			}
			if got := msgs[len(msgs)-1].Auth; got != want {
				t.Errorf("the server saw AUTH %q, want %q", got, want)
			}
		})
		t.Run(name+" wrong password", func(t *testing.T) {
			const wrong = "wr0ng-Passw0rd"
			s := newSender(t, ts, func(c *smtpsender.Config) { c.Auth, c.Username, c.Password = mech, user, wrong })
			err := s.Send(context.Background(), message())
			if !errors.Is(err, recovery.ErrDeliveryUnauthorized) {
				t.Fatalf("Send = %v, want ErrDeliveryUnauthorized", err)
			}
			var se *smtpsender.Error
			if !errors.As(err, &se) || se.ReplyCode != 535 || se.Temporary() {
				t.Errorf("Send = %#v, want a permanent 535", err)
			}
			mustNotContain(t, err, code, wrong, pass)
		})
	}
	t.Run("no credentials", func(t *testing.T) {
		err := newSender(t, ts, nil).Send(context.Background(), message())
		if !errors.Is(err, recovery.ErrDeliveryUnauthorized) {
			t.Fatalf("Send without credentials to a server that wants them = %v, want ErrDeliveryUnauthorized", err)
		}
	})
	t.Run("mechanism not offered", func(t *testing.T) {
		plain := startServer(t, serverOptions{})
		s := newSender(t, plain, func(c *smtpsender.Config) { c.Username, c.Password = user, pass })
		if err := s.Send(context.Background(), message()); !errors.Is(err, recovery.ErrDeliveryUnauthorized) {
			t.Fatalf("Send with credentials to a server without AUTH = %v, want ErrDeliveryUnauthorized", err)
		}
	})
}

func TestTLS(t *testing.T) {
	serverTLS, roots := testCert(t)
	trusted := &tls.Config{RootCAs: roots}

	t.Run("STARTTLS required", func(t *testing.T) {
		ts := startServer(t, serverOptions{startTLS: serverTLS, user: "mailer", pass: "pw"})
		s := newSender(t, ts, func(c *smtpsender.Config) {
			c.TLS, c.TLSConfig, c.Username, c.Password = smtpsender.StartTLS, trusted, "mailer", "pw"
		})
		if err := s.Send(context.Background(), message()); err != nil {
			t.Fatal(err)
		}
		if got := ts.messages()[0]; !got.TLS || got.Auth != "PLAIN" {
			t.Fatalf("TLS %v auth %q, want an encrypted, authenticated session", got.TLS, got.Auth)
		}
	})
	t.Run("STARTTLS required but not offered", func(t *testing.T) {
		ts := startServer(t, serverOptions{})
		s := newSender(t, ts, func(c *smtpsender.Config) { c.TLS, c.TLSConfig = smtpsender.StartTLS, trusted })
		err := s.Send(context.Background(), message())
		var se *smtpsender.Error
		if !errors.As(err, &se) || se.Op != "connect" || se.Temporary() {
			t.Fatalf("Send = %v, want a permanent connect error", err)
		}
		if len(ts.messages()) != 0 {
			t.Fatal("the message went out in plain text")
		}
	})
	t.Run("STARTTLS with an untrusted certificate", func(t *testing.T) {
		ts := startServer(t, serverOptions{startTLS: serverTLS})
		s := newSender(t, ts, func(c *smtpsender.Config) { c.TLS, c.TLSConfig = smtpsender.StartTLS, nil })
		err := s.Send(context.Background(), message())
		var se *smtpsender.Error
		if !errors.As(err, &se) || se.Temporary() {
			t.Fatalf("Send = %v, want a permanent error", err)
		}
		if len(ts.messages()) != 0 {
			t.Fatal("the message went to an untrusted server")
		}
	})
	t.Run("STARTTLS opportunistic, not offered", func(t *testing.T) {
		ts := startServer(t, serverOptions{})
		s := newSender(t, ts, func(c *smtpsender.Config) { c.TLS, c.TLSConfig = smtpsender.StartTLSOpportunistic, trusted })
		if err := s.Send(context.Background(), message()); err != nil {
			t.Fatal(err)
		}
		if ts.messages()[0].TLS {
			t.Fatal("TLS without STARTTLS?")
		}
	})
	t.Run("STARTTLS opportunistic, offered", func(t *testing.T) {
		ts := startServer(t, serverOptions{startTLS: serverTLS})
		s := newSender(t, ts, func(c *smtpsender.Config) { c.TLS, c.TLSConfig = smtpsender.StartTLSOpportunistic, trusted })
		if err := s.Send(context.Background(), message()); err != nil {
			t.Fatal(err)
		}
		if !ts.messages()[0].TLS {
			t.Fatal("the session stayed in plain text")
		}
	})
	t.Run("implicit TLS", func(t *testing.T) {
		ts := startServer(t, serverOptions{implicit: serverTLS, user: "mailer", pass: "pw"})
		s := newSender(t, ts, func(c *smtpsender.Config) {
			c.TLS, c.TLSConfig, c.Auth, c.Username, c.Password = smtpsender.ImplicitTLS, trusted, smtpsender.AuthLogin, "mailer", "pw"
		})
		if err := s.Send(context.Background(), message()); err != nil {
			t.Fatal(err)
		}
		if got := ts.messages()[0]; !got.TLS || got.Auth != "LOGIN" {
			t.Fatalf("TLS %v auth %q", got.TLS, got.Auth)
		}
	})
}

func TestContext(t *testing.T) {
	stall := make(chan struct{})
	defer close(stall)
	ts := startServer(t, serverOptions{stall: stall})

	t.Run("deadline", func(t *testing.T) {
		s := newSender(t, ts, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := s.Send(ctx, message())
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Send = %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("Send took %s after a 200ms deadline", d)
		}
		mustNotContain(t, err, code)
	})
	t.Run("SendTimeout", func(t *testing.T) {
		s := newSender(t, ts, func(c *smtpsender.Config) { c.SendTimeout = 200 * time.Millisecond })
		start := time.Now()
		if err := s.Send(context.Background(), message()); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Send = %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("Send took %s with a 200ms SendTimeout", d)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		s := newSender(t, ts, nil)
		ctx, cancel := context.WithCancel(context.Background())
		go func() { time.Sleep(100 * time.Millisecond); cancel() }()
		if err := s.Send(ctx, message()); !errors.Is(err, context.Canceled) {
			t.Fatalf("Send = %v, want context.Canceled", err)
		}
		if err := s.Send(ctx, message()); !errors.Is(err, context.Canceled) {
			t.Fatalf("Send with a done context = %v, want context.Canceled", err)
		}
	})
}

func TestNew(t *testing.T) {
	ok := smtpsender.Config{Host: "smtp.example.com", From: "no-reply@example.com"}
	if _, err := smtpsender.New(ok); err != nil {
		t.Fatalf("New(%+v) = %v", ok, err)
	}
	for _, tc := range []struct {
		name   string
		mutate func(*smtpsender.Config)
		want   string
	}{
		{"no host", func(c *smtpsender.Config) { c.Host = "" }, "Config.Host is empty"},
		{"host with port", func(c *smtpsender.Config) { c.Host = "smtp.example.com:587" }, "Config.Port"},
		{"no from", func(c *smtpsender.Config) { c.From = "" }, "Config.From is empty"},
		{"from with a name", func(c *smtpsender.Config) { c.From = "Example <no-reply@example.com>" }, "FromName"},
		{"from with a line break", func(c *smtpsender.Config) { c.From = "no-reply@example.com\r\nBcc: x@y" }, "Config.From"},
		{"from name with a line break", func(c *smtpsender.Config) { c.FromName = "Example\r\nBcc: x@y" }, "Config.FromName"},
		{"bad reply-to", func(c *smtpsender.Config) { c.ReplyTo = "support" }, "Config.ReplyTo"},
		{"plain text to a remote host", func(c *smtpsender.Config) { c.TLS = smtpsender.NoTLS }, "not a loopback address"},
		{"unknown TLS mode", func(c *smtpsender.Config) { c.TLS = 9 }, "Config.TLS"},
		{"bad port", func(c *smtpsender.Config) { c.Port = 70000 }, "Config.Port"},
		{"auth without username", func(c *smtpsender.Config) { c.Auth = smtpsender.AuthLogin }, "Username is empty"},
		{"username without auth", func(c *smtpsender.Config) { c.Auth, c.Username = smtpsender.AuthNone, "u" }, "AuthNone"},
		{"unknown auth", func(c *smtpsender.Config) { c.Auth, c.Username = "XOAUTH2", "u" }, "Config.Auth"},
		{"negative timeout", func(c *smtpsender.Config) { c.SendTimeout = -time.Second }, "Config.SendTimeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.mutate(&cfg)
			_, err := smtpsender.New(cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
	for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
		if _, err := smtpsender.New(smtpsender.Config{Host: host, TLS: smtpsender.NoTLS, From: "a@example.com"}); err != nil {
			t.Errorf("NoTLS to %s: %v", host, err)
		}
	}
	if _, err := smtpsender.New(smtpsender.Config{Host: "smtp.example.com", From: "a@example.com", Password: "topsecret", Username: "u\n"}); err == nil || strings.Contains(err.Error(), "topsecret") {
		t.Errorf("New = %v, want an error without the password", err)
	}
}

func TestStringsOfEnums(t *testing.T) {
	for m, want := range map[smtpsender.TLSMode]string{
		smtpsender.StartTLS: "StartTLS", smtpsender.StartTLSOpportunistic: "StartTLSOpportunistic",
		smtpsender.ImplicitTLS: "ImplicitTLS", smtpsender.NoTLS: "NoTLS", 7: "TLSMode(7)",
	} {
		if m.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(m), m.String(), want)
		}
	}
}
