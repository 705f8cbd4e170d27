package pages_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/recoverykit/recoverykit/delivery/capturesender"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/pages"
	"github.com/recoverykit/recoverykit/store/memstore"
)

// Example mounts the pages on a host's mux and walks them as a browser
// would, in German. This is the README's example.
func Example() {
	ctx := context.Background()
	users := memstore.NewUserStore()
	users.CreateUser(ctx, "default", recovery.User{
		Username:   "alice",
		Attributes: map[string]string{"email": "alice@example.com", "email_verified": "true"},
	}, "")
	sender := capturesender.New()
	engine, err := recovery.New(recovery.Config{
		Users: users, Codes: memstore.NewCodeStore(), Sender: sender,
		Clients: []recovery.Client{{ID: "web"}},
		Keys:    []recovery.Key{{ID: "2026-01", Secret: []byte("example-key-32-bytes-long-at-least!")}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer engine.Close(ctx)

	h, err := pages.New(engine, pages.Options{ClientID: "web", SignInURL: "/login"})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/recover/", h) // GET/POST /recover/, /recover/reset, /recover/done

	post := func(path string, form url.Values) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		return w
	}
	w := post("/recover/?lang=de", url.Values{"username": {"alice"}})
	fmt.Println(w.Code, strings.Contains(w.Body.String(), "per E-Mail an a***@e*** gesendet"))

	code, _ := sender.AwaitCode(ctx, "alice")
	w = post("/recover/reset", url.Values{"lang": {"de"}, "username": {"alice"}, "code": {code}, "password": {"N3w-passw0rd!"}})
	fmt.Println(w.Code, w.Header().Get("Location"))
	// Output:
	// 200 true
	// 303 done?lang=de
}
