package limits

// sketch is a count-min sketch of recent key frequencies (TinyLFU's
// admission filter, Einziger, Friedman and Manes, "TinyLFU: A Highly
// Efficient Cache Admission Policy", 2017). Four rows of 8-bit saturating
// counters; every sampleSize additions all counters are halved, so the
// estimate follows recent traffic and old heavy hitters fade. Not safe for
// concurrent use: each table shard owns one under its lock.
type sketch struct {
	counters   []uint8 // rows * width
	widthMask  uint64
	additions  int
	sampleSize int
}

const sketchRows = 4

func newSketch(keys int) sketch {
	w := 16
	for w < keys {
		w <<= 1
	}
	return sketch{
		counters:   make([]uint8, sketchRows*w),
		widthMask:  uint64(w - 1),
		sampleSize: 10 * keys,
	}
}

// index returns row r's counter for hash h. The hash is remixed so that the
// sketch's positions do not correlate with the shard and slot bits of h.
func (s *sketch) index(h uint64, r int) int {
	x := h * 0x9e3779b97f4a7c15
	h1, h2 := x>>32, x|1
	return r*int(s.widthMask+1) + int((h1+uint64(r)*h2)&s.widthMask)
}

func (s *sketch) add(h uint64) {
	for r := 0; r < sketchRows; r++ {
		i := s.index(h, r)
		if s.counters[i] != 255 {
			s.counters[i]++
		}
	}
	s.additions++
	if s.additions >= s.sampleSize {
		s.age()
	}
}

func (s *sketch) estimate(h uint64) uint8 {
	m := uint8(255)
	for r := 0; r < sketchRows; r++ {
		if c := s.counters[s.index(h, r)]; c < m {
			m = c
		}
	}
	return m
}

// age halves every counter (the TinyLFU "reset" operation).
func (s *sketch) age() {
	for i := range s.counters {
		s.counters[i] >>= 1
	}
	s.additions /= 2
}
