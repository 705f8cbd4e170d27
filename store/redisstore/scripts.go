package redisstore

import (
	"context"
	_ "embed"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// The scripts. Each file starts with a comment listing its KEYS, ARGV and
// return values. Issue, Check and Restore run record.lua first: it holds the
// rules they share (the lock, the budgets, comparing, saving the record).
var (
	//go:embed record.lua
	recordSource string
	//go:embed issue.lua
	issueSource string
	//go:embed check.lua
	checkSource string
	//go:embed revoke.lua
	revokeSource string
	//go:embed restore.lua
	restoreSource string
	//go:embed allow.lua
	allowSource string
	//go:embed outstanding.lua
	outstandingSource string

	issueScript   = redis.NewScript(recordSource + "\n" + issueSource)
	checkScript   = redis.NewScript(recordSource + "\n" + checkSource)
	revokeScript  = redis.NewScript(revokeSource)
	restoreScript = redis.NewScript(recordSource + "\n" + restoreSource)
	allowScript   = redis.NewScript(allowSource)
	currentScript = redis.NewScript(outstandingSource)

	scripts = []*redis.Script{issueScript, checkScript, revokeScript, restoreScript, allowScript, currentScript}
)

// LoadScripts loads the package's scripts into Redis's script cache (on
// every master of a Cluster), so that no later call pays for the NOSCRIPT
// reply and the EVAL that follows it. Calling it is optional: without it,
// the first call of each script on each node takes that extra round trip,
// as does the first after a Redis restart or SCRIPT FLUSH.
func LoadScripts(ctx context.Context, c redis.Scripter) error {
	if c == nil {
		return errors.New("redisstore: LoadScripts: the client is nil")
	}
	for _, s := range scripts {
		if err := s.Load(ctx, c).Err(); err != nil {
			return wrap("loading scripts", err)
		}
	}
	return nil
}

// wrap is the package's one translation of client errors. Every error the
// client returns, from the network, a timeout, the context or Redis itself,
// comes back wrapped, so that errors.Is(err, context.Canceled) and the like
// keep working. redis.Nil cannot come from the scripts, which always return
// an integer; it is reported as the bug it would be.
func wrap(op string, err error) error {
	if errors.Is(err, redis.Nil) {
		return fmt.Errorf("redisstore: %s: the script returned no value: %w", op, err)
	}
	return fmt.Errorf("redisstore: %s: %w", op, err)
}
