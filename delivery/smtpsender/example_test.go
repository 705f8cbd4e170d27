package smtpsender_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/recoverykit/recoverykit/delivery/smtpsender"
	"github.com/recoverykit/recoverykit/recovery"
)

// A sender for a mail provider's submission port: STARTTLS is required (the
// zero TLSMode), PLAIN auth is used because a Username is set, and up to
// DefaultMaxConnections connections are kept open and reused.
func Example() {
	sender, err := smtpsender.New(smtpsender.Config{
		Host:     "smtp.example.com",
		Port:     587,
		Username: "apikey",
		Password: os.Getenv("SMTP_PASSWORD"),
		From:     "no-reply@example.com",
		FromName: "Example Accounts",
		ReplyTo:  "support@example.com",
	})
	if err != nil {
		log.Fatal(err)
	}
	// At shutdown, after the engine's Close: QUIT on the pooled connections.
	defer sender.Close(context.Background())
	_ = recovery.Config{Sender: sender} // with the stores, clients and keys
	fmt.Println("ready")
	// Output:
	// ready
}

// New reports every problem of a Config at once, each saying what to change.
func ExampleNew() {
	_, err := smtpsender.New(smtpsender.Config{
		Host: "smtp.example.com",
		TLS:  smtpsender.NoTLS,
		From: "Example <no-reply@example.com>",
	})
	fmt.Println(err)
	// Output:
	// smtpsender: Config.TLS is NoTLS but Host "smtp.example.com" is not a loopback address: use StartTLS or ImplicitTLS, or NoTLS only for localhost
	// smtpsender: Config.From "Example <no-reply@example.com>": a display name is not allowed here: give the address alone and the name in FromName
}

// Implicit TLS ("SMTPS") on port 465, trusting a private CA, with short
// timeouts for a relay on the same network.
func ExampleConfig_implicitTLS() {
	_, err := smtpsender.New(smtpsender.Config{
		Host:           "relay.internal.example",
		TLS:            smtpsender.ImplicitTLS, // port 465 by default
		TLSConfig:      &tls.Config{RootCAs: nil /* your CA pool */},
		Auth:           smtpsender.AuthCRAMMD5,
		Username:       "recovery",
		Password:       "from-your-secret-store",
		From:           "no-reply@example.com",
		ConnectTimeout: 3 * time.Second,
		SendTimeout:    10 * time.Second,
	})
	fmt.Println(err)
	// Output:
	// <nil>
}
