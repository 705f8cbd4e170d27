package locales_test

import (
	"context"
	"fmt"
	"log"

	"github.com/recoverykit/recoverykit/delivery/capturesender"
	"github.com/recoverykit/recoverykit/delivery/locales"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/store/memstore"
)

// Configure every locale; a request's ClientMetadata["locale"] picks one.
func Example() {
	ctx := context.Background()
	users := memstore.NewUserStore()
	users.CreateUser(ctx, recovery.DefaultPoolID, recovery.User{
		Username:   "lena",
		Attributes: map[string]string{"phone_number": "+4915550100", "phone_number_verified": "true"},
	}, "")
	sender := capturesender.New()
	engine, err := recovery.New(recovery.Config{
		Users: users, Codes: memstore.NewCodeStore(), Sender: sender,
		Clients:   []recovery.Client{{ID: "web"}},
		Keys:      []recovery.Key{{ID: "k1", Secret: []byte("example-key-32-bytes-long-at-least!")}},
		Templates: locales.All(),
	})
	if err != nil {
		log.Fatal(err)
	}
	engine.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "lena", ClientMetadata: map[string]string{"locale": "de-AT"}})
	m, _ := sender.Await(ctx, "lena") // sent a moment later, off the request path
	fmt.Println(m.Locale, len(m.Code), m.Text == "Ihr Code zum Zurücksetzen des Passworts lautet "+m.Code)
	// Output:
	// de 6 true
}
