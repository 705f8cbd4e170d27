package pgxstore_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
)

// discardSender drops messages: the benchmarks measure the engine and the
// stores, not a growing slice of captured messages.
var discardSender = recovery.SenderFunc(func(context.Context, recovery.Message) error { return nil })

var (
	insecureHasher = recoverytest.InsecureHasher{}
	discardLogger  = slog.New(slog.NewTextHandler(io.Discard, nil))
)

// newCaptureEngine is an engine on db's stores that keeps the codes it
// sends, for a benchmark to confirm them with another engine.
func newCaptureEngine(b *testing.B, db benchDB, now func() time.Time, policy recovery.Policy) *instance {
	in := newInstance(b, db.pool, db.opts, policy)
	e, err := recovery.New(recovery.Config{
		Users: in.users, Codes: in.codes, Sender: in.sender, Outbox: recovery.NewInlineOutbox(),
		Clients: []recovery.Client{{ID: "web"}}, Keys: []recovery.Key{testKey},
		Hasher: insecureHasher, Logger: discardLogger, Now: now, Policy: policy,
	})
	if err != nil {
		b.Fatal(err)
	}
	in.engine = e
	return in
}
