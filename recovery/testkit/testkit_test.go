package testkit_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/jsonhttp"
	"github.com/recoverykit/recoverykit/recovery/testkit"
)

// hostRoutes stands for a host's code: its handlers on an engine.
func hostRoutes(t *testing.T, e *recovery.Engine) http.Handler {
	h, err := jsonhttp.New(e, jsonhttp.Options{ClientID: testkit.Client, Fields: jsonhttp.Fields{Username: "email"}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /forgot", h.Forgot())
	mux.Handle("POST /reset", h.Reset())
	return mux
}

// A host's handler test, as the package documentation shows it: the kit,
// the host's handlers on its engine, two requests.
func TestHostHandler(t *testing.T) {
	kit := testkit.New(t)
	kit.AddUser("alice@example.com")
	mux := hostRoutes(t, kit.Engine)
	answer := kit.Post(mux, "/forgot", `{"email": "alice@example.com"}`, http.StatusOK)
	if answer["medium"] != "EMAIL" || !strings.HasPrefix(answer["destination"].(string), "a***@") {
		t.Fatalf("forgot answered %v", answer)
	}
	body := fmt.Sprintf(`{"email": "alice@example.com", "code": %q, "password": "N3w-passw0rd!"}`, kit.Code("alice@example.com"))
	if answer := kit.Post(mux, "/reset", body, http.StatusNoContent); answer != nil {
		t.Fatalf("reset answered %v", answer)
	}
	if !kit.PasswordIs("alice@example.com", "N3w-passw0rd!") || kit.PasswordIs("alice@example.com", "Old-passw0rd!") {
		t.Fatal("the password did not change")
	}
}

// A kit configured for another pool adds and reads its users in that pool.
func TestKitFollowsConfiguredPool(t *testing.T) {
	kit := testkit.New(t, func(c *recovery.Config) { c.PoolID = "eu-west-1_abc" })
	kit.AddUser("bob@example.com")
	kit.Post(hostRoutes(t, kit.Engine), "/forgot", `{"email": "bob@example.com"}`, http.StatusOK)
	if kit.Code("bob@example.com") == "" || !kit.PasswordIs("bob@example.com", "Old-passw0rd!") {
		t.Fatal("the user was not found in the configured pool")
	}
}
