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
	"github.com/recoverykit/recoverykit/store/memstore"
)

// Give the queue to the engine as its Outbox, the real sender (smtpsender,
// webhooksender) as its Sender, and close the engine on shutdown, after the
// HTTP server has stopped: that drains the queue.
func Example() {
	ctx := context.Background()
	users := memstore.NewUserStore()
	users.CreateUser(ctx, recovery.DefaultPoolID, recovery.User{
		Username:   "alice",
		Attributes: map[string]string{"email": "alice@example.com", "email_verified": "true"},
	}, "")
	mail := capturesender.New() // smtpsender.New(...) in production

	queue, err := asyncsender.New(asyncsender.Options{Workers: 4})
	if err != nil {
		log.Fatal(err)
	}
	engine, err := recovery.New(recovery.Config{
		Users: users, Codes: memstore.NewCodeStore(), Sender: mail, Outbox: queue,
		Clients: []recovery.Client{{ID: "web"}},
		Keys:    []recovery.Key{{ID: "k1", Secret: []byte("example-key-32-bytes-long-at-least!")}},
	})
	if err != nil {
		log.Fatal(err)
	}

	engine.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "alice"})

	closeCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := engine.Close(closeCtx); err != nil {
		var dropped *asyncsender.DroppedError
		if errors.As(err, &dropped) {
			log.Printf("%d recovery messages were not delivered", dropped.Dropped)
		}
	}
	st := queue.Stats()
	fmt.Printf("queued %d, delivered %d, failed %d\n", st.Queued, st.Delivered, st.Failed)
	fmt.Println("mail sent:", mail.Len())
	// Output:
	// queued 1, delivered 1, failed 0
	// mail sent: 1
}
