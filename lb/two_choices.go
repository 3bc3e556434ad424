package lb

// twoChoices draws two distinct eligible, non-excluded members at random ("the power
// of two choices", Mitzenmacher): comparing two random candidates gets exponentially
// closer to the least loaded member than one random choice, at O(1) cost and without
// the herd a global minimum causes when many loops pick at once. b is nil when only
// one candidate was found; a is nil when none was. Each candidate gets up to 8 draws
// before the O(n) fallback (degraded sets only).
func twoChoices(m *members, rnd *Rand, now int64, p bool, ex *Exclude) (a, b *Target) {
	n := len(m.targets)
	if n == 0 {
		return nil, nil
	}
	if n == 1 {
		t := m.targets[0]
		if t.eligible(now, p) && !ex.Has(t) {
			return t, nil
		}
		return nil, nil
	}
	i := -1
	for k := 0; k < 8; k++ {
		j := rnd.Intn(n)
		if t := m.targets[j]; t.eligible(now, p) && !ex.Has(t) {
			i, a = j, t
			break
		}
	}
	if a == nil {
		a = m.firstEligible(rnd.Intn(n), now, p, ex)
		if a == nil {
			return nil, nil
		}
		for k, t := range m.targets {
			if t == a {
				i = k
				break
			}
		}
	}
	for k := 0; k < 8; k++ {
		// Draw from the n-1 others so the pair is always distinct.
		j := rnd.Intn(n - 1)
		if j >= i {
			j++
		}
		if t := m.targets[j]; t.eligible(now, p) && !ex.Has(t) {
			return a, t
		}
	}
	// Fallback: scan from just after a; wrapping back to a itself means a is alone.
	start := i + 1
	if start == n {
		start = 0
	}
	for k := 0; k < n-1; k++ {
		j := start + k
		if j >= n {
			j -= n
		}
		if t := m.targets[j]; t.eligible(now, p) && !ex.Has(t) {
			return a, t
		}
	}
	return a, nil
}
