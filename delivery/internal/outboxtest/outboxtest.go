// Package outboxtest is the behaviour suite of the durable outboxes
// (delivery/riveroutbox, delivery/asynqoutbox), in the spirit of
// testing/fstest: each runs it from its test file with a factory of fresh,
// isolated storage, and it runs one subtest per rule with fake Deliverers.
//
//	func TestSuite(t *testing.T) {
//		outboxtest.Run(t, func(t *testing.T) outboxtest.Storage {
//			schema := freshSchema(t) // dropped by t.Cleanup
//			return outboxtest.Storage{
//				Open: func(t *testing.T, cfg outboxtest.Config) outboxtest.Outbox {
//					o, err := riveroutbox.New(pool, riveroutbox.Options{Keys: keys, Schema: schema, MaxAttempts: cfg.MaxAttempts, ...})
//					if err != nil {
//						t.Fatal(err)
//					}
//					t.Cleanup(func() { o.Close(context.Background()) })
//					return o
//				},
//				Raw: func(t *testing.T) [][]byte { return everyJobsBytes(t, schema) },
//			}
//		})
//	}
//
// The contract the suite holds an outbox to, beyond recovery.Outbox:
//
//   - Open may be called more than once per Storage: each call is a new
//     instance (a process restart) over the same stored jobs, and
//     instances must not share anything else. An instance's workers run
//     from Bind on; an instance never bound only inserts (Put works
//     before Bind), so that jobs put there wait for another instance.
//   - Each accepted delivery, decoys included, reaches Deliver once when
//     it succeeds, whole (code, attributes and times intact).
//   - A failed attempt is retried while recovery.Retryable says so, up to
//     Config.MaxAttempts attempts in all; then, or at once for an error
//     that is not retryable, Abandon is called exactly once with the last
//     error. Retry waits must be short under the factory's settings (a
//     second at most), as the suite waits ten seconds for retries.
//   - A delivery whose ExpiresAt has passed when a worker picks it up is
//     still handed to Deliver, once (the engine drops it there, with its
//     log line and EventDeliveryExpired); if that attempt fails, it is not
//     retried but abandoned.
//   - Put of a Delivery.ID already accepted is accepted without a second
//     delivery.
//   - Close(ctx) stops accepting deliveries (Put then returns an error
//     wrapping recovery.ErrOutboxClosed) and returns once the deliveries
//     accepted so far are made, or when ctx ends; what it leaves stays
//     stored for the next instance and is not abandoned. Close may be
//     called again.
//   - Raw returns the stored bytes of every job in the storage whatever
//     its state (waiting, retrying, done), and none of them may contain a
//     code, an address, a username or an attribute value.
package outboxtest

import (
	"context"
	"testing"

	"github.com/recoverykit/recoverykit/recovery"
)

// Outbox is a durable outbox under test.
type Outbox interface {
	recovery.Outbox
	// Close stops the instance, as Engine.Close does.
	Close(ctx context.Context) error
}

// Config is what a subtest asks of an instance.
type Config struct {
	// MaxAttempts bounds the attempts per delivery, the first included.
	MaxAttempts int
}

// Storage is one fresh, isolated store of jobs, which the factory cleans
// up at the end of the subtest.
type Storage struct {
	// Open returns a new outbox instance over the storage.
	Open func(t *testing.T, cfg Config) Outbox
	// Raw returns the stored bytes of every job, whatever its state.
	Raw func(t *testing.T) [][]byte
}

// Factory makes the Storage of one subtest.
type Factory func(t *testing.T) Storage

// Run runs the suite; each subtest calls newStorage once.
func Run(t *testing.T, newStorage Factory) {
	for _, c := range []struct {
		name string
		f    func(*testing.T, Storage)
	}{
		{"DeliversEachOnce", testDeliversEachOnce},
		{"DecoysLikeDeliveries", testDecoys},
		{"BindOnce", testBindOnce},
		{"RetriesRetryable", testRetriesRetryable},
		{"AbandonsNonRetryable", testAbandonsNonRetryable},
		{"AbandonsAfterMaxAttempts", testMaxAttempts},
		{"UniqueByID", testUnique},
		{"ExpiredNotRetried", testExpired},
		{"CloseDrains", testCloseDrains},
		{"CloseInterrupted", testCloseInterrupted},
		{"SurvivesRestart", testRestart},
		{"StoresNoSecrets", testRaw},
	} {
		t.Run(c.name, func(t *testing.T) { c.f(t, newStorage(t)) })
	}
}
