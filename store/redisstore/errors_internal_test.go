package redisstore

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/recoverykit/recoverykit/recovery"
)

func TestWrap(t *testing.T) {
	err := wrap("check", redis.Nil)
	if !errors.Is(err, redis.Nil) || !strings.Contains(err.Error(), "no value") {
		t.Errorf("wrap(redis.Nil) = %v", err)
	}
	err = wrap("issue", context.Canceled)
	if !errors.Is(err, context.Canceled) || err.Error() != "redisstore: issue: context canceled" {
		t.Errorf("wrap(context.Canceled) = %v", err)
	}
}

func TestOutcomeCodes(t *testing.T) {
	for n, want := range map[int64]recovery.Outcome{
		0: 0, 1: recovery.OutcomeOK, 2: recovery.OutcomeMismatch, 3: recovery.OutcomeExpired,
		4: recovery.OutcomeLimitExceeded, 5: recovery.OutcomeLocked, 6: 0, -1: 0,
	} {
		if got := outcome(n); got != want {
			t.Errorf("outcome(%d) = %v, want %v", n, got, want)
		}
	}
}
