package testkit

import (
	"fmt"
	"net/http"
	"runtime"
	"testing"
)

// fatalRecorder records a Fatalf instead of failing the test, so that the
// kit's own failures can be checked.
type fatalRecorder struct {
	testing.TB
	failure string
}

func (r *fatalRecorder) Helper() {}
func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.failure = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// Post fails the test, quoting the answer, when the status is not the one
// wanted; Code fails it when nothing was sent.
func TestKitFailsLoudly(t *testing.T) {
	kit := New(t)
	notFound := http.NotFoundHandler()
	for name, step := range map[string]func(*Kit){
		"status":  func(k *Kit) { k.Post(notFound, "/reset", `{}`, http.StatusNoContent) },
		"no code": func(k *Kit) { k.Code("nobody@example.com") },
	} {
		rec := &fatalRecorder{TB: t}
		k := *kit
		k.t = rec
		done := make(chan struct{})
		go func() {
			defer close(done)
			step(&k)
		}()
		<-done
		if rec.failure == "" {
			t.Fatalf("%s: the kit did not fail the test", name)
		}
		t.Logf("%s: %s", name, rec.failure)
	}
}
