package lb

import (
	"strings"
	"testing"
)

func pickSequence(tb testing.TB, b Balancer, n int, now int64) string {
	tb.Helper()
	var sb strings.Builder
	for i := 0; i < n; i++ {
		t := b.Pick(now, 0, Exclude{})
		if t == nil {
			sb.WriteByte('-')
			continue
		}
		sb.WriteString(t.Addr())
	}
	return sb.String()
}

func TestRoundRobinCyclesInOrder(t *testing.T) {
	s, _ := newSet(t, SetConfig{}, 1, 1, 1)
	if got := pickSequence(t, mustRR(t, s), 7, 0); got != "abcabca" {
		t.Fatalf("sequence %q, want abcabca", got)
	}
}

func TestRoundRobinSkipsUnavailableWithoutDoublingTheNext(t *testing.T) {
	s, ts := newSet(t, SetConfig{}, 1, 1, 1)
	ts[1].SetHealthy(false)
	got := countPicks(t, mustRR(t, s), 1000, 0)
	if got["b"] != 0 || got["a"] != 500 || got["c"] != 500 {
		t.Fatalf("counts %v, want a=500 c=500 b=0", got)
	}
}

func TestRoundRobinHonoursExclude(t *testing.T) {
	s, ts := newSet(t, SetConfig{}, 1, 1, 1)
	b := mustRR(t, s)
	var ex Exclude
	ex.Add(ts[0])
	ex.Add(ts[2])
	for i := 0; i < 10; i++ {
		if got := b.Pick(0, 0, ex); got != ts[1] {
			t.Fatalf("pick %d = %v, want b", i, got)
		}
	}
	ex.Add(ts[1])
	if got := b.Pick(0, 0, ex); got != nil {
		t.Fatalf("all excluded: got %s, want nil", got.Addr())
	}
}

func TestRoundRobinEmptySetReturnsNil(t *testing.T) {
	s, _ := newSet(t, SetConfig{})
	if got := mustRR(t, s).Pick(0, 0, Exclude{}); got != nil {
		t.Fatalf("got %v", got)
	}
}
