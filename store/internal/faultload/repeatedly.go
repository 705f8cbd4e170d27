package faultload

import (
	"sync"
	"time"
)

// Repeatedly returns a Config.Cut and Restore for an outage made of one
// action repeated: cut calls act at once and then every interval, on a
// goroutine of its own, until restore stops it; restore returns once the
// last call of act has ended. It suits faults the client recovers from by
// itself, such as terminating the store's PostgreSQL backends
// (pg_terminate_backend) or killing its Redis connections (CLIENT KILL):
// while the outage lasts, every connection the client opens again is cut
// within interval. act runs on another goroutine than the test's, so it
// reports problems with t.Error, never t.Fatal.
func Repeatedly(interval time.Duration, act func()) (cut, restore func()) {
	var (
		mu   sync.Mutex
		stop chan struct{}
		done chan struct{}
	)
	cut = func() {
		mu.Lock()
		defer mu.Unlock()
		if stop != nil {
			return
		}
		stop, done = make(chan struct{}), make(chan struct{})
		go func(stop, done chan struct{}) {
			defer close(done)
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for {
				act()
				select {
				case <-stop:
					return
				case <-tick.C:
				}
			}
		}(stop, done)
	}
	restore = func() {
		mu.Lock()
		defer mu.Unlock()
		if stop == nil {
			return
		}
		close(stop)
		<-done
		stop, done = nil, nil
	}
	return cut, restore
}
