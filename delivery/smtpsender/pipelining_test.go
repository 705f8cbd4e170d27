package smtpsender_test

import (
	"bufio"
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/delivery/smtpsender"
)

// scripted is an SMTP server that answers from a script and records, for
// each command, whether the client had already sent the next one before
// the reply: what tells a pipelining client from one that waits.
type scripted struct {
	ln        net.Listener
	ehlo      []string          // EHLO's extension lines
	replies   map[string]string // reply per command verb; default 250 OK
	mu        sync.Mutex
	lines     []string // every command line received
	ahead     []bool   // per line: was more already buffered
	quits     int
	closeSeen chan struct{} // closed when a connection ends
}

func startScripted(t *testing.T, ehlo []string, replies map[string]string) *scripted {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &scripted{ln: ln, ehlo: ehlo, replies: replies, closeSeen: make(chan struct{}, 16)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *scripted) serve(c net.Conn) {
	defer func() { c.Close(); s.closeSeen <- struct{}{} }()
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	reply := func(lines ...string) { w.WriteString(strings.Join(lines, "\r\n") + "\r\n"); w.Flush() }
	reply("220 scripted ESMTP")
	inData := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		if inData {
			if line == "." {
				inData = false
				reply(s.reply("."))
			}
			continue
		}
		s.mu.Lock()
		s.lines = append(s.lines, line)
		s.ahead = append(s.ahead, r.Buffered() > 0)
		s.mu.Unlock()
		verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		switch {
		case verb == "EHLO":
			out := []string{"250-scripted"}
			for i, e := range s.ehlo {
				sep := "-"
				if i == len(s.ehlo)-1 {
					sep = " "
				}
				out = append(out, "250"+sep+e)
			}
			if len(s.ehlo) == 0 {
				out = []string{"250 scripted"}
			}
			reply(out...)
		case verb == "QUIT":
			s.mu.Lock()
			s.quits++
			s.mu.Unlock()
			reply("221 bye")
			return
		default:
			rep := s.reply(verb)
			inData = verb == "DATA" && strings.HasPrefix(rep, "354")
			reply(rep)
		}
	}
}

func (s *scripted) reply(verb string) string {
	if r, ok := s.replies[verb]; ok {
		return r
	}
	if verb == "DATA" {
		return "354 go ahead"
	}
	return "250 OK"
}

func (s *scripted) recorded() ([]string, []bool, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...), append([]bool(nil), s.ahead...), s.quits
}

func (s *scripted) sender(t *testing.T, disable bool) *smtpsender.Sender {
	return s.senderFrom(t, disable, "no-reply@example.com")
}

func (s *scripted) senderFrom(t *testing.T, disable bool, from string) *smtpsender.Sender {
	t.Helper()
	addr := s.ln.Addr().(*net.TCPAddr)
	snd, err := smtpsender.New(smtpsender.Config{Host: "127.0.0.1", Port: addr.Port, TLS: smtpsender.NoTLS,
		From: from, LocalName: "client.example", DisablePipelining: disable,
		ConnectTimeout: 5 * time.Second, SendTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { snd.Close(context.Background()) })
	return snd
}

// transaction returns the commands (from MAIL on) and whether
// each was sent before the previous one's reply came.
func transaction(lines []string, ahead []bool) ([]string, []bool) {
	for i, l := range lines {
		if strings.HasPrefix(l, "MAIL") {
			return lines[i:], ahead[i:]
		}
	}
	return nil, nil
}

// To a server that offers PIPELINING, MAIL, RCPT and DATA go in one write
// (the server finds the next command already there when it reads each of
// the first two); with DisablePipelining, or to a server that does not
// offer it, each waits for its reply. Either way the envelope addresses
// are in angle brackets, as RFC 5321 requires.
func TestPipelining(t *testing.T) {
	for _, c := range []struct {
		name      string
		ehlo      []string
		disable   bool
		pipelined bool
		mail      string
	}{
		{"offered", []string{"PIPELINING", "8BITMIME"}, false, true, "MAIL FROM:<no-reply@example.com> BODY=8BITMIME"},
		{"disabled", []string{"PIPELINING", "8BITMIME"}, true, false, "MAIL FROM:<no-reply@example.com> BODY=8BITMIME"},
		{"not offered", []string{"8BITMIME"}, false, false, "MAIL FROM:<no-reply@example.com> BODY=8BITMIME"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := startScripted(t, c.ehlo, nil)
			snd := srv.sender(t, c.disable)
			for range 2 { // the second on the pooled connection
				if err := snd.Send(t.Context(), message()); err != nil {
					t.Fatal(err)
				}
			}
			all, allAhead, _ := srv.recorded()
			lines, ahead := transaction(all, allAhead)
			want := []string{c.mail, "RCPT TO:<alice@example.com>", "DATA"}
			if len(lines) < 3 || strings.Join(lines[:3], "|") != strings.Join(want, "|") {
				t.Fatalf("commands %q, want %q first", lines, want)
			}
			if ahead[0] != c.pipelined || ahead[1] != c.pipelined || ahead[2] {
				t.Errorf("sent ahead of the replies: MAIL %v, RCPT %v, DATA %v; want %v, %v, false", ahead[0], ahead[1], ahead[2], c.pipelined, c.pipelined)
			}
			if n := strings.Count(strings.Join(lines, "|"), "MAIL FROM"); n != 2 {
				t.Errorf("%d transactions, want 2 (on one connection: %q)", n, lines)
			}
		})
	}
}

// The envelope sender is the bare address however Config.From was
// written (in angle brackets, with spaces around), on either path.
func TestEnvelopeSender(t *testing.T) {
	for _, disable := range []bool{false, true} {
		for _, from := range []string{"<no-reply@example.com>", " no-reply@example.com "} {
			srv := startScripted(t, []string{"PIPELINING"}, nil)
			if err := srv.senderFrom(t, disable, from).Send(t.Context(), message()); err != nil {
				t.Fatalf("From %q, DisablePipelining %v: %v", from, disable, err)
			}
			lines, _, _ := srv.recorded()
			if !slices.Contains(lines, "MAIL FROM:<no-reply@example.com>") {
				t.Errorf("From %q, DisablePipelining %v: commands %q, want MAIL FROM:<no-reply@example.com>", from, disable, lines)
			}
		}
	}
}

// A pipelined refusal is read to the end: a refused recipient is the
// Send's error and the session is closed politely; a server that accepts
// DATA after refusing the recipient (RFC 2920 says it must not) is left
// without a word, since anything sent would be read as a message.
func TestPipeliningRefusals(t *testing.T) {
	for _, c := range []struct {
		name     string
		replies  map[string]string
		wantQuit int
	}{
		{"recipient refused", map[string]string{"RCPT": "550 5.1.1 no such user", "DATA": "554 5.5.1 no valid recipients"}, 1},
		{"data accepted anyway", map[string]string{"RCPT": "550 5.1.1 no such user"}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := startScripted(t, []string{"PIPELINING"}, c.replies)
			snd := srv.sender(t, false)
			err := snd.Send(t.Context(), message())
			var se *smtpsender.Error
			if !errors.As(err, &se) || se.ReplyCode != 550 {
				t.Fatalf("Send: %v, want the RCPT refusal (550)", err)
			}
			select {
			case <-srv.closeSeen:
			case <-time.After(5 * time.Second):
				t.Fatal("the connection was not closed")
			}
			if _, _, quits := srv.recorded(); quits != c.wantQuit {
				t.Errorf("%d QUITs, want %d", quits, c.wantQuit)
			}
		})
	}
}
