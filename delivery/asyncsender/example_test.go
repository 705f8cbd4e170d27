package asyncsender_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/recoverykit/recoverykit/delivery/asyncsender"
	"github.com/recoverykit/recoverykit/delivery/capturesender"
	"github.com/recoverykit/recoverykit/recovery"
)

// Wrap the real sender (smtpsender, webhooksender) and give the wrapper to
// the engine; close it on shutdown, after the HTTP server has stopped.
func Example() {
	inner := capturesender.New() // smtpsender.New(...) in production
	sender, err := asyncsender.New(inner, asyncsender.Options{
		Workers:  4,
		Observer: recovery.ObserverFunc(func(_ context.Context, e recovery.Event) { fmt.Println("gave up on", e.Sub, e.Err) }),
	})
	if err != nil {
		log.Fatal(err)
	}
	_ = recovery.Config{Sender: sender} // with the stores, clients and keys

	sender.Send(context.Background(), recovery.Message{Medium: recovery.Email, To: "alice@example.com", Sub: "sub-1", Code: "493817", Text: "493817"})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sender.Close(ctx); err != nil {
		var dropped *asyncsender.DroppedError
		if errors.As(err, &dropped) {
			log.Printf("%d recovery messages were not delivered", dropped.Dropped)
		}
	}
	st := sender.Stats()
	fmt.Printf("queued %d, delivered %d, failed %d\n", st.Queued, st.Delivered, st.Failed)
	fmt.Println("inner sender got", inner.Len())
	// Output:
	// queued 1, delivered 1, failed 0
	// inner sender got 1
}
