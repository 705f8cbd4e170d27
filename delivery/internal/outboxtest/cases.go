package outboxtest

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
)

// deliveryWait bounds the wait for deliveries without retries; retryWait
// for those that go through retries.
const (
	deliveryWait = 10 * time.Second
	retryWait    = 15 * time.Second
)

// wantEach checks, once the outbox is closed and so idle, that each of ds
// was attempted exactly n times and abandoned `abandoned` times.
func wantEach(t *testing.T, f *deliverer, n, abandoned int, ds ...recovery.Delivery) {
	t.Helper()
	got, gone := f.attempts(), f.abandons()
	for _, d := range ds {
		if got[d.ID] != n {
			t.Errorf("%s: Deliver called %d times, want %d", d.ID, got[d.ID], n)
		}
		if len(gone[d.ID]) != abandoned {
			t.Errorf("%s: Abandon called %d times, want %d", d.ID, len(gone[d.ID]), abandoned)
		}
	}
	if len(got) > len(ds) {
		t.Errorf("Deliver saw %d deliveries, %d were put", len(got), len(ds))
	}
}

func allAttempted(f *deliverer, n int, ds ...recovery.Delivery) func() bool {
	return func() bool {
		got := f.attempts()
		for _, d := range ds {
			if got[d.ID] < n {
				return false
			}
		}
		return true
	}
}

func abandonedOnce(f *deliverer, id string) func() bool {
	return func() bool { return len(f.abandons()[id]) > 0 }
}

func testDeliversEachOnce(t *testing.T, s Storage) {
	o := s.Open(t, Config{MaxAttempts: 3})
	f := newDeliverer()
	bind(t, o, f)
	var ds []recovery.Delivery
	for i := range 40 {
		ds = append(ds, sample(i))
	}
	put(t, o, ds...)
	waitFor(t, deliveryWait, "not every delivery reached Deliver", allAttempted(f, 1, ds...))
	closeOutbox(t, o)
	wantEach(t, f, 1, 0, ds...)
	for _, d := range ds {
		if got, ok := f.last(d.ID); ok && !sameDelivery(got, d) {
			t.Errorf("%s reached Deliver altered: %#v", d.ID, got)
		}
	}
}

func testDecoys(t *testing.T, s Storage) {
	o := s.Open(t, Config{MaxAttempts: 3})
	f := newDeliverer()
	bind(t, o, f)
	var ds []recovery.Delivery
	for i := range 10 {
		ds = append(ds, decoy(i), sample(i))
	}
	put(t, o, ds...)
	waitFor(t, deliveryWait, "not every delivery and decoy reached Deliver", allAttempted(f, 1, ds...))
	closeOutbox(t, o)
	wantEach(t, f, 1, 0, ds...)
	for _, d := range ds {
		if got, ok := f.last(d.ID); ok && !sameDelivery(got, d) {
			t.Errorf("%s (decoy %v) reached Deliver altered: %#v", d.ID, d.Decoy, got)
		}
	}
}

func testBindOnce(t *testing.T, s Storage) {
	o := s.Open(t, Config{MaxAttempts: 1})
	bind(t, o, newDeliverer())
	if err := o.Bind(newDeliverer()); err == nil {
		t.Error("a second Bind succeeded: an outbox serves one engine")
	}
	closeOutbox(t, o)
}

// errTemporary is a retryable failure, as a refused connection is.
var errTemporary = errors.New("outboxtest: connection refused")

func testRetriesRetryable(t *testing.T, s Storage) {
	o := s.Open(t, Config{MaxAttempts: 4})
	f := newDeliverer()
	d := sample(0)
	f.on(d.ID, func(attempt int) error {
		if attempt < 3 {
			return fmt.Errorf("attempt %d: %w", attempt, errTemporary)
		}
		return nil
	})
	bind(t, o, f)
	put(t, o, d)
	waitFor(t, retryWait, "a delivery failing twice with a retryable error was not attempted 3 times", allAttempted(f, 3, d))
	closeOutbox(t, o)
	wantEach(t, f, 3, 0, d)
}

func testAbandonsNonRetryable(t *testing.T, s Storage) {
	o := s.Open(t, Config{MaxAttempts: 5})
	f := newDeliverer()
	d := sample(0)
	f.on(d.ID, func(int) error { return fmt.Errorf("smtp 535: %w", recovery.ErrDeliveryUnauthorized) })
	bind(t, o, f)
	put(t, o, d)
	waitFor(t, deliveryWait, "a delivery failing with ErrDeliveryUnauthorized was not abandoned", abandonedOnce(f, d.ID))
	time.Sleep(time.Second) // room for a wrong retry to show
	closeOutbox(t, o)
	wantEach(t, f, 1, 1, d)
	if errs := f.abandons()[d.ID]; len(errs) > 0 && !errors.Is(errs[0], recovery.ErrDeliveryUnauthorized) {
		t.Errorf("Abandon's error %v does not wrap the attempt's ErrDeliveryUnauthorized", errs[0])
	}
}

func testMaxAttempts(t *testing.T, s Storage) {
	o := s.Open(t, Config{MaxAttempts: 3})
	f := newDeliverer()
	d := sample(0)
	f.on(d.ID, func(int) error { return errTemporary })
	bind(t, o, f)
	put(t, o, d)
	waitFor(t, retryWait, "a delivery that always fails was not abandoned", abandonedOnce(f, d.ID))
	time.Sleep(time.Second) // room for a wrong fourth attempt to show
	closeOutbox(t, o)
	wantEach(t, f, 3, 1, d)
	if errs := f.abandons()[d.ID]; len(errs) > 0 && !errors.Is(errs[0], errTemporary) {
		t.Errorf("Abandon's error %v is not the last attempt's", errs[0])
	}
}

func testUnique(t *testing.T, s Storage) {
	o := s.Open(t, Config{MaxAttempts: 3})
	f := newDeliverer()
	bind(t, o, f)
	d, other := sample(0), sample(1)
	put(t, o, d, d, other)
	waitFor(t, deliveryWait, "the deliveries did not reach Deliver", allAttempted(f, 1, d, other))
	put(t, o, d) // after it was made, too
	time.Sleep(time.Second)
	closeOutbox(t, o)
	wantEach(t, f, 1, 0, d, other)
}

func testExpired(t *testing.T, s Storage) {
	o := s.Open(t, Config{MaxAttempts: 5})
	f := newDeliverer()
	d := sample(0)
	d.IssuedAt = time.Now().Add(-2 * time.Hour).UTC().Truncate(time.Millisecond)
	d.ExpiresAt = d.IssuedAt.Add(time.Hour)
	f.on(d.ID, func(int) error { return errTemporary })
	bind(t, o, f)
	put(t, o, d)
	waitFor(t, deliveryWait, "an expired delivery whose attempt failed was not abandoned", abandonedOnce(f, d.ID))
	time.Sleep(time.Second) // room for a wrong retry to show
	closeOutbox(t, o)
	wantEach(t, f, 1, 1, d)
}

func testCloseDrains(t *testing.T, s Storage) {
	o := s.Open(t, Config{MaxAttempts: 3})
	f := newDeliverer()
	f.delay = 20 * time.Millisecond
	bind(t, o, f)
	var ds []recovery.Delivery
	for i := range 30 {
		ds = append(ds, sample(i))
	}
	put(t, o, ds...)
	closeOutbox(t, o)
	wantEach(t, f, 1, 0, ds...)
	err := o.Put(ctxTimeout(t, 5*time.Second), sample(99))
	if !errors.Is(err, recovery.ErrOutboxClosed) {
		t.Errorf("Put after Close: err = %v, want one wrapping recovery.ErrOutboxClosed", err)
	}
	if err := o.Close(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Errorf("a second Close: %v", err)
	}
}

// testCloseInterrupted: a Close whose context ends first cancels the
// attempts under way and abandons nothing; the next instance makes every
// delivery.
func testCloseInterrupted(t *testing.T, s Storage) {
	first := s.Open(t, Config{MaxAttempts: 3})
	slow := newDeliverer()
	slow.delay = time.Minute // until the attempt's context ends
	bind(t, first, slow)
	var ds []recovery.Delivery
	for i := range 5 {
		ds = append(ds, sample(i))
	}
	put(t, first, ds...)
	time.Sleep(300 * time.Millisecond) // let the workers take some
	if err := first.Close(ctxTimeout(t, 200*time.Millisecond)); err == nil {
		t.Error("Close returned nil although its context ended with deliveries in flight")
	}
	if n := len(slow.abandons()); n != 0 {
		t.Errorf("an interrupted Close abandoned %d deliveries: they must wait for the next instance", n)
	}

	second := s.Open(t, Config{MaxAttempts: 3})
	f := newDeliverer()
	bind(t, second, f)
	waitFor(t, deliveryWait, "deliveries left by an interrupted Close were not made by the next instance", allAttempted(f, 1, ds...))
	closeOutbox(t, second)
	wantEach(t, f, 1, 0, ds...)
}

func testRestart(t *testing.T, s Storage) {
	first := s.Open(t, Config{MaxAttempts: 3})
	var ds []recovery.Delivery
	for i := range 40 {
		if i%4 == 0 {
			ds = append(ds, decoy(i))
		} else {
			ds = append(ds, sample(i))
		}
	}
	put(t, first, ds...) // never bound: nothing works on them
	closeOutbox(t, first)

	second := s.Open(t, Config{MaxAttempts: 3})
	f := newDeliverer()
	bind(t, second, f)
	waitFor(t, deliveryWait, "deliveries put before a restart were not all made after it", allAttempted(f, 1, ds...))
	closeOutbox(t, second)
	wantEach(t, f, 1, 0, ds...)
	for _, d := range ds {
		if got, ok := f.last(d.ID); ok && !sameDelivery(got, d) {
			t.Errorf("%s came back from storage altered: %#v", d.ID, got)
		}
	}
}

func testRaw(t *testing.T, s Storage) {
	var ds []recovery.Delivery
	for i := range 6 {
		ds = append(ds, sample(i))
	}
	// Some jobs done, one retrying, some waiting: every state is checked.
	worked := s.Open(t, Config{MaxAttempts: 10})
	f := newDeliverer()
	f.on(ds[2].ID, func(int) error { return errTemporary })
	bind(t, worked, f)
	put(t, worked, ds[:3]...)
	waitFor(t, deliveryWait, "the deliveries did not reach Deliver", allAttempted(f, 1, ds[:3]...))
	closeOutbox(t, worked)
	waiting := s.Open(t, Config{MaxAttempts: 10})
	put(t, waiting, ds[3:]...)

	raw := s.Raw(t)
	if len(raw) < len(ds)-3 {
		t.Fatalf("Raw returned %d jobs; at least the %d waiting ones are stored", len(raw), len(ds)-3)
	}
	for i, b := range raw {
		for _, d := range ds {
			for _, v := range []string{d.Code, d.To, d.Username, d.Sub, secretAttr, "de-DE"} {
				if bytes.Contains(b, []byte(v)) {
					t.Errorf("stored job %d contains %q in clear", i, v)
				}
			}
		}
	}
	closeOutbox(t, waiting)
}
