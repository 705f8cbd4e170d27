package smtpsender_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/delivery/smtpsender"
	"github.com/recoverykit/recoverykit/recovery"
)

// closeSender closes s at the end of the test, and fails it on an error.
func closeSender(t *testing.T, s *smtpsender.Sender) {
	t.Helper()
	if err := s.Close(context.Background()); err != nil {
		t.Fatalf("Close = %v", err)
	}
}

// eventually waits up to 5 s for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

func sendN(t *testing.T, s *smtpsender.Sender, n int) {
	t.Helper()
	for i := range n {
		if err := s.Send(context.Background(), message()); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
}

func TestPoolReusesConnections(t *testing.T) {
	serverTLS, roots := testCert(t)
	ts := startServer(t, serverOptions{startTLS: serverTLS, user: "mailer", pass: "pw"})
	s := newSender(t, ts, func(c *smtpsender.Config) {
		c.TLS, c.TLSConfig, c.Username, c.Password = smtpsender.StartTLS, &tls.Config{RootCAs: roots}, "mailer", "pw"
	})
	sendN(t, s, 10)
	if conns, quits, msgs := ts.stats(); conns != 1 || quits != 0 || msgs != 10 {
		t.Fatalf("%d messages over %d connections, %d QUIT; want 10 over 1, none yet", msgs, conns, quits)
	}
	for _, m := range ts.messages() {
		if !m.TLS || m.Auth != "PLAIN" {
			t.Fatalf("a message on a reused connection: TLS %v, auth %q", m.TLS, m.Auth)
		}
	}
	closeSender(t, s)
	if conns, quits, _ := ts.stats(); quits != conns {
		t.Fatalf("Close: %d QUIT for %d connections", quits, conns)
	}
	eventually(t, "the server sees the connection closed", func() bool { n, _ := ts.openConns(); return n == 0 })
	err := s.Send(context.Background(), message())
	if !errors.Is(err, smtpsender.ErrClosed) {
		t.Fatalf("Send after Close = %v, want ErrClosed", err)
	}
	closeSender(t, s) // again: harmless
}

func TestPoolMessageCap(t *testing.T) {
	for _, tc := range []struct{ limit, sends, conns int }{
		{3, 7, 3},
		{1, 4, 4}, // a connection per message, as before pooling
	} {
		t.Run(fmt.Sprint(tc.limit), func(t *testing.T) {
			ts := startServer(t, serverOptions{})
			s := newSender(t, ts, func(c *smtpsender.Config) { c.MaxMessagesPerConnection = tc.limit })
			sendN(t, s, tc.sends)
			conns, quits, msgs := ts.stats()
			if conns != tc.conns || msgs != tc.sends {
				t.Fatalf("%d messages over %d connections, want %d over %d", msgs, conns, tc.sends, tc.conns)
			}
			// Every full connection said QUIT when it was full.
			if full := tc.sends / tc.limit; quits != full {
				t.Fatalf("%d QUIT, want %d", quits, full)
			}
			closeSender(t, s)
			if _, quits, _ := ts.stats(); quits != conns {
				t.Fatalf("after Close: %d QUIT for %d connections", quits, conns)
			}
		})
	}
}

func TestPoolIdleTimeout(t *testing.T) {
	ts := startServer(t, serverOptions{})
	s := newSender(t, ts, func(c *smtpsender.Config) { c.IdleTimeout = 50 * time.Millisecond })
	defer closeSender(t, s)
	sendN(t, s, 2)
	start := time.Now()
	eventually(t, "the idle connection is closed", func() bool { _, quits, _ := ts.stats(); return quits == 1 })
	if d := time.Since(start); d < 40*time.Millisecond {
		t.Fatalf("the connection was closed after %s idle, before IdleTimeout", d)
	}
	sendN(t, s, 1)
	if conns, _, msgs := ts.stats(); conns != 2 || msgs != 3 {
		t.Fatalf("%d messages over %d connections, want 3 over 2", msgs, conns)
	}
}

// A pooled connection the server dropped is found at the next Send, which
// sends the message once on a new connection.
func TestPoolServerDropsIdleConnection(t *testing.T) {
	ts := startServer(t, serverOptions{})
	s := newSender(t, ts, nil)
	defer closeSender(t, s)
	sendN(t, s, 2)
	ts.dropAll()
	eventually(t, "the server dropped the connection", func() bool { n, _ := ts.openConns(); return n == 0 })
	sendN(t, s, 2)
	if conns, _, msgs := ts.stats(); conns != 2 || msgs != 4 {
		t.Fatalf("%d messages over %d connections, want 4 over 2", msgs, conns)
	}
}

// When the connection breaks after the whole message went, the server may
// have it: Send reports the failure and does not send it again.
func TestPoolNoRedeliveryAfterData(t *testing.T) {
	ts := startServer(t, serverOptions{dropInData: 2})
	s := newSender(t, ts, nil)
	defer closeSender(t, s)
	sendN(t, s, 1)
	err := s.Send(context.Background(), message()) // kept, then the connection drops
	var se *smtpsender.Error
	if !errors.As(err, &se) || se.Op != "send" || se.Temporary() {
		t.Fatalf("Send = %v, want a permanent send *Error: a retry could deliver it twice", err)
	}
	mustNotContain(t, err, code)
	if conns, _, msgs := ts.stats(); conns != 1 || msgs != 2 {
		t.Fatalf("%d messages over %d connections: want 2 over 1, the second never sent again", msgs, conns)
	}
	sendN(t, s, 1) // the broken connection was not kept
	if conns, _, msgs := ts.stats(); conns != 2 || msgs != 3 {
		t.Fatalf("%d messages over %d connections, want 3 over 2", msgs, conns)
	}
}

// A fresh connection that breaks before the message went is not tried
// again by Send, but its error is temporary: the server cannot have the
// message, so a later attempt cannot deliver it twice.
func TestConnectionLostBeforeData(t *testing.T) {
	ts := startServer(t, serverOptions{dropInMail: true})
	s := newSender(t, ts, nil)
	defer closeSender(t, s)
	err := s.Send(context.Background(), message())
	var se *smtpsender.Error
	if !errors.As(err, &se) || se.Op != "send" || se.ReplyCode != 0 || !se.Temporary() {
		t.Fatalf("Send = %v, want a temporary send *Error without a reply code", err)
	}
	mustNotContain(t, err, code)
	if conns, _, msgs := ts.stats(); conns != 1 || msgs != 0 {
		t.Fatalf("%d messages over %d connections, want none over 1", msgs, conns)
	}
}

// Many callers share a few connections, while the server drops them now
// and then: no more connections than MaxConnections, no message twice,
// every message Send calls sent at the server.
func TestPoolConcurrent(t *testing.T) {
	ts := startServer(t, serverOptions{})
	const maxConns, workers, each = 3, 8, 25
	s := newSender(t, ts, func(c *smtpsender.Config) { c.MaxConnections, c.MaxMessagesPerConnection = maxConns, 20 })

	stop := make(chan struct{})
	dropped := make(chan struct{})
	go func() { // the server drops every connection now and then
		defer close(dropped)
		for {
			select {
			case <-stop:
				return
			case <-time.After(7 * time.Millisecond):
				ts.dropAll()
			}
		}
	}()
	var wg sync.WaitGroup
	sent := make([][]string, workers) // recipients of the Sends that succeeded
	failed := make([]int, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				m := message()
				m.To = fmt.Sprintf("u%d-%d@example.com", w, i)
				if err := s.Send(context.Background(), m); err != nil {
					failed[w]++
					mustNotContain(t, err, code)
					continue
				}
				sent[w] = append(sent[w], m.To)
			}
		})
	}
	wg.Wait()
	close(stop)
	<-dropped

	got := map[string]int{}
	for _, m := range ts.messages() {
		got[m.Rcpts[0]]++
	}
	nFailed := 0
	for w := range workers {
		nFailed += failed[w]
		for _, to := range sent[w] {
			if got[to] != 1 {
				t.Errorf("%s: Send succeeded, the server got it %d times", to, got[to])
			}
		}
	}
	for to, n := range got {
		if n > 1 {
			t.Errorf("%s: the server got it %d times", to, n)
		}
	}
	if _, most := ts.openConns(); most > maxConns {
		t.Errorf("%d connections open at once, MaxConnections is %d", most, maxConns)
	}
	// Retries hide most drops; a drop after the whole message went fails
	// the Send instead. Most must go through.
	if nFailed > workers*each/4 {
		t.Errorf("%d of %d Sends failed", nFailed, workers*each)
	}
	conns, _, _ := ts.stats()
	t.Logf("%d Sends failed, %d connections", nFailed, conns)
	closeSender(t, s)
}

// A Send waits for a free connection within its context.
func TestPoolWaitsForAConnection(t *testing.T) {
	stall := make(chan struct{})
	ts := startServer(t, serverOptions{stall: stall})
	s := newSender(t, ts, func(c *smtpsender.Config) { c.MaxConnections = 1 })
	first := make(chan error)
	go func() { first <- s.Send(context.Background(), message()) }()
	eventually(t, "the first Send holds the connection", func() bool { c, _, _ := ts.stats(); return c == 1 })

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := s.Send(ctx, message())
	var se *smtpsender.Error
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &se) || se.Op != "connect" || !recovery.Retryable(err) {
		t.Fatalf("Send while the only connection is busy = %v, want a connect error wrapping DeadlineExceeded", err)
	}
	close(stall)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	sendN(t, s, 1)
	if conns, _, msgs := ts.stats(); conns != 1 || msgs != 2 {
		t.Fatalf("%d messages over %d connections, want 2 over 1", msgs, conns)
	}
	closeSender(t, s)
}

// Close waits for the Sends in progress, whose connections then say QUIT.
func TestCloseWaitsForSends(t *testing.T) {
	stall := make(chan struct{})
	ts := startServer(t, serverOptions{stall: stall})
	s := newSender(t, ts, nil)
	sent := make(chan error)
	go func() { sent <- s.Send(context.Background(), message()) }()
	eventually(t, "the Send is in progress", func() bool { c, _, _ := ts.stats(); return c == 1 })

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close with a Send stalled = %v, want DeadlineExceeded", err)
	}
	closed := make(chan error)
	go func() { closed <- s.Close(context.Background()) }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned %v with a Send in progress", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(stall)
	if err := <-sent; err != nil {
		t.Fatalf("the Send in progress = %v", err)
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close = %v", err)
	}
	if conns, quits, msgs := ts.stats(); conns != 1 || quits != 1 || msgs != 1 {
		t.Fatalf("%d messages, %d connections, %d QUIT; want 1, 1, 1", msgs, conns, quits)
	}
}

func TestNewPoolLimits(t *testing.T) {
	ok := smtpsender.Config{Host: "smtp.example.com", From: "no-reply@example.com"}
	for _, tc := range []struct {
		mutate func(*smtpsender.Config)
		want   string
	}{
		{func(c *smtpsender.Config) { c.MaxConnections = -1 }, "Config.MaxConnections"},
		{func(c *smtpsender.Config) { c.MaxMessagesPerConnection = -1 }, "Config.MaxMessagesPerConnection"},
		{func(c *smtpsender.Config) { c.IdleTimeout = -time.Second }, "Config.IdleTimeout"},
	} {
		cfg := ok
		tc.mutate(&cfg)
		if _, err := smtpsender.New(cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New = %v, want an error mentioning %q", err, tc.want)
		}
	}
}
