package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/recoverykit/recoverykit/recovery"
)

var _ recovery.CodeStore = (*CodeStore)(nil)

// CodeStore is a recovery.CodeStore on Redis: one hash per (pool, user key)
// holds the user's whole record, and each call is one Lua script on that one
// key, in one round trip. It is safe for concurrent use, by any number of
// processes sharing the Redis. The zero value is not usable; call
// NewCodeStore.
type CodeStore struct {
	c      redis.Scripter
	prefix string
}

// NewCodeStore returns a store on c, usually a redis.UniversalClient
// (redis.NewClient, redis.NewFailoverClient, redis.NewClusterClient). It
// reports a nil client or an invalid Options.Prefix; it does not contact
// Redis (see LoadScripts).
func NewCodeStore(c redis.Scripter, o Options) (*CodeStore, error) {
	p, err := o.prefix(c)
	if err != nil {
		return nil, err
	}
	return &CodeStore{c: c, prefix: p}, nil
}

// outcome maps the return codes of issue.lua and check.lua to outcomes, and
// any other number to 0.
func outcome(n int64) recovery.Outcome {
	switch n {
	case 1:
		return recovery.OutcomeOK
	case 2:
		return recovery.OutcomeMismatch
	case 3:
		return recovery.OutcomeExpired
	case 4:
		return recovery.OutcomeLimitExceeded
	case 5:
		return recovery.OutcomeLocked
	}
	return 0
}

// ms is t in Unix milliseconds, the unit of every time the scripts take.
func ms(t time.Time) int64 { return t.UnixMilli() }

// Issue implements recovery.CodeStore with issue.lua.
func (s *CodeStore) Issue(ctx context.Context, p recovery.IssueParams) (recovery.Outcome, error) {
	if err := ctx.Err(); err != nil {
		return 0, wrap("issue", err)
	}
	n, err := issueScript.Run(ctx, s.c, []string{codeKey(s.prefix, p.Pool, p.UserKey)},
		ms(p.Now), p.Limits.Window.Milliseconds(), p.Limits.Budget, p.Limits.Cooldown.Milliseconds(),
		p.Code.Hash, p.Code.KeyID, ms(p.ExpiresAt), p.Limits.FailureBudget,
	).Int64()
	if err != nil {
		return 0, wrap("issue", err)
	}
	switch out := outcome(n); out {
	case recovery.OutcomeOK, recovery.OutcomeLimitExceeded, recovery.OutcomeLocked:
		return out, nil
	}
	return 0, fmt.Errorf("redisstore: issue: the script returned %d, which is no outcome of Issue", n)
}

// Check implements recovery.CodeStore with check.lua.
func (s *CodeStore) Check(ctx context.Context, p recovery.CheckParams) (recovery.Outcome, error) {
	if err := ctx.Err(); err != nil {
		return 0, wrap("check", err)
	}
	consume := "0"
	if p.Consume {
		consume = "1"
	}
	args := make([]any, 0, 6+2*len(p.Candidates))
	args = append(args, ms(p.Now), p.Limits.Window.Milliseconds(), p.Limits.FailureBudget,
		p.Limits.Cooldown.Milliseconds(), p.Limits.MaxFailures, consume)
	for _, c := range p.Candidates {
		args = append(args, c.KeyID, c.Hash)
	}
	n, err := checkScript.Run(ctx, s.c, []string{codeKey(s.prefix, p.Pool, p.UserKey)}, args...).Int64()
	if err != nil {
		return 0, wrap("check", err)
	}
	if out := outcome(n); out != 0 {
		return out, nil
	}
	return 0, fmt.Errorf("redisstore: check: the script returned %d, which is no outcome", n)
}

// Revoke implements recovery.CodeStore with revoke.lua: it removes the
// user's current code if it is still code.
func (s *CodeStore) Revoke(ctx context.Context, pool, userKey string, code recovery.KeyedHash) error {
	if err := ctx.Err(); err != nil {
		return wrap("revoke", err)
	}
	err := revokeScript.Run(ctx, s.c, []string{codeKey(s.prefix, pool, userKey)}, code.KeyID, code.Hash).Err()
	if err != nil {
		return wrap("revoke", err)
	}
	return nil
}

// Outstanding implements recovery.CodeInspector with outstanding.lua, a
// read-only script on the user's record.
func (s *CodeStore) Outstanding(ctx context.Context, pool, userKey string, code recovery.KeyedHash, now time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, wrap("outstanding", err)
	}
	n, err := currentScript.Run(ctx, s.c, []string{codeKey(s.prefix, pool, userKey)}, ms(now), code.KeyID, code.Hash).Int()
	if err != nil {
		return false, wrap("outstanding", err)
	}
	return n == 1, nil
}

// Restore implements recovery.CodeStore with restore.lua: it marks the
// user's current code unused again if it is used, unexpired and one of the
// candidates.
func (s *CodeStore) Restore(ctx context.Context, p recovery.RestoreParams) error {
	if err := ctx.Err(); err != nil {
		return wrap("restore", err)
	}
	args := make([]any, 0, 1+2*len(p.Candidates))
	args = append(args, ms(p.Now))
	for _, c := range p.Candidates {
		args = append(args, c.KeyID, c.Hash)
	}
	if err := restoreScript.Run(ctx, s.c, []string{codeKey(s.prefix, p.Pool, p.UserKey)}, args...).Err(); err != nil {
		return wrap("restore", err)
	}
	return nil
}
