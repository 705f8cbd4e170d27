package main

import (
	"net/http"
	"testing"

	"github.com/recoverykit/recoverykit/recovery/testkit"
)

// The service's forgot and reset endpoints, on the test kit's engine.
func TestForgotAndReset(t *testing.T) {
	kit := testkit.New(t)
	kit.AddUser("ana@example.com")
	mux := http.NewServeMux()
	if err := routeRecovery(mux, kit.Engine); err != nil {
		t.Fatal(err)
	}
	kit.Post(mux, "/password/forgot", `{"email": "ana@example.com"}`, http.StatusOK)
	code := kit.Code("ana@example.com")
	kit.Post(mux, "/password/reset", `{"email": "ana@example.com", "code": "`+code+`", "password": "N3w-passw0rd!"}`, http.StatusNoContent)
	if !kit.PasswordIs("ana@example.com", "N3w-passw0rd!") {
		t.Fatal("the password was not reset")
	}
}
