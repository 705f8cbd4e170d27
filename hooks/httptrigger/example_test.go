package httptrigger_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/recoverykit/recoverykit/delivery/capturesender"
	"github.com/recoverykit/recoverykit/hooks/httptrigger"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/standardwebhooks"
	"github.com/recoverykit/recoverykit/store/memstore"
)

// The custom-message hook, run by another service: the engine POSTs
// Cognito's event, signed, and reads the message back from the event's
// response. Here an httptest server plays that service, as a Lambda
// would answer it.
func Example() {
	secret, err := standardwebhooks.ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		log.Fatal(err)
	}
	service := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := standardwebhooks.Verify(secret, r.Header, body, time.Now(), 0); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var event httptrigger.Event
		var req httptrigger.CustomMessageRequest
		if json.Unmarshal(body, &event) != nil || json.Unmarshal(event.Request, &req) != nil {
			http.Error(w, "not an event", http.StatusBadRequest)
			return
		}
		fmt.Println("service:", event.TriggerSource, "for", event.UserName)
		// The placeholders stand where the engine puts the username and
		// the code: the service never sees the code.
		subject := "Reset your Example password"
		html := "<p>Hello " + req.UsernameParameter + ", your code is <b>" + req.CodeParameter + "</b>.</p>"
		event.Response, _ = json.Marshal(httptrigger.CustomMessageResponse{EmailSubject: &subject, EmailMessage: &html})
		json.NewEncoder(w).Encode(event)
	}))
	defer service.Close()

	trigger, err := httptrigger.New(httptrigger.Config{URL: service.URL + "/custom-message", Secret: secret})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	users := memstore.NewUserStore()
	users.CreateUser(ctx, recovery.DefaultPoolID, recovery.User{
		Username:   "alice",
		Attributes: map[string]string{"email": "alice@example.com", "email_verified": "true"},
	}, "")
	mail := capturesender.New() // smtpsender.New(...) in production
	engine, err := recovery.New(recovery.Config{
		Users: users, Codes: memstore.NewCodeStore(), Sender: mail,
		Clients: []recovery.Client{{ID: "web"}},
		Keys:    []recovery.Key{{ID: "k1", Secret: []byte("example-key-32-bytes-long-at-least!")}},
		Hooks:   recovery.Hooks{CustomMessage: trigger},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer engine.Close(ctx)

	if _, err := engine.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "alice"}); err != nil {
		log.Fatal(err)
	}
	// The hook and the delivery run off the request path: wait for the
	// message.
	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	m, err := mail.Await(waitCtx, "alice")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("subject:", m.Subject)
	fmt.Println("html:", strings.ReplaceAll(m.HTML, m.Code, "######"))
	// Output:
	// service: CustomMessage_ForgotPassword for alice
	// subject: Reset your Example password
	// html: <p>Hello alice, your code is <b>######</b>.</p>
}
