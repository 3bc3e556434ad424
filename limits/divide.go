package limits

import "math/bits"

// divider divides by a constant chosen at run time with a multiply and
// shifts (Granlund and Montgomery, "Division by Invariant Integers using
// Multiplication", PLDI 1994, Figure 4.1). A 64-bit DIV costs tens of
// cycles on the x86 cores we run on and every decision needs one (units
// remaining = debt / interval), so each Policy precomputes its divider.
type divider struct {
	m     uint64
	shift uint8 // l - 1
	one   bool  // d == 1
}

func newDivider(d uint64) divider {
	if d == 1 {
		return divider{one: true}
	}
	l := uint(bits.Len64(d - 1)) // ceil(log2 d), d >= 2 so l >= 1
	// m = floor(2^64 * (2^l - d) / d) + 1; 2^l - d < d so the quotient fits.
	hi := (uint64(1) << l) - d
	if l == 64 {
		hi = -d // 2^64 - d in uint64 arithmetic
	}
	q, _ := bits.Div64(hi, 0, d)
	return divider{m: q + 1, shift: uint8(l - 1)}
}

// div returns n / d for any uint64 n.
func (v divider) div(n uint64) uint64 {
	if v.one {
		return n
	}
	t, _ := bits.Mul64(v.m, n)
	return (t + (n-t)>>1) >> v.shift
}
