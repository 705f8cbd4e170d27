package standardwebhooks_test

import (
	"fmt"
	"net/http"
	"time"

	"github.com/recoverykit/recoverykit/recovery/standardwebhooks"
)

// A sender signs each attempt; the receiver checks the signature and the
// timestamp before it trusts the body.
func Example() {
	secret, err := standardwebhooks.ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		panic(err)
	}
	body := []byte(`{"test": 2432232314}`)
	sent := time.Unix(1614265330, 0)

	// Sender.
	req, _ := http.NewRequest(http.MethodPost, "https://gateway.example/hook", nil)
	standardwebhooks.SetHeaders(req.Header, secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", sent, body)
	fmt.Println(req.Header.Get("webhook-signature"))

	// Receiver, 30 seconds later.
	err = standardwebhooks.Verify(secret, req.Header, body, sent.Add(30*time.Second), 0)
	fmt.Println("verified:", err == nil)

	// A replay an hour later is refused.
	err = standardwebhooks.Verify(secret, req.Header, body, sent.Add(time.Hour), 0)
	fmt.Println(err)
	// Output:
	// v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=
	// verified: true
	// standardwebhooks: message timestamp too old
}

// Secrets travel as "whsec_" and base64.
func ExampleFormatSecret() {
	fmt.Println(standardwebhooks.FormatSecret([]byte("0123456789abcdef01234567")))
	// Output:
	// whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3
}
