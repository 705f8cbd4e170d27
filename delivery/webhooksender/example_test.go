package webhooksender_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/recoverykit/recoverykit/delivery/webhooksender"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/standardwebhooks"
)

// The sender posts a signed JSON payload; the receiver, here an SMS gateway
// adapter, verifies the signature before it sends anything.
func Example() {
	secret, _ := standardwebhooks.ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")

	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := standardwebhooks.Verify(secret, r.Header, body, time.Now(), 0); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var p webhooksender.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			http.Error(w, "bad payload", http.StatusBadRequest)
			return
		}
		fmt.Println("gateway:", p) // Payload prints without the code
		fmt.Println("text has the code:", p.Text == "Your password reset code is "+p.Code)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer gateway.Close()

	sender, err := webhooksender.New(webhooksender.Config{
		URL:    gateway.URL + "/sms", // https in production
		Secret: secret,
	})
	if err != nil {
		log.Fatal(err)
	}
	err = sender.Send(context.Background(), recovery.Message{
		Medium: recovery.SMS, To: "+15550100", Username: "alice", Locale: "en",
		Code: "493817", Text: "Your password reset code is 493817",
	})
	fmt.Println("sent:", err == nil)
	// Output:
	// gateway: Payload{Type:"recovery.code" Medium:SMS To:"+15550100" Username:"alice" Locale:"en" Code:[redacted]}
	// text has the code: true
	// sent: true
}
