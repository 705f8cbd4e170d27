package main_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/recoverykit/recoverykit/delivery/writersender"
	"github.com/recoverykit/recoverykit/examples/smtpsink"
	"github.com/recoverykit/recoverykit/recovery/standardwebhooks"
)

// forgot asks for a code and returns the error.
func forgot(s *server, client, username string) error {
	_, err := s.sdk.ForgotPassword(context.Background(), &cip.ForgotPasswordInput{ClientId: aws.String(client), Username: aws.String(username)})
	return err
}

// TestSMTPWithoutSMSNeverPrintsCodes: with -smtp and no SMS channel the
// server is out of development mode: email goes to the SMTP server, a
// user with only a phone number cannot get a code (the engine's answer for
// a user without a usable channel), and no code is ever printed.
func TestSMTPWithoutSMSNeverPrintsCodes(t *testing.T) {
	sink, err := smtpsink.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	seed, _ := writeSeed(t) // accountRecovery: verified_email, verified_phone_number
	s := start(t, nil, "-seed", seed, "-smtp", sink.Addr())
	if err := forgot(s, "web", "alice"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code, err := sink.Take(ctx, "alice@example.com")
	if err != nil {
		t.Fatalf("alice's email: %v", err)
	}
	var ip *types.InvalidParameterException
	if err := forgot(s, "web", "bob"); !errors.As(err, &ip) {
		t.Errorf("bob, who has only a phone, on a client that reveals existence: %v, want InvalidParameterException", err)
	}
	for _, id := range []string{"bob", "+15555550100", "nobody"} {
		if err := forgot(s, "quiet", id); err != nil {
			t.Errorf("%s on a client that hides existence: %v, want a simulated answer", id, err)
		}
	}
	stop(t, s) // drains the outbox
	log := s.log()
	for _, leak := range []string{"Code:", writersender.Banner, code, "DEVELOPMENT MODE"} {
		if strings.Contains(log, leak) {
			t.Errorf("stderr holds %q:\n%s", leak, log)
		}
	}
	if !strings.Contains(log, "account recovery through verified_phone_number is off") {
		t.Errorf("no warning that SMS recovery is off:\n%s", log)
	}
}

// hook is an SMS webhook for tests: it counts calls and answers with
// status, or, when status is 0, hangs until the call is abandoned.
func hook(t *testing.T, status int) (url string, calls *atomic.Int32) {
	calls = new(atomic.Int32)
	h := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // then a client that goes away ends r.Context()
		calls.Add(1)
		if status == 0 {
			<-r.Context().Done()
			return
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(h.Close)
	return h.URL + "/sms", calls
}

var smsSecretEnv = "SMS_WEBHOOK_SECRET=" + standardwebhooks.FormatSecret([]byte(strings.Repeat("s", 32)))

// waitFor polls cond for at most limit.
func waitFor(limit time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// TestAsyncWebhookRetriesOnce: behind -async the webhook sender makes one
// attempt per delivery, so a failing webhook gets asyncsender's 3
// attempts, not 3 × 3.
func TestAsyncWebhookRetriesOnce(t *testing.T) {
	url, calls := hook(t, http.StatusServiceUnavailable)
	seed, _ := writeSeed(t)
	s := start(t, []string{smsSecretEnv}, "-seed", seed, "-sms-webhook", url, "-async")
	if err := forgot(s, "quiet", "bob"); err != nil {
		t.Fatal(err)
	}
	if !waitFor(10*time.Second, func() bool { return calls.Load() >= 3 }) {
		t.Fatalf("%d webhook calls after 10s, want 3", calls.Load())
	}
	time.Sleep(time.Second)
	if n := calls.Load(); n != 3 {
		t.Errorf("%d webhook calls for one delivery, want 3 (asyncsender's attempts alone)", n)
	}
}

// TestSIGTERMWithHungWebhook: SIGTERM while the SMS webhook hangs, both
// during a request (a client that reveals existence delivers during it)
// and in the outbox (one that hides it): the in-flight request is ended at
// -shutdown-grace and answers, the queued message is dropped after
// another grace period, and the server exits 0.
func TestSIGTERMWithHungWebhook(t *testing.T) {
	url, calls := hook(t, 0)
	seed, _ := writeSeed(t)
	s := start(t, []string{smsSecretEnv}, "-seed", seed, "-sms-webhook", url, "-shutdown-grace", "1s")
	if err := forgot(s, "quiet", "bob"); err != nil {
		t.Fatal(err)
	}
	inFlight := make(chan error, 1)
	go func() { inFlight <- forgot(s, "web", "bob") }()
	if !waitFor(10*time.Second, func() bool { return calls.Load() >= 2 }) {
		t.Fatalf("%d webhook calls, want 2", calls.Load())
	}
	begin := time.Now()
	stop(t, s)
	took := time.Since(begin)
	t.Logf("exit 0 %s after SIGTERM (-shutdown-grace 1s)", took.Round(time.Millisecond))
	select {
	case err := <-inFlight:
		var de *types.CodeDeliveryFailureException
		if !errors.As(err, &de) {
			t.Errorf("the in-flight request: %v, want the answer CodeDeliveryFailureException", err)
		}
		t.Logf("the in-flight request: %v", err)
	case <-time.After(5 * time.Second):
		t.Error("the in-flight request neither answered nor was cut")
	}
	if took < time.Second || took > 5*time.Second {
		t.Errorf("stopped %s after SIGTERM, want between 1s and 2s (+ margin)", took)
	}
	for _, want := range []string{"requests still in flight after the grace period", "messages still queued after the grace period were dropped"} {
		if !strings.Contains(s.log(), want) {
			t.Errorf("no %q in the log:\n%s", want, s.log())
		}
	}
}
