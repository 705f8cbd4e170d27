package faultload

import (
	"fmt"
	"slices"
	"testing"
)

// violations reports broken invariants, a few of each kind in full.
type violations struct {
	t     testing.TB
	phase string
	n     map[string]int
	total int
}

// newViolations reports to t the violations of one phase.
func newViolations(t testing.TB, phase string) *violations {
	return &violations{t: t, phase: phase, n: map[string]int{}}
}

// violationsShown is how many violations of one kind are shown in full.
const violationsShown = 5

// add reports a violation of kind, in full while few of that kind were.
func (v *violations) add(kind, format string, args ...any) {
	v.t.Helper()
	v.n[kind]++
	v.total++
	switch n := v.n[kind]; {
	case n <= violationsShown:
		v.t.Errorf("phase %s: %s: %s", v.phase, kind, fmt.Sprintf(format, args...))
	case n == violationsShown+1:
		v.t.Errorf("phase %s: %s: more of these follow, not shown", v.phase, kind)
	}
}

// byUser groups ops per user, each group in order of start.
func byUser(ops []*faultOp, users int) [][]*faultOp {
	g := make([][]*faultOp, users)
	for _, op := range ops {
		g[op.user] = append(g[op.user], op)
	}
	for _, ops := range g {
		slices.SortFunc(ops, func(a, b *faultOp) int { return int(a.start - b.start) })
	}
	return g
}
