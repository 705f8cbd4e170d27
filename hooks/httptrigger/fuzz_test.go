package httptrigger_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/recoverykit/recoverykit/hooks/httptrigger"
	"github.com/recoverykit/recoverykit/recovery"
)

// fixedAnswer is a RoundTripper that answers every request with one status
// and body, without a network.
type fixedAnswer struct {
	status int
	body   string
}

func (f fixedAnswer) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: f.status, Status: http.StatusText(f.status), Body: io.NopCloser(strings.NewReader(f.body)), Header: http.Header{}}, nil
}

// FuzzTriggerResponse parses arbitrary answers through every trigger and the
// engine's mapping: no panic, and through the engine every failure is one of
// the hook error names (or Forbidden, from a risk check that blocks), never
// anything else, and a success has delivered a message.
func FuzzTriggerResponse(f *testing.F) {
	for _, s := range []struct {
		status int
		body   string
	}{
		{200, `{"response":{"emailMessage":"code {####}","emailSubject":"s"}}`},
		{200, `{"response":{"userAttributes":{"email":"a@b.c","email_verified":"true"},"finalUserStatus":"CONFIRMED"}}`},
		{200, `{"response":{"block":true}}`},
		{200, `{"errorMessage":"no","errorType":"Error"}`},
		{400, `{"message":"bad"}`},
		{500, `oops`},
		{200, `{"response":[]}`},
		{200, `{"response":{"emailMessage":7}}`},
		{200, ``},
	} {
		f.Add(s.status, s.body)
	}
	hookNames := map[recovery.ErrorCode]bool{recovery.UserLambdaValidationException: true, recovery.UnexpectedLambdaException: true, recovery.InvalidLambdaResponseException: true}
	f.Fuzz(func(t *testing.T, status int, body string) {
		if status < 100 || status > 599 {
			return
		}
		tr, err := httptrigger.New(httptrigger.Config{URL: "http://hook.invalid/", Secret: secret, Client: &http.Client{Transport: fixedAnswer{status, body}}})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		// Each trigger parses the answer without panicking.
		tr.CustomMessage(ctx, recovery.CustomMessageEvent{HookContext: recovery.HookContext{TriggerSource: recovery.TriggerCustomMessage}})
		tr.MigrateUser(ctx, recovery.UserMigrationEvent{HookContext: recovery.HookContext{TriggerSource: recovery.TriggerUserMigration}})
		tr.CheckRisk(ctx, recovery.RiskEvent{HookContext: recovery.HookContext{TriggerSource: recovery.TriggerRiskCheck}})
		tr.PostConfirm(ctx, recovery.PostConfirmEvent{HookContext: recovery.HookContext{TriggerSource: recovery.TriggerPostConfirm}})

		// Through the engine, the answer is a delivered code or one of the
		// hook error names.
		e := newEngine(t, recovery.Hooks{CustomMessage: tr, RiskCheck: tr})
		_, err = e.engine.Recover(ctx, recovery.RecoverRequest{ClientID: "web", Username: "alice"})
		var re *recovery.Error
		if err != nil && (!errors.As(err, &re) || !(hookNames[re.Name] || re.Name == recovery.ForbiddenException)) {
			t.Fatalf("Recover: %v", err)
		}
		if err == nil && e.sender.Len() != 1 {
			t.Fatal("success without a message")
		}
	})
}
