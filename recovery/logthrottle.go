package recovery

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// DefaultLogInterval is Config.LogInterval's default.
const DefaultLogInterval = 10 * time.Second

// logThrottle aggregates repeated Warn and Error lines per kind. Kinds
// are constant messages and error names, so the map stays small.
type logThrottle struct {
	interval time.Duration // <= 0: every line is written
	mu       sync.Mutex
	kinds    map[string]*throttledKind
}

type throttledKind struct {
	next       time.Time // lines before next are counted, not written
	suppressed int
}

// admit reports whether a line of kind may be written at now and, if so,
// how many of its kind were suppressed since the last one written.
func (t *logThrottle) admit(kind string, now time.Time) (bool, int) {
	if t.interval <= 0 {
		return true, 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	k := t.kinds[kind]
	if k == nil {
		if t.kinds == nil {
			t.kinds = map[string]*throttledKind{}
		}
		k = &throttledKind{}
		t.kinds[kind] = k
	}
	if now.Before(k.next) {
		k.suppressed++
		return false, 0
	}
	n := k.suppressed
	k.next, k.suppressed = now.Add(t.interval), 0
	return true, n
}

// logLimited writes a Warn or Error line unless one of the same kind was
// written less than Config.LogInterval ago; lines below Warn are written
// as they come.
func (e *Engine) logLimited(ctx context.Context, level slog.Level, msg, kind string, attrs ...slog.Attr) {
	if !e.log.Enabled(ctx, level) {
		return
	}
	if level >= slog.LevelWarn {
		ok, suppressed := e.logs.admit(msg+"|"+kind, e.now())
		if !ok {
			return
		}
		if suppressed > 0 {
			attrs = append(attrs, slog.Int("suppressed", suppressed))
		}
	}
	e.log.LogAttrs(ctx, level, msg, attrs...)
}
