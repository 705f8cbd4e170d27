package pgxstore

import (
	"context"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
)

var (
	_ recovery.CodeStore      = (*CodeStore)(nil)
	_ recovery.ExpiredSweeper = (*CodeStore)(nil)
)

// CodeStore is a recovery.CodeStore on PostgreSQL: one row per (pool, user
// key) in recovery_codes, changed by one statement per call. Issue and Check
// are each a single SELECT of a PL/pgSQL function (recovery_issue,
// recovery_check) that locks the user's row, applies every rule of the
// contract and writes the result, so a call is one round trip and concurrent
// calls for one user run one after the other. It is safe for concurrent
// use. Create it with NewCodeStore.
//
// Lapsed rows are deleted when their user calls again, up to two of them
// whenever Issue creates a row (so storage stays bounded without a sweep),
// and by SweepExpired.
type CodeStore struct {
	db      DBTX
	schema  string
	issue   string
	check   string
	revoke  string
	restore string
	sweep   string
	current string
}

// NewCodeStore returns a code store that runs its statements on db in the
// schema of opts, which Migrate must have prepared. It is cheap: to run the
// calls inside a transaction of your own, make one on the pgx.Tx.
func NewCodeStore(db DBTX, opts Options) (*CodeStore, error) {
	opts, err := prepare("NewCodeStore", db, opts)
	if err != nil {
		return nil, err
	}
	s := opts.Schema
	return &CodeStore{
		db:      db,
		schema:  s,
		issue:   query("code_issue", s),
		check:   query("code_check", s),
		revoke:  query("code_revoke", s),
		restore: query("code_restore", s),
		sweep:   query("code_sweep", s),
		current: query("code_outstanding", s),
	}, nil
}

// Issue implements recovery.CodeStore with one statement.
func (s *CodeStore) Issue(ctx context.Context, p recovery.IssueParams) (recovery.Outcome, error) {
	l := p.Limits
	var hash []byte // NULL for an empty hash: no code, as in memstore
	if len(p.Code.Hash) > 0 {
		hash = p.Code.Hash
	}
	var out int32
	err := queryRow(ctx, s.db, s.issue, []any{
		p.Pool, p.UserKey, p.Code.KeyID, hash, p.ExpiresAt, p.Now,
		int32(l.Budget), int32(l.FailureBudget), l.Window, int32(l.MaxFailures), l.Cooldown,
	}, &out)
	if err != nil {
		return 0, interpretError(ctx, "Issue", err)
	}
	return recovery.Outcome(out), nil
}

// Check implements recovery.CodeStore with one statement. The stored hash is
// compared only with candidates of its key id, in constant time
// (recovery_hash_equal).
func (s *CodeStore) Check(ctx context.Context, p recovery.CheckParams) (recovery.Outcome, error) {
	var out int32
	err := queryRow(ctx, s.db, s.check, checkArgs(p), &out)
	if err != nil {
		return 0, interpretError(ctx, "Check", err)
	}
	return recovery.Outcome(out), nil
}

// checkArgs are the arguments of recovery_check ($1 to $10 of
// code_check.sql).
func checkArgs(p recovery.CheckParams) []any {
	ids, hashes := candidates(p.Candidates)
	l := p.Limits
	return []any{p.Pool, p.UserKey, ids, hashes, p.Consume, p.Now,
		int32(l.FailureBudget), l.Window, int32(l.MaxFailures), l.Cooldown}
}

// candidates splits keyed hashes into the key-id and hash arrays the SQL
// functions take, an empty hash for a nil one.
func candidates(cs []recovery.KeyedHash) ([]string, [][]byte) {
	ids := make([]string, len(cs))
	hashes := make([][]byte, len(cs))
	for i, c := range cs {
		ids[i] = c.KeyID
		hashes[i] = c.Hash
		if hashes[i] == nil {
			hashes[i] = []byte{}
		}
	}
	return ids, hashes
}

// Restore implements recovery.CodeStore with one statement.
func (s *CodeStore) Restore(ctx context.Context, p recovery.RestoreParams) error {
	ids, hashes := candidates(p.Candidates)
	_, err := exec(ctx, s.db, s.restore, p.Pool, p.UserKey, ids, hashes, p.Now)
	return interpretError(ctx, "Restore", err)
}

// Revoke implements recovery.CodeStore with one statement: the current code
// loses its hash when it is code.
func (s *CodeStore) Revoke(ctx context.Context, pool, userKey string, code recovery.KeyedHash) error {
	hash := code.Hash
	if hash == nil {
		hash = []byte{}
	}
	_, err := exec(ctx, s.db, s.revoke, pool, userKey, code.KeyID, hash)
	return interpretError(ctx, "Revoke", err)
}

// Outstanding implements recovery.CodeInspector with one read-only
// statement.
func (s *CodeStore) Outstanding(ctx context.Context, pool, userKey string, code recovery.KeyedHash, now time.Time) (bool, error) {
	if len(code.Hash) == 0 {
		return false, nil
	}
	var ok bool
	err := queryRow(ctx, s.db, s.current, []any{pool, userKey, code.KeyID, code.Hash, now}, &ok)
	return ok, interpretError(ctx, "Outstanding", err)
}

// SweepExpired implements recovery.ExpiredSweeper: it deletes up to limit
// rows (limit <= 0: all) whose lapses_at is at or before now, oldest first,
// in one statement that walks the lapses_at index. Rows a running call holds
// are skipped. Calling it is optional (see CodeStore); a job that runs it
// every few minutes with a limit of a few thousand keeps the table small.
func (s *CodeStore) SweepExpired(ctx context.Context, now time.Time, limit int) (int, error) {
	var lim any // NULL: no LIMIT
	if limit > 0 {
		lim = int64(limit)
	}
	tag, err := exec(ctx, s.db, s.sweep, now, lim)
	if err != nil {
		return 0, interpretError(ctx, "SweepExpired", err)
	}
	return int(tag.RowsAffected()), nil
}
