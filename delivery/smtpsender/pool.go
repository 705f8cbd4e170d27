package smtpsender

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/textproto"
	"sync"
	"time"

	mail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// ErrClosed is returned by Send after Close.
var ErrClosed = errors.New("smtpsender: the Sender is closed")

// conn is one pooled SMTP session, past EHLO, STARTTLS and AUTH. Only the
// Send holding it, or the pool while it is idle, touches it.
type conn struct {
	sc   *smtp.Client
	nc   *ctxConn  // the TCP connection under sc, and under TLS if any
	sent int       // messages the server accepted on it
	idle time.Time // when it was last returned to the pool
	// pipelining: the server offers PIPELINING (RFC 2920), so MAIL, RCPT
	// and DATA go in one write; mailParams are MAIL FROM's parameters.
	pipelining bool
	mailParams string
	// dirty: the server's transaction state is unknown (it accepted DATA
	// after refusing MAIL or RCPT), so not even QUIT may be sent.
	dirty bool
}

// pool holds the idle connections and bounds the open ones.
type pool struct {
	// slots holds a token for each Send holding a connection. Since a
	// Send dials only when no connection is idle, busy plus idle never
	// exceeds cap(slots).
	slots chan struct{}

	mu     sync.Mutex
	idle   []*conn     // oldest first; Sends take the newest
	reaper *time.Timer // the next idle check, nil when none is due
	closed bool
}

// acquire waits for a slot, within ctx.
func (s *Sender) acquire(ctx context.Context) error {
	select {
	case s.pool.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Sender) release() { <-s.pool.slots }

// take returns the most recently used idle connection, or nil when there
// is none; ErrClosed after Close. Connections idle too long (the reaper
// may be late) are closed on the way.
func (s *Sender) take(ctx context.Context) (*conn, error) {
	now := time.Now()
	s.pool.mu.Lock()
	if s.pool.closed {
		s.pool.mu.Unlock()
		return nil, ErrClosed
	}
	var c *conn
	var stale []*conn
	for n := len(s.pool.idle); n > 0 && c == nil; n-- {
		last := s.pool.idle[n-1]
		s.pool.idle = s.pool.idle[:n-1]
		if now.Sub(last.idle) < s.cfg.IdleTimeout {
			c = last
		} else {
			stale = append(stale, last)
		}
	}
	s.pool.mu.Unlock()
	for _, old := range stale {
		s.quit(ctx, old)
	}
	return c, nil
}

// put returns a healthy connection to the pool, or says QUIT when it has
// carried its share of messages or the Sender is closed.
func (s *Sender) put(ctx context.Context, c *conn) {
	s.pool.mu.Lock()
	if s.pool.closed || c.sent >= s.cfg.MaxMessagesPerConnection {
		s.pool.mu.Unlock()
		s.quit(ctx, c)
		return
	}
	c.idle = time.Now() // under the lock, so that idle stays in order
	s.pool.idle = append(s.pool.idle, c)
	if s.pool.reaper == nil {
		s.pool.reaper = time.AfterFunc(s.cfg.IdleTimeout, s.reap)
	}
	s.pool.mu.Unlock()
}

// reap says QUIT on the connections idle for IdleTimeout, and schedules
// itself for when the oldest of the others will be.
func (s *Sender) reap() {
	now := time.Now()
	s.pool.mu.Lock()
	n := 0
	for n < len(s.pool.idle) && now.Sub(s.pool.idle[n].idle) >= s.cfg.IdleTimeout {
		n++
	}
	stale := append([]*conn(nil), s.pool.idle[:n]...)
	s.pool.idle = append(s.pool.idle[:0], s.pool.idle[n:]...)
	s.pool.reaper = nil
	if len(s.pool.idle) > 0 && !s.pool.closed {
		s.pool.reaper = time.AfterFunc(s.pool.idle[0].idle.Add(s.cfg.IdleTimeout).Sub(now), s.reap)
	}
	s.pool.mu.Unlock()
	for _, c := range stale {
		s.quit(context.Background(), c)
	}
}

// quit ends c's session politely, within ctx and ConnectTimeout, and
// closes the connection whatever the server answers: there is nothing
// left to report.
func (s *Sender) quit(ctx context.Context, c *conn) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ConnectTimeout)
	defer cancel()
	c.nc.attach(ctx)
	c.nc.SetDeadline(time.Now().Add(s.cfg.ConnectTimeout)) // the last Send's has passed
	c.sc.Quit()
	c.nc.detach()
	c.nc.Close()
}

// Close says QUIT on the idle connections and closes the Sender: Send
// then fails with ErrClosed. Sends in progress finish, and say QUIT as
// they do; Close waits for them until ctx ends, and then returns ctx's
// error while they finish on their own. Calling Close again is harmless.
func (s *Sender) Close(ctx context.Context) error {
	s.pool.mu.Lock()
	s.pool.closed = true
	idle := s.pool.idle
	s.pool.idle = nil
	if s.pool.reaper != nil {
		s.pool.reaper.Stop()
		s.pool.reaper = nil
	}
	s.pool.mu.Unlock()
	for _, c := range idle {
		s.quit(ctx, c)
	}
	// Holding every slot means no Send holds a connection.
	held := 0
	defer func() {
		for range held {
			s.release()
		}
	}()
	for range cap(s.pool.slots) {
		if err := s.acquire(ctx); err != nil {
			return err
		}
		held++
	}
	return nil
}

// dial opens a session: connection, EHLO, STARTTLS and AUTH as Config
// says, within ctx.
func (s *Sender) dial(ctx context.Context) (*conn, error) {
	var nc *ctxConn
	dial := func(dialCtx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		raw, err := d.DialContext(dialCtx, network, s.addr)
		if err != nil {
			return nil, err
		}
		nc = &ctxConn{Conn: raw}
		nc.attach(ctx)
		if s.cfg.TLS != ImplicitTLS {
			return nc, nil
		}
		tc := tls.Client(nc, s.tls)
		if err := tc.HandshakeContext(dialCtx); err != nil {
			return nil, err
		}
		return tc, nil
	}
	mc, err := mail.NewClient(s.cfg.Host, s.options(dial)...)
	if err != nil {
		return nil, err
	}
	sc, err := mc.DialToSMTPClientWithContext(ctx)
	if nc == nil {
		return nil, err
	}
	// nc.detach fails when ctx ended during the dialogue: the
	// connection's deadline is then in the past.
	if !nc.detach() && err == nil {
		err = context.Cause(ctx)
	}
	if err != nil {
		// go-mail leaves the connection open when the dialogue fails.
		nc.Close()
		return nil, err
	}
	return s.newConn(sc, nc), nil
}

// newConn is a session on sc, pipelining when the server offers it and
// Config allows. MAIL FROM gets the parameters go-mail's Mail would add.
func (s *Sender) newConn(sc *smtp.Client, nc *ctxConn) *conn {
	c := &conn{sc: sc, nc: nc}
	if ok, _ := sc.Extension("PIPELINING"); ok && !s.cfg.DisablePipelining {
		c.pipelining = true
		if ok, _ := sc.Extension("8BITMIME"); ok {
			c.mailParams += " BODY=8BITMIME"
		}
		if ok, _ := sc.Extension("SMTPUTF8"); ok {
			c.mailParams += " SMTPUTF8"
		}
	}
	return c
}

// deliver sends the rendered message data from the Sender to rcpt on c,
// within ctx, and returns c to the pool when the session is still usable.
// A connection that failed is never reused: its state is unknown. It is
// closed with QUIT when the server answered, and dropped when it did not.
func (s *Sender) deliver(ctx context.Context, c *conn, rcpt string, data []byte) error {
	c.nc.attach(ctx)
	err := c.transact(s.cfg.ConnectTimeout, s.from.Address, rcpt, data) // the bare address, however From was written
	healthy := c.nc.detach()
	var reply *textproto.Error
	switch {
	case err == nil:
		c.sent++
		if healthy {
			s.put(ctx, c)
		} else {
			c.nc.Close()
		}
	case healthy && !c.dirty && errors.As(err, &reply):
		s.quit(ctx, c)
	default:
		c.nc.Close()
	}
	return err
}

// transact is one mail transaction: MAIL, RCPT, DATA. No RSET follows:
// the end of DATA ends the transaction (RFC 5321 4.1.1.4), and a
// connection that failed is not reused. timeout bounds the transaction,
// as go-mail bounds each of its sends.
func (c *conn) transact(timeout time.Duration, from, rcpt string, data []byte) error {
	if err := c.sc.UpdateDeadline(timeout); err != nil {
		return &sendError{stepMail, err}
	}
	if c.pipelining {
		return c.transactPipelined(from, rcpt, data)
	}
	from, rcpt = "<"+from+">", "<"+rcpt+">" // go-mail sends them as given
	if err := c.sc.Mail(from); err != nil {
		return &sendError{stepMail, err}
	}
	if err := c.sc.Rcpt(rcpt); err != nil {
		return &sendError{stepRcpt, err}
	}
	w, err := c.sc.Data()
	if err != nil {
		return &sendError{stepData, err}
	}
	if _, err := w.Write(data); err != nil {
		return &sendError{stepData, err}
	}
	if err := w.Close(); err != nil {
		return &sendError{stepDataEnd, err}
	}
	return nil
}

// transactPipelined is transact in two round trips instead of four: MAIL,
// RCPT and DATA in one write, their three replies, then the message and
// its reply. Every reply is read, so that a refusal leaves the session in
// step; the first refusal is the transaction's error, at its step.
func (c *conn) transactPipelined(from, rcpt string, data []byte) error {
	text := c.sc.Text
	w := text.W
	w.WriteString("MAIL FROM:<")
	w.WriteString(from)
	w.WriteString(">")
	w.WriteString(c.mailParams)
	w.WriteString("\r\nRCPT TO:<")
	w.WriteString(rcpt)
	w.WriteString(">\r\nDATA\r\n")
	if err := w.Flush(); err != nil {
		return &sendError{stepMail, err}
	}
	var first error
	for _, r := range [...]struct {
		step step
		code int
	}{{stepMail, 250}, {stepRcpt, 25}, {stepData, 354}} {
		_, _, err := text.ReadResponse(r.code)
		var reply *textproto.Error
		switch {
		case err == nil && first != nil:
			// DATA accepted after a refusal (RFC 2920 says a server must
			// not): the server now reads a message, and whatever we
			// send would be one.
			c.dirty = true
		case err != nil && !errors.As(err, &reply):
			return &sendError{r.step, err} // the connection broke
		case err != nil && first == nil:
			first = &sendError{r.step, err}
		}
	}
	if first != nil {
		return first
	}
	dw := text.DotWriter()
	if _, err := dw.Write(data); err != nil {
		return &sendError{stepData, err}
	}
	if err := dw.Close(); err != nil {
		return &sendError{stepData, err}
	}
	if _, _, err := text.ReadResponse(250); err != nil {
		return &sendError{stepDataEnd, err}
	}
	return nil
}

// step is how far a failed transaction got.
type step int

const (
	stepNone    step = iota // not a transaction's error
	stepMail                // MAIL FROM
	stepRcpt                // RCPT TO
	stepData                // DATA, or writing the message
	stepDataEnd             // the end of DATA was sent: the server may have the message
)

var stepNames = [...]string{"", "MAIL FROM", "RCPT TO", "DATA", "end of DATA"}

// sendError is a failed transaction and the step it failed at.
type sendError struct {
	step step
	err  error
}

func (e *sendError) Error() string { return stepNames[e.step] + ": " + e.err.Error() }
func (e *sendError) Unwrap() error { return e.err }

// failedAt returns the step at which err failed, stepNone for an error
// that is not a transaction's.
func failedAt(err error) step {
	var se *sendError
	if errors.As(err, &se) {
		return se.step
	}
	return stepNone
}

// redeliverable reports whether a send that failed on a reused connection
// may be repeated on a fresh one. A pooled connection may have been
// closed by the server (idle limit, restart) without our knowing; we send
// no NOOP to ask, as it would cost a round trip per message. Instead the
// first command fails, and the message goes again, once, on a new
// connection. That is safe only while the server cannot have accepted
// the message: before the end of DATA (the final ".") was sent. Once it
// was, a lost reply leaves the message possibly accepted, and repeating
// it could deliver it twice; that failure is returned instead. Only
// failures without an SMTP reply (the connection broke) or with 421 (the
// server is closing it) count: any other reply would come again.
func redeliverable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if st := failedAt(err); st == stepNone || st == stepDataEnd {
		return false
	}
	var reply *textproto.Error
	return !errors.As(err, &reply) || reply.Code == 421
}

// ctxConn is a connection bound, while a Send uses it, to the Send's
// context: its deadlines never lie beyond the context's, and once the
// context is done every pending and future read or write fails at once.
type ctxConn struct {
	net.Conn
	mu   sync.Mutex      // orders deadline changes against the context's end
	ctx  context.Context // nil while the connection is idle
	stop func() bool
}

// past is a deadline that has passed.
var past = time.Unix(1, 0)

// attach binds c to ctx until detach.
func (c *ctxConn) attach(ctx context.Context) {
	c.mu.Lock()
	c.ctx = ctx
	c.mu.Unlock()
	c.stop = context.AfterFunc(ctx, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.Conn.SetDeadline(past)
	})
}

// detach unbinds c from its context. It reports false when the context
// ended first: its deadline is then in the past, and c is no longer
// usable.
func (c *ctxConn) detach() bool {
	ok := c.stop()
	c.mu.Lock()
	c.ctx = nil
	c.mu.Unlock()
	return ok
}

func (c *ctxConn) clamp(t time.Time) time.Time {
	if c.ctx == nil {
		return t
	}
	if c.ctx.Err() != nil {
		return past
	}
	if d, ok := c.ctx.Deadline(); ok && (t.IsZero() || d.Before(t)) {
		return d
	}
	return t
}

// SetDeadline sets the deadline, no later than the context's.
func (c *ctxConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Conn.SetDeadline(c.clamp(t))
}

// SetReadDeadline sets the read deadline, no later than the context's.
func (c *ctxConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Conn.SetReadDeadline(c.clamp(t))
}

// SetWriteDeadline sets the write deadline, no later than the context's.
func (c *ctxConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Conn.SetWriteDeadline(c.clamp(t))
}

// Close closes the connection and forgets the context.
func (c *ctxConn) Close() error {
	if c.stop != nil {
		c.stop()
	}
	return c.Conn.Close()
}
