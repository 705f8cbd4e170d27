package outboxtest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/delivery/smtpsender"
	"github.com/recoverykit/recoverykit/examples/smtpsink"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/memstore"
)

// MailOutage checks that an outbox with its default retries rides out a
// mail server that is down: codes are requested while the SMTP server is
// down for outage (30 s with RECOVERY_TEST_FAULTS=1, else short), the
// server comes back on the same address, and every message arrives, once,
// before its code expires. outbox returns an outbox with default retry
// options and keys over fresh storage; the engine closes it.
func MailOutage(t *testing.T, outbox func(t *testing.T, keys []recovery.Key) recovery.Outbox) {
	outage := 3 * time.Second
	if os.Getenv("RECOVERY_TEST_FAULTS") == "1" {
		outage = 30 * time.Second
	}
	sink, err := smtpsink.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	// The sender talks to a switch in front of the sink: while it is down,
	// every connection is closed before the greeting, as a server that is
	// restarting does; then it forwards to the sink.
	sw, err := newMailSwitch(sink.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer sw.close()
	sw.setUp(false)
	sender, err := smtpsender.NewFromURL("smtp://" + sw.addr() + "?tls=none&from=no-reply@example.com")
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close(context.Background())
	users := memstore.NewUserStore()
	keys := []recovery.Key{{ID: "k1", Secret: []byte("0123456789abcdef0123456789abcdef")}}
	e, err := recovery.New(recovery.Config{
		Users: users, Codes: memstore.NewCodeStore(), Sender: sender, Outbox: outbox(t, keys),
		Clients: []recovery.Client{{ID: "web"}}, Keys: keys,
		Hasher: recoverytest.InsecureHasher{}, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(context.Background())
	const n = 20
	start := time.Now()
	for i := range n {
		name := fmt.Sprintf("outage%02d", i)
		if _, err := users.CreateUser(t.Context(), recovery.DefaultPoolID, recovery.User{Username: name,
			Attributes: map[string]string{"email": name + "@example.com", "email_verified": "true"}}, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Recover(t.Context(), recovery.RecoverRequest{ClientID: "web", Username: name}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(outage - time.Since(start))
	sw.setUp(true)
	back := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	for i := range n {
		to := fmt.Sprintf("outage%02d@example.com", i)
		if _, err := sink.Take(ctx, to); err != nil {
			t.Fatalf("after a %s outage, %s never got its code (%d of %d messages arrived): %v", outage, to, sink.Count(), n, err)
		}
	}
	t.Logf("a %s mail outage: all %d messages arrived, the last %s after the server came back", outage, n, time.Since(back).Round(time.Millisecond))
	time.Sleep(time.Second) // a duplicate would arrive by now
	if sink.Count() != n {
		t.Fatalf("%d messages arrived for %d codes", sink.Count(), n)
	}
}

// mailSwitch is a TCP relay to a mail server that can be switched off.
type mailSwitch struct {
	ln     net.Listener
	target string
	up     atomic.Bool
}

func newMailSwitch(target string) (*mailSwitch, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &mailSwitch{ln: ln, target: target}
	go s.serve()
	return s, nil
}

func (s *mailSwitch) addr() string  { return s.ln.Addr().String() }
func (s *mailSwitch) setUp(up bool) { s.up.Store(up) }
func (s *mailSwitch) close()        { s.ln.Close() }

func (s *mailSwitch) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		if !s.up.Load() {
			c.Close()
			continue
		}
		go func() {
			defer c.Close()
			up, err := net.Dial("tcp", s.target)
			if err != nil {
				return
			}
			defer up.Close()
			go io.Copy(up, c)
			io.Copy(c, up)
		}()
	}
}
