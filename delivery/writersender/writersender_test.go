package writersender_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/recoverykit/recoverykit/delivery/writersender"
	"github.com/recoverykit/recoverykit/recovery"
)

func TestSendPrintsBannerAndCode(t *testing.T) {
	var buf bytes.Buffer
	s := writersender.New(&buf)
	err := s.Send(context.Background(), recovery.Message{
		Medium: recovery.Email, To: "alice@example.com", Username: "alice", Locale: "en",
		Code: "493817", Subject: "Your code", Text: "Your code is 493817\n", HTML: "<p>493817</p>",
	})
	if err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{writersender.Banner, "DEV ONLY", "Code:     493817", "Your code is 493817", "<p>493817</p>", "alice@example.com"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestSendNotice: the password-changed notice names its kind and has no
// Code line, from which scripts read codes.
func TestSendNotice(t *testing.T) {
	var buf bytes.Buffer
	s := writersender.New(&buf)
	err := s.Send(context.Background(), recovery.Message{
		Kind: recovery.DeliveryPasswordChanged, Medium: recovery.Email, To: "alice@example.com", Username: "alice",
		Subject: "Your password was changed", Text: "Your password was changed.\n",
	})
	if err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); strings.Contains(out, "Code:") || !strings.Contains(out, "Kind:     password_changed") {
		t.Errorf("notice printed as:\n%s", out)
	}
}

func TestSendWritesWholeMessages(t *testing.T) {
	var buf bytes.Buffer
	s := writersender.New(&buf)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Send(context.Background(), recovery.Message{Medium: recovery.SMS, To: "+15550100", Code: fmt.Sprint(100000 + i), Text: "x"})
		}()
	}
	wg.Wait()
	if n := strings.Count(buf.String(), writersender.Banner); n != 20 {
		t.Fatalf("%d banners, want 20", n)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestSendErrors(t *testing.T) {
	err := writersender.New(failingWriter{}).Send(context.Background(), recovery.Message{Code: "493817"})
	if err == nil || strings.Contains(err.Error(), "493817") {
		t.Fatalf("Send = %v, want an error without the code", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var buf bytes.Buffer
	if err := writersender.New(&buf).Send(ctx, recovery.Message{}); !errors.Is(err, context.Canceled) || buf.Len() != 0 {
		t.Fatalf("Send with a cancelled context = %v and wrote %d bytes", err, buf.Len())
	}
}
