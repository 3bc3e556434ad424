package lb

import (
	"fmt"
	"strings"
)

// Policy names, as the configuration spells them.
const (
	PolicyRoundRobin         = "round_robin"          // RoundRobin, weights ignored
	PolicyWeightedRoundRobin = "weighted_round_robin" // SmoothWeighted (the default)
	PolicyRandom             = "random"               // Random, weighted
	PolicyLeastRequest       = "least_request"        // LeastRequest, power of two choices
	PolicyPeakEWMA           = "peak_ewma"            // PeakEWMA
	PolicyRingHash           = "ring_hash"            // Ring, consistent hashing (bounded with LoadFactor)
)

// Policies lists the accepted policy names.
var Policies = []string{
	PolicyRoundRobin, PolicyWeightedRoundRobin, PolicyRandom,
	PolicyLeastRequest, PolicyPeakEWMA, PolicyRingHash,
}

// PolicyConfig selects and configures a balancer for NewBalancer.
type PolicyConfig struct {
	// Policy is one of Policies; "" means PolicyWeightedRoundRobin, which equals
	// plain round robin when all weights are equal.
	Policy string
	// Seed seeds the Rand of the random, least-request and peak-EWMA policies.
	Seed uint64
	// Ring configures PolicyRingHash.
	Ring RingConfig
}

// NewBalancer builds the balancer cfg names over s: the one entry point the
// configuration layer needs.
func NewBalancer(s *Set, cfg PolicyConfig) (Balancer, error) {
	switch cfg.Policy {
	case PolicyRoundRobin:
		return asBalancer(NewRoundRobin(s))
	case PolicyWeightedRoundRobin, "":
		return asBalancer(NewSmoothWeighted(s))
	case PolicyRandom:
		return asBalancer(NewRandom(s, NewRand(cfg.Seed)))
	case PolicyLeastRequest:
		return asBalancer(NewLeastRequest(s, NewRand(cfg.Seed)))
	case PolicyPeakEWMA:
		return asBalancer(NewPeakEWMA(s, NewRand(cfg.Seed)))
	case PolicyRingHash:
		return asBalancer(NewRing(s, cfg.Ring))
	}
	return nil, fmt.Errorf("%w: unknown policy %q (want one of %s)", ErrBadConfig, cfg.Policy, strings.Join(Policies, ", "))
}

// asBalancer keeps a failed constructor's typed nil pointer out of the interface, so
// that a caller checking b == nil is not fooled.
func asBalancer[B Balancer](b B, err error) (Balancer, error) {
	if err != nil {
		return nil, err
	}
	return b, nil
}
