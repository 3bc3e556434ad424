package limits

// sketch estimates recent key frequencies for TinyLFU admission (Einziger,
// Friedman and Manes, "TinyLFU: A Highly Efficient Cache Admission Policy",
// ACM TOS 2017): a doorkeeper Bloom filter in front of a count-min sketch of
// four rows of 8-bit saturating counters.
//
// The doorkeeper absorbs each key's first occurrence in a sample period, so
// a flood of one-off keys sets doorkeeper bits but never touches the
// counters; without it, one-offs raise every counter through collisions and
// their estimates approach those of real repeat visitors. Every sampleSize
// additions the doorkeeper is cleared and all counters are halved, so the
// estimate follows recent traffic and old heavy hitters fade.
//
// Not safe for concurrent use: each table shard owns one under its lock.
type sketch struct {
	counters   []uint8 // blocks of 64 counters, 16 per row
	blockMask  uint64
	door       []uint64 // doorkeeper bits
	doorMask   uint64
	additions  int
	sampleSize int
}

const sketchRows = 4

func newSketch(keys int) sketch {
	w := 16
	for w < 2*keys {
		w <<= 1
	}
	sample := 10 * keys
	// Four doorkeeper bits per addition in a period keep its false-positive
	// rate (two probes) near 5% when a period is all distinct keys.
	d := 64
	for d < 4*sample {
		d <<= 1
	}
	return sketch{
		counters:   make([]uint8, sketchRows*w),
		blockMask:  uint64(sketchRows*w/64 - 1),
		door:       make([]uint64, d/64),
		doorMask:   uint64(d - 1),
		sampleSize: sample,
	}
}

// rowHash derives a hash from h with a splitmix64 finaliser.
func rowHash(h uint64, r int) uint64 {
	x := h + uint64(r+1)*0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// index returns row r's counter for h. A key's four counters share one
// 64-byte block (one cache miss instead of four, as Caffeine's sketch does),
// each row in its own 16-counter quarter picked by independent hash bits:
// with double hashing (h1 + r*h2), two keys that meet in one row would meet
// in all of them, and a one-off key sharing a heavy hitter's counters would
// inherit its count.
func (s *sketch) index(block, x uint64, r int) int {
	return int(block<<6) + r<<4 + int(x>>(4*r)&15)
}

func (s *sketch) locate(h uint64) (block, x uint64) {
	return rowHash(h, 0) & s.blockMask, rowHash(h, 1)
}

func (s *sketch) doorBits(h uint64) (uint64, uint64) {
	x := rowHash(h, sketchRows)
	return x & s.doorMask, (x >> 32) & s.doorMask
}

func (s *sketch) inDoor(h uint64) bool {
	a, b := s.doorBits(h)
	return s.door[a>>6]&(1<<(a&63)) != 0 && s.door[b>>6]&(1<<(b&63)) != 0
}

func (s *sketch) add(h uint64) {
	s.additions++
	if s.additions >= s.sampleSize {
		s.age()
	}
	if !s.inDoor(h) {
		a, b := s.doorBits(h)
		s.door[a>>6] |= 1 << (a & 63)
		s.door[b>>6] |= 1 << (b & 63)
		return
	}
	block, x := s.locate(h)
	for r := 0; r < sketchRows; r++ {
		i := s.index(block, x, r)
		if s.counters[i] != 255 {
			s.counters[i]++
		}
	}
}

// estimate returns the key's frequency in the recent sample (saturating).
func (s *sketch) estimate(h uint64) int {
	m := uint8(255)
	block, x := s.locate(h)
	for r := 0; r < sketchRows; r++ {
		if c := s.counters[s.index(block, x, r)]; c < m {
			m = c
		}
	}
	if s.inDoor(h) {
		return int(m) + 1
	}
	return int(m)
}

// age is TinyLFU's reset: halve every counter and clear the doorkeeper.
func (s *sketch) age() {
	for i := range s.counters {
		s.counters[i] >>= 1
	}
	clear(s.door)
	s.additions /= 2
}
