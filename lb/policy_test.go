package lb

import (
	"errors"
	"fmt"
	"testing"
)

func TestNewBalancerBuildsEveryPolicy(t *testing.T) {
	want := map[string]string{
		"":                       "*lb.SmoothWeighted",
		PolicyRoundRobin:         "*lb.RoundRobin",
		PolicyWeightedRoundRobin: "*lb.SmoothWeighted",
		PolicyRandom:             "*lb.Random",
		PolicyLeastRequest:       "*lb.LeastRequest",
		PolicyPeakEWMA:           "*lb.PeakEWMA",
		PolicyRingHash:           "*lb.Ring",
	}
	if len(want) != len(Policies)+1 {
		t.Fatalf("Policies has %d names, test knows %d", len(Policies), len(want)-1)
	}
	for name, typ := range want {
		s, _ := newSet(t, SetConfig{}, 1, 1)
		b, err := NewBalancer(s, PolicyConfig{Policy: name, Seed: 1})
		if err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		if got := fmt.Sprintf("%T", b); got != typ {
			t.Fatalf("%q built %s, want %s", name, got, typ)
		}
		if b.Pick(0, 1, Exclude{}) == nil {
			t.Fatalf("%q: nil pick", name)
		}
	}
}

func TestNewBalancerRejectsUnknownPolicyAndNilSet(t *testing.T) {
	s, _ := newSet(t, SetConfig{}, 1)
	if _, err := NewBalancer(s, PolicyConfig{Policy: "fastest"}); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("unknown policy: %v", err)
	}
	for _, p := range append([]string{""}, Policies...) {
		b, err := NewBalancer(nil, PolicyConfig{Policy: p})
		if !errors.Is(err, ErrBadConfig) || b != nil {
			t.Fatalf("%q with nil set: %v, %v", p, b, err)
		}
	}
}
