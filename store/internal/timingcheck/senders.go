package timingcheck

import (
	"context"
	"errors"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
)

// SlowSender takes 20 ms per message, like a nearby mail server. Used
// during the request (recovery.NewInlineOutbox) it makes a known user's
// Recover 20 ms slower than an unknown one's: the leak the timing check must
// catch.
var SlowSender recovery.Sender = recovery.SenderFunc(func(ctx context.Context, m recovery.Message) error {
	return sleep(ctx, 20*time.Millisecond)
})

// FailingSender fails every message, as a mail server that is down does.
var FailingSender recovery.Sender = recovery.SenderFunc(func(ctx context.Context, m recovery.Message) error {
	return errors.New("timingcheck: the mail server is down")
})

// SlowCustomMessage is a custom-message hook that takes 20 ms and changes
// nothing, like a hook that looks something up.
var SlowCustomMessage recovery.CustomMessageHook = recovery.CustomMessageFunc(func(ctx context.Context, e recovery.CustomMessageEvent) (recovery.CustomMessage, error) {
	return recovery.CustomMessage{}, sleep(ctx, 20*time.Millisecond)
})

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
