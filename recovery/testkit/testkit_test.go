package testkit_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/recoverykit/recoverykit/recovery/jsonhttp"
	"github.com/recoverykit/recoverykit/recovery/testkit"
)

// A host's handler test, as the package documentation shows it: the kit,
// the host's handlers on its engine, two requests.
func TestHostHandler(t *testing.T) {
	kit := testkit.New(t)
	kit.AddUser("alice@example.com")
	h, err := jsonhttp.New(kit.Engine, jsonhttp.Options{ClientID: testkit.Client, Fields: jsonhttp.Fields{Username: "email"}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /forgot", h.Forgot())
	mux.Handle("POST /reset", h.Reset())
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := http.Post(srv.URL+"/forgot", "application/json", strings.NewReader(`{"email": "alice@example.com"}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("forgot: %v %v", resp, err)
	}
	body := fmt.Sprintf(`{"email": "alice@example.com", "code": %q, "password": "N3w-passw0rd!"}`, kit.Code("alice@example.com"))
	resp, err = http.Post(srv.URL+"/reset", "application/json", strings.NewReader(body))
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("reset: %v %v", resp, err)
	}
	if !kit.PasswordIs("alice@example.com", "N3w-passw0rd!") {
		t.Fatal("the password did not change")
	}
}
