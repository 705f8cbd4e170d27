package smtpsender_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/smtp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mail "github.com/wneessen/go-mail"

	"github.com/recoverykit/recoverykit/delivery/smtpsender"
)

// The benchmarks send to a go-smtp sink on 127.0.0.1 that counts and
// discards. Its work (and its allocations) are in every figure, the floor's
// included, so the figures compare senders, not servers.

var benchWorkers = []int{1, 16}

// BenchmarkSend measures the Sender at 1 and 16 concurrent callers, with
// MaxConnections at the number of workers as the floor has a connection
// per worker; at 16 workers with the default MaxConnections; and, as
// nopipelining, with DisablePipelining (the sink offers PIPELINING, which
// the floor's net/smtp does not use).
func BenchmarkSend(b *testing.B) {
	run := func(b *testing.B, workers, conns int, noPipelining bool) {
		ts := startServer(b, serverOptions{discard: true})
		s := newBenchSender(b, ts, conns, noPipelining)
		m := message()
		runWorkers(b, workers, func(int) func() error {
			return func() error { return s.Send(context.Background(), m) }
		})
		if err := s.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	for _, w := range benchWorkers {
		b.Run("workers="+strconv.Itoa(w), func(b *testing.B) { run(b, w, w, false) })
	}
	b.Run("workers=16,maxconns=default", func(b *testing.B) { run(b, 16, 0, false) })
	for _, w := range benchWorkers {
		b.Run("workers="+strconv.Itoa(w)+",nopipelining", func(b *testing.B) { run(b, w, w, true) })
	}
}

// BenchmarkSendFloor is the floor BenchmarkSend is measured against: the
// same message, rendered once, sent with net/smtp over one persistent
// connection per worker (MAIL, RCPT, DATA; no NOOP, no RSET).
func BenchmarkSendFloor(b *testing.B) {
	raw := renderedMessage(b)
	for _, w := range benchWorkers {
		b.Run("workers="+strconv.Itoa(w), func(b *testing.B) {
			ts := startServer(b, serverOptions{discard: true})
			clients := make([]*smtp.Client, w)
			for i := range clients {
				c, err := smtp.Dial(net.JoinHostPort(ts.host, strconv.Itoa(ts.port)))
				if err != nil {
					b.Fatal(err)
				}
				if err := c.Hello("localhost"); err != nil {
					b.Fatal(err)
				}
				clients[i] = c
			}
			runWorkers(b, w, func(i int) func() error {
				c := clients[i]
				return func() error { return rawSend(c, raw) }
			})
			for _, c := range clients {
				c.Quit()
			}
		})
	}
}

func rawSend(c *smtp.Client, raw []byte) error {
	if err := c.Mail("no-reply@example.com"); err != nil {
		return err
	}
	if err := c.Rcpt("alice@example.com"); err != nil {
		return err
	}
	wc, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := wc.Write(raw); err != nil {
		return err
	}
	return wc.Close()
}

// renderedMessage is message() as go-mail renders it, for the floor.
func renderedMessage(b *testing.B) []byte {
	m := message()
	msg := mail.NewMsg(mail.WithNoDefaultUserAgent())
	if err := msg.FromFormat("Sécurité Compte", "no-reply@example.com"); err != nil {
		b.Fatal(err)
	}
	if err := msg.To(m.To); err != nil {
		b.Fatal(err)
	}
	if err := msg.ReplyTo("support@example.com"); err != nil {
		b.Fatal(err)
	}
	msg.Subject(m.Subject)
	msg.SetDateWithValue(fixedNow)
	msg.SetMessageID()
	msg.SetGenHeader(mail.Header("Auto-Submitted"), "auto-generated")
	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	var buf bytes.Buffer
	if _, err := msg.WriteTo(&buf); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

func newBenchSender(b *testing.B, ts *testServer, conns int, noPipelining bool) *smtpsender.Sender {
	s, err := smtpsender.New(smtpsender.Config{
		Host: ts.host, Port: ts.port, TLS: smtpsender.NoTLS,
		From: "no-reply@example.com", FromName: "Sécurité Compte",
		ReplyTo: "support@example.com", Now: func() time.Time { return fixedNow },
		MaxConnections: conns, DisablePipelining: noPipelining,
	})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// runWorkers runs b.N sends spread over w goroutines, each with its own
// send function, and reports msgs/s.
func runWorkers(b *testing.B, w int, newSend func(worker int) func() error) {
	b.ReportAllocs()
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	sends := make([]func() error, w)
	for i := range sends {
		sends[i] = newSend(i)
	}
	b.ResetTimer()
	for i := range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if err := sends[i](); err != nil {
					failed.CompareAndSwap(nil, fmt.Sprint(err))
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	if f := failed.Load(); f != nil {
		b.Fatal(f)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
