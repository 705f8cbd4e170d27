// Package writersender is a DEV-ONLY recovery.Sender: it prints every
// message, CONFIRMATION CODE INCLUDED, to an io.Writer, so a `go run` demo
// can show the code on the terminal without a mail server.
//
// ######################################################################
// # DEV ONLY. Never use this package in production: anyone who can read #
// # its output (a terminal, a log file, a log pipeline) can take over   #
// # every account whose recovery message it prints.                     #
// ######################################################################
//
// Tests should use capturesender, which keeps messages in memory instead of
// printing them; production code should use smtpsender or webhooksender.
package writersender

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/recoverykit/recoverykit/recovery"
)

var _ recovery.Sender = (*Sender)(nil)

// Banner opens every message the Sender prints.
const Banner = "#### DEV ONLY: writersender prints recovery codes; never use it in production ####"

// Sender prints messages to a writer. It is safe for concurrent use: each
// message is written whole, in one Write call.
type Sender struct {
	mu sync.Mutex
	w  io.Writer
}

// New returns a Sender that prints to w; nil means os.Stderr.
func New(w io.Writer) *Sender {
	if w == nil {
		w = os.Stderr
	}
	return &Sender{w: w}
}

// Send prints m, code and bodies included, after the Banner.
func (s *Sender) Send(ctx context.Context, m recovery.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintln(&b, Banner)
	fmt.Fprintf(&b, "To:       %s (%s)\n", m.To, m.Medium)
	fmt.Fprintf(&b, "Username: %s\n", m.Username)
	fmt.Fprintf(&b, "Locale:   %s\n", m.Locale)
	if m.Kind == recovery.DeliveryCode {
		fmt.Fprintf(&b, "Code:     %s\n", m.Code)
	} else {
		// A notice has no code: no Code line, which scripts read codes from.
		fmt.Fprintf(&b, "Kind:     %s\n", m.Kind)
	}
	if m.Subject != "" {
		fmt.Fprintf(&b, "Subject:  %s\n", m.Subject)
	}
	if m.Text != "" {
		fmt.Fprintf(&b, "--- text ---\n%s\n", strings.TrimRight(m.Text, "\n"))
	}
	if m.HTML != "" {
		fmt.Fprintf(&b, "--- html ---\n%s\n", strings.TrimRight(m.HTML, "\n"))
	}
	fmt.Fprintln(&b, strings.Repeat("#", len(Banner)))
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := io.WriteString(s.w, b.String()); err != nil {
		return fmt.Errorf("writersender: writing the message: %w", err)
	}
	return nil
}
