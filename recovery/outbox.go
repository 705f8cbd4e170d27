package recovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Delivery is a message on its way to a user, a code or a notice (Kind):
// everything Engine.Deliver needs to compose the message and send it, later
// and possibly in another process. It holds the code and the user's
// attributes, so an Outbox keeps it in memory or sealed at rest, and never
// logs it: its String, Format and LogValue methods leave the code and the
// attributes out.
type Delivery struct {
	// ID is the message ID ("msg_" and 32 hex digits), one per issued code;
	// it becomes Message.ID, which senders use as idempotency key, so an
	// outbox can deduplicate by it too.
	ID string
	// Pool and ClientID say which pool and app client asked.
	Pool, ClientID string
	// Medium and To are where the code goes.
	Medium DeliveryMedium
	To     string
	// Username and Sub identify the user.
	Username, Sub string
	// Attributes are the user's attributes, for the custom-message hook and
	// the user's locale.
	Attributes map[string]string
	// Code is the confirmation code.
	Code string
	// KeyID names the key that hashed the code (with a suffix when a
	// CodeIssuingFinder bound it to the user), so that the engine can
	// revoke it if the delivery is abandoned, and tell whether it is
	// still current.
	KeyID string
	// IssuedAt is when the code was issued; ExpiresAt when it stops being
	// valid. Deliver drops a delivery whose code has expired.
	IssuedAt, ExpiresAt time.Time
	// ClientMetadata is the request's ClientMetadata.
	ClientMetadata map[string]string
	// Kind says what the delivery carries: a code (the zero value, so that
	// deliveries queued by an older version still read as codes) or the
	// notice that the password was changed, which has no code and no KeyID.
	Kind DeliveryKind `json:",omitempty"`
	// Operation is the operation that changed the password, for a notice
	// (its events name it); empty for a code, which ForgotPassword issued.
	Operation Operation `json:",omitempty"`
	// Decoy marks the stand-in the engine puts in the outbox for a request
	// that sends nothing (an identifier that matches nobody, with user
	// existence hidden), so that the request path does the same work as
	// for a real user. It has no code, no address and no user; Deliver
	// drops it. An outbox treats it exactly as a real delivery up to the
	// moment its worker hands it to Deliver.
	Decoy bool
}

// String describes the delivery without its code or the user's attributes.
func (d Delivery) String() string {
	return fmt.Sprintf("Delivery{ID:%s Kind:%s Medium:%s To:%q Sub:%q Decoy:%v Code:%s}", d.ID, d.Kind.name(), d.Medium, d.To, d.Sub, d.Decoy, redacted(d.Code))
}

// Format makes every fmt verb print String, so %v, %+v and %#v redact too.
func (d Delivery) Format(f fmt.State, _ rune) { fmt.Fprint(f, d.String()) }

// LogValue implements slog.LogValuer without the code or the attributes.
func (d Delivery) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("id", d.ID),
		slog.String("kind", d.Kind.name()),
		slog.String("medium", string(d.Medium)),
		slog.String("sub", d.Sub),
	)
}

// Deliverer composes and sends deliveries; *Engine is one. An Outbox's
// workers call it.
type Deliverer interface {
	// Deliver makes one attempt to compose and send d. Its error says why
	// the attempt failed; Retryable tells whether another may succeed.
	Deliver(ctx context.Context, d Delivery) error
	// Abandon is called once for a delivery the outbox gives up on, after
	// its last attempt or at shutdown, with the last error.
	Abandon(ctx context.Context, d Delivery, err error)
}

// Outbox carries deliveries from the request path to Config.Sender, so
// that a request for a real user does no more work than one for an
// identifier that matches nobody: the engine puts a Delivery, or a decoy,
// and answers. The default is an in-process queue; delivery/asyncsender
// adds retries, and a durable outbox keeps deliveries across restarts.
//
// New calls Bind once with the engine; the outbox's workers call its
// Deliver for each delivery (a decoy included), retry as they see fit, and
// call Abandon for each one they give up on. An outbox that also has a
// Close(context.Context) error method is closed by Engine.Close.
type Outbox interface {
	// Bind gives the outbox the engine its deliveries are for. It fails
	// when the outbox is already bound to another engine.
	Bind(Deliverer) error
	// Put accepts d for delivery after the request and returns at once; it
	// must take the same time for a decoy as for a real delivery. An error
	// means d was not accepted (a full queue, an unreachable store).
	Put(ctx context.Context, d Delivery) error
}

// Retryable reports whether a failed delivery attempt may succeed if tried
// again: not when the sender reports it is misconfigured
// (ErrDeliveryUnauthorized, ErrDeliveryForbidden), not when a hook's output
// was unusable or it rejected the request, and not when the error says
// Temporary() == false, as smtpsender's and webhooksender's errors do for
// permanent failures. Everything else (timeouts, unreachable servers,
// panics) is worth another attempt.
func Retryable(err error) bool {
	if errors.Is(err, ErrDeliveryUnauthorized) || errors.Is(err, ErrDeliveryForbidden) ||
		errors.Is(err, ErrInvalidLambdaResponse) || errors.Is(err, ErrUserLambdaValidation) {
		return false
	}
	var t interface{ Temporary() bool }
	if errors.As(err, &t) {
		return t.Temporary()
	}
	return true
}

// Defaults of the built-in outbox.
const (
	// DefaultOutboxSize is how many deliveries the built-in outbox holds.
	DefaultOutboxSize = 4096
	// DefaultOutboxWorkers is how many deliveries it sends at once.
	DefaultOutboxWorkers = 16
	// DefaultDeliveryTimeout bounds each delivery attempt of the built-in
	// outbox.
	DefaultDeliveryTimeout = 30 * time.Second
)

// ErrOutboxFull is the built-in outbox's answer when it holds
// DefaultOutboxSize deliveries already.
var ErrOutboxFull = errors.New("recovery: the outbox is full")

// ErrOutboxClosed is the answer of the built-in outboxes after Engine.Close.
var ErrOutboxClosed = errors.New("recovery: the outbox is closed")

// memoryOutbox is the default Outbox: a bounded in-process queue and a
// fixed set of workers, started on first use, each making one attempt per
// delivery (senders retry on their own, as webhooksender does).
type memoryOutbox struct {
	d       Deliverer
	queue   chan Delivery
	start   sync.Once
	workers sync.WaitGroup
	mu      sync.RWMutex // guards closed against the close of queue
	closed  bool
	base    context.Context // ends when Close gives up waiting
	abort   context.CancelFunc
}

func newMemoryOutbox(size int) *memoryOutbox {
	o := &memoryOutbox{queue: make(chan Delivery, size)}
	o.base, o.abort = context.WithCancel(context.Background())
	return o
}

func (o *memoryOutbox) Bind(d Deliverer) error {
	if o.d != nil {
		return errors.New("recovery: the outbox is bound to an engine already")
	}
	o.d = d
	return nil
}

func (o *memoryOutbox) Put(_ context.Context, d Delivery) error {
	o.start.Do(func() {
		for range DefaultOutboxWorkers {
			o.workers.Go(o.work)
		}
	})
	o.mu.RLock()
	defer o.mu.RUnlock()
	if o.closed {
		return ErrOutboxClosed
	}
	select {
	case o.queue <- d:
		return nil
	default:
		return fmt.Errorf("%w: %d deliveries are waiting; set Config.Outbox to one with more room (delivery/asyncsender), or check the sender", ErrOutboxFull, cap(o.queue))
	}
}

func (o *memoryOutbox) work() {
	for d := range o.queue {
		if o.base.Err() != nil {
			o.d.Abandon(context.Background(), d, ErrOutboxClosed)
			continue
		}
		ctx, cancel := context.WithTimeout(o.base, DefaultDeliveryTimeout)
		if err := o.d.Deliver(ctx, d); err != nil {
			o.d.Abandon(context.WithoutCancel(ctx), d, err)
		}
		cancel()
	}
}

// Close stops accepting deliveries and waits until the queued ones are
// sent, or until ctx ends: then the attempts in progress are cancelled and
// what is left is abandoned.
func (o *memoryOutbox) Close(ctx context.Context) error {
	o.mu.Lock()
	if !o.closed {
		o.closed = true
		close(o.queue)
	}
	o.mu.Unlock()
	done := make(chan struct{})
	go func() {
		o.workers.Wait()
		close(done)
	}()
	select {
	case <-done:
		o.abort()
		return nil
	case <-ctx.Done():
		o.abort()
		<-done
		return fmt.Errorf("recovery: closing the outbox: %w", ctx.Err())
	}
}

// NewInlineOutbox returns an Outbox that delivers during Put, on the
// request path, for tests that read a code right after Recover. It makes a
// real user's request wait for the custom-message hook and the sender, so
// response times tell which accounts exist: never use it in production.
func NewInlineOutbox() Outbox { return &inlineOutbox{} }

type inlineOutbox struct{ d Deliverer }

func (o *inlineOutbox) Bind(d Deliverer) error {
	if o.d != nil {
		return errors.New("recovery: the outbox is bound to an engine already")
	}
	o.d = d
	return nil
}

func (o *inlineOutbox) Put(ctx context.Context, d Delivery) error { return o.d.Deliver(ctx, d) }
