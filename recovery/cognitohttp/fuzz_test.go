package cognitohttp_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/recoverykit/recoverykit/recovery/cognitohttp"
)

// FuzzHandler feeds arbitrary targets and bodies to the handler: it never
// panics, always answers JSON with a request id, a client error is 4xx with
// __type and x-amzn-ErrorType agreeing, a server error is only
// InternalErrorException, and no error message echoes the request's password
// or code.
func FuzzHandler(f *testing.F) {
	for _, seed := range []struct{ target, body string }{
		{"ForgotPassword", `{"ClientId":"web","Username":"alice"}`},
		{"ConfirmForgotPassword", `{"ClientId":"web","Username":"alice","ConfirmationCode":"123456","Password":"N3w-password!"}`},
		{"ConfirmForgotPassword", `{"ClientId":"web","Username":"alice","ConfirmationCode":"12 34","Password":"p w"}`},
		{"ForgotPassword", `{"ClientId":5}`},
		{"ForgotPassword", `{"ClientId":"quiet","Username":"x","UserContextData":{"IpAddress":"1.2.3.4","EncodedData":"x"},"ClientMetadata":{"a":"b"}}`},
		{"ForgotPassword", `[`},
		{"DeleteUser", `{}`},
		{"", ``},
	} {
		f.Add(seed.target, seed.body)
	}
	h := newFixture(f).srv.Config.Handler
	f.Fuzz(func(t *testing.T, target, body string) {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.Header.Set("X-Amz-Target", cognitohttp.TargetPrefix+target)
		req.Header.Set("Content-Type", cognitohttp.ContentType)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Header().Get("x-amzn-RequestId") == "" {
			t.Fatal("no request id")
		}
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("status %d, body not JSON: %q", rec.Code, rec.Body.String())
		}
		errType := rec.Header().Get("x-amzn-ErrorType")
		switch {
		case rec.Code == 200:
			if errType != "" {
				t.Fatalf("200 with error type %s", errType)
			}
		case rec.Code >= 400 && rec.Code < 500:
			if errType == "" || out["__type"] != errType {
				t.Fatalf("status %d: header %q body %v", rec.Code, errType, out)
			}
		case rec.Code == 500:
			if errType != "InternalErrorException" {
				t.Fatalf("500 with %s", errType)
			}
		default:
			t.Fatalf("status %d", rec.Code)
		}
		var in struct{ Password, ConfirmationCode string }
		json.Unmarshal([]byte(body), &in)
		msg, _ := out["message"].(string)
		for _, secret := range []string{in.Password, in.ConfirmationCode} {
			if len(secret) >= 6 && strings.Contains(msg, secret) {
				t.Fatalf("message %q echoes a secret", msg)
			}
		}
	})
}
