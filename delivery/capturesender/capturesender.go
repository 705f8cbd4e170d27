// Package capturesender is a recovery.Sender for tests: it keeps every
// message in memory, so a test can read the code a user was sent instead of
// fishing it out of a log. Never use it in production: it holds codes.
package capturesender

import (
	"context"
	"sync"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
)

var _ recovery.Sender = (*Sender)(nil)

// Sender records messages. It is safe for concurrent use.
type Sender struct {
	mu   sync.Mutex
	msgs []recovery.Message
	fail error
}

// New returns an empty Sender.
func New() *Sender { return &Sender{} }

// Send records m, or returns the error set by Fail without recording it.
func (s *Sender) Send(ctx context.Context, m recovery.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.msgs = append(s.msgs, m)
	return nil
}

// Fail makes every later Send return err (nil restores success), to test
// delivery failures.
func (s *Sender) Fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = err
}

// Messages returns a copy of every message recorded, oldest first.
func (s *Sender) Messages() []recovery.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recovery.Message(nil), s.msgs...)
}

// Last returns the newest message sent to the user with this username (as
// the store holds it) or to this address or number.
func (s *Sender) Last(user string) (recovery.Message, bool) {
	return s.last(user, false)
}

// last is Last, or with codes set the newest message that carries a code.
func (s *Sender) last(user string, codes bool) (recovery.Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.msgs) - 1; i >= 0; i-- {
		if m := s.msgs[i]; (m.Username == user || m.To == user) && (!codes || m.Code != "") {
			return m, true
		}
	}
	return recovery.Message{}, false
}

// LastCode returns the code of the newest message to user that carries
// one: a password-changed notice, which follows a reset and holds no code,
// does not hide the code before it.
func (s *Sender) LastCode(user string) (string, bool) {
	m, ok := s.last(user, true)
	return m.Code, ok
}

// Len returns how many messages were recorded.
func (s *Sender) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

// Reset forgets every message and clears Fail.
func (s *Sender) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs, s.fail = nil, nil
}

// Await waits until a message to user (a username, address or number, as
// for Last) has been recorded and returns the newest, or returns ctx's
// error. Use it when delivery happens off the request path, as it does by
// default for clients that hide user existence: the message arrives a
// moment after Recover returns.
func (s *Sender) Await(ctx context.Context, user string) (recovery.Message, error) {
	return s.await(ctx, user, false)
}

func (s *Sender) await(ctx context.Context, user string, codes bool) (recovery.Message, error) {
	for {
		if m, ok := s.last(user, codes); ok {
			return m, nil
		}
		select {
		case <-ctx.Done():
			return recovery.Message{}, ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
}

// AwaitCode waits as Await does for a message that carries a code (as
// LastCode picks it) and returns its code.
func (s *Sender) AwaitCode(ctx context.Context, user string) (string, error) {
	m, err := s.await(ctx, user, true)
	return m.Code, err
}
