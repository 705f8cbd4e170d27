// Package smtpsink is an SMTP server for demos, tests and load runs: it
// accepts every message on a loopback address and keeps the recovery code
// of each, so a client can read the code a server emailed. It is built on
// github.com/emersion/go-smtp. Never expose it: it holds codes.
package smtpsink

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// Sink receives mail and remembers the last code sent to each recipient.
type Sink struct {
	srv *smtp.Server
	ln  net.Listener

	mu      sync.Mutex
	codes   map[string]string // lower-cased recipient -> last code
	waiters map[string][]chan string
	count   int
	onCode  func(to, code string)
}

// Start listens on addr ("127.0.0.1:0" for any free port) and serves until
// Close.
func Start(addr string) (*Sink, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Sink{ln: ln, codes: map[string]string{}, waiters: map[string][]chan string{}}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{sink: s}, nil }))
	s.srv.Domain = "localhost"
	s.srv.ReadTimeout = 30 * time.Second
	s.srv.WriteTimeout = 30 * time.Second
	s.srv.MaxMessageBytes = 1 << 20
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	go s.srv.Serve(ln)
	return s, nil
}

// OnCode calls f, outside the sink's lock, for every code that arrives from
// now on, once per recipient. The command in cmd/smtpsink uses it to print
// codes to a terminal.
func (s *Sink) OnCode(f func(to, code string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onCode = f
}

// Addr is the host:port the sink listens on.
func (s *Sink) Addr() string { return s.ln.Addr().String() }

// Count is how many messages arrived.
func (s *Sink) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// Close stops the server.
func (s *Sink) Close() error { return s.srv.Close() }

// codePattern finds the code in a decoded body: the first run of 4 to 10
// digits after the word for "code" (code, Code, código), which is how the
// built-in template and every shipped locale put it. A username with digits
// earlier in the text is not taken for the code.
var codePattern = regexp.MustCompile(`(?i)c[oó]d(?:e|igo)\D{0,100}?\b(\d{4,10})\b`)

// extractCode decodes the message (multipart, quoted-printable, base64) and
// returns the first code in its first text part.
func extractCode(data []byte) (string, bool) {
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return "", false
	}
	body, ok := textPart(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	if !ok {
		return "", false
	}
	m := codePattern.FindSubmatch(body)
	if m == nil {
		return "", false
	}
	return string(m[1]), true
}

// textPart returns the decoded body of the first text/* part.
func textPart(contentType, encoding string, r io.Reader) ([]byte, bool) {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		mediaType = "text/plain"
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(r, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err != nil {
				return nil, false
			}
			if b, ok := textPart(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); ok {
				return b, true
			}
		}
	}
	if !strings.HasPrefix(mediaType, "text/") {
		return nil, false
	}
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r)
	}
	b, err := io.ReadAll(r)
	return b, err == nil
}

func (s *Sink) deliver(rcpts []string, data []byte) {
	code, ok := extractCode(data)
	s.mu.Lock()
	s.count++
	onCode := s.onCode
	if ok {
		for _, r := range rcpts {
			r = strings.ToLower(r)
			s.codes[r] = code
			for _, w := range s.waiters[r] {
				w <- code
			}
			delete(s.waiters, r)
		}
	}
	s.mu.Unlock()
	if ok && onCode != nil {
		for _, r := range rcpts {
			onCode(r, code)
		}
	}
}

// Take waits for the next message to rcpt and returns its code, forgetting
// it, so the next Take waits for a newer one.
func (s *Sink) Take(ctx context.Context, rcpt string) (string, error) {
	rcpt = strings.ToLower(rcpt)
	s.mu.Lock()
	if c, ok := s.codes[rcpt]; ok {
		delete(s.codes, rcpt)
		s.mu.Unlock()
		return c, nil
	}
	w := make(chan string, 1)
	s.waiters[rcpt] = append(s.waiters[rcpt], w)
	s.mu.Unlock()
	select {
	case c := <-w:
		s.mu.Lock()
		if s.codes[rcpt] == c {
			delete(s.codes, rcpt)
		}
		s.mu.Unlock()
		return c, nil
	case <-ctx.Done():
		return "", errors.New("smtpsink: no message for " + rcpt + ": " + ctx.Err().Error())
	}
}

type session struct {
	sink  *Sink
	rcpts []string
}

func (s *session) AuthPlain(string, string) error       { return nil }
func (s *session) Mail(string, *smtp.MailOptions) error { return nil }
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.rcpts = append(s.rcpts, to)
	return nil
}
func (s *session) Reset()        { s.rcpts = nil }
func (s *session) Logout() error { return nil }
func (s *session) Data(r io.Reader) error {
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(r); err != nil {
		return err
	}
	s.sink.deliver(s.rcpts, buf.Bytes())
	return nil
}
