package pgxstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/recoverykit/recoverykit/recovery"
)

// findIssueSQL wraps find, a statement answering at most one row with the
// columns cols (the last one, decoy, true when the row only stands in for
// nobody found), into recovery.CodeIssuingFinder's one statement: the
// expressions out over the row, f (all NULL when none: out coalesces
// what its scan targets cannot hold), whether eligible (an SQL condition over f.*
// and $media) holds for a row that is no decoy, and the outcome of
// recovery_issue for the code and key its verdict calls for. Parameters
// from $n on are issueArgs'. When nobody is found and no unknown key is
// given, it answers no row and issues nothing.
//
// The code hash of an eligible user is bound to the user here, as
// recovery.BoundCode does: sha256(hash || 'u:' || sub).
func findIssueSQL(find string, cols, out []string, eligible string, n int, codesSchema string) string {
	p := func(i int) string { return fmt.Sprintf("$%d", n+i) }
	eligible = strings.ReplaceAll(eligible, "$media", p(13))
	return fmt.Sprintf(`WITH f AS (SELECT * FROM (%s) AS found (%s))
	SELECT %s, e.eligible, %srecovery_issue(%s, coalesce(CASE WHEN e.found THEN 'u:' || f.sub END, %s),
		CASE WHEN e.eligible THEN %s ELSE %s END,
		CASE WHEN e.eligible THEN sha256(%s || convert_to('u:' || f.sub, 'UTF8')) ELSE %s END,
		%s, %s, %s, %s, %s, %s, %s)
	FROM (SELECT) AS one LEFT JOIN f ON true
	CROSS JOIN LATERAL (SELECT coalesce(NOT f.decoy, false) AS found) AS r
	CROSS JOIN LATERAL (SELECT r.found, r.found AND coalesce(%s, false) AS eligible) AS e
	WHERE e.found OR %s IS NOT NULL`,
		find, strings.Join(cols, ", "), strings.Join(out, ", "), qualifier(codesSchema),
		p(0), p(1), p(2), p(4), p(3), p(5), p(6), p(7), p(8), p(9), p(10), p(11), p(12), eligible, p(1))
}

// issueArgs are findIssueSQL's parameters: pool, the unknown key (NULL for
// none), the code's key id and hash, the unusable key id and hash, expiry,
// now, the limits and the media.
func issueArgs(pool string, p recovery.FindIssueParams) []any {
	l := p.Limits
	var unknown *string
	if p.UnknownKey != "" {
		unknown = &p.UnknownKey
	}
	media := make([]string, len(p.Media))
	for i, m := range p.Media {
		media[i] = string(m)
	}
	return []any{pool, unknown, p.Code.KeyID, p.Code.Hash, p.Unusable.KeyID, p.Unusable.Hash,
		p.ExpiresAt, p.Now, int32(l.Budget), int32(l.FailureBudget), l.Window, int32(l.MaxFailures), l.Cooldown, media}
}

// findIssue runs a findIssueSQL statement, scanning the row found into
// dest, and answers the store's verdict and the outcome; ok is false when
// the statement answered no row (nobody found, nothing issued).
func findIssue(ctx context.Context, db DBTX, sql string, args []any, dest ...any) (r recovery.FoundIssue, ok bool, err error) {
	var outcome *int32
	err = queryRow(ctx, db, sql, args, append(dest, &r.Eligible, &outcome)...)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return r, false, nil
	case err != nil:
		return r, false, interpretError(ctx, "FindUserIssuing", err)
	}
	if outcome != nil {
		r.Outcome = recovery.Outcome(*outcome)
	}
	return r, true, nil
}
