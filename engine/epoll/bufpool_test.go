//go:build linux

package epoll

import (
	"bytes"
	"testing"
)

func TestBufPoolClassesAreRoundedPowersOfTwo(t *testing.T) {
	cases := []struct{ n, wantCap int }{
		{1, 4 << 10}, {4 << 10, 4 << 10}, {4<<10 + 1, 8 << 10}, {100 << 10, 128 << 10},
		{1 << 20, 1 << 20}, {1<<20 + 1, 2 << 20}, {5 << 20, 8 << 20},
	}
	var p bufPool
	p.limit = poolLimit
	for _, c := range cases {
		b := p.get(c.n)
		if len(b) != cap(b) || cap(b) != c.wantCap {
			t.Errorf("get(%d): len %d cap %d, want len = cap = %d", c.n, len(b), cap(b), c.wantCap)
		}
	}
}

func TestBufPoolReusesAndRespectsItsLimit(t *testing.T) {
	p := bufPool{limit: 8 << 10}
	a := p.get(100)
	a[0] = 42
	p.put(a)
	if b := p.get(10); &b[0] != &a[0] {
		t.Error("a returned 4 KiB buffer was not reused")
	}
	p.put(make([]byte, 4<<10))
	p.put(make([]byte, 4<<10))
	p.put(make([]byte, 4<<10)) // over the 8 KiB limit: dropped
	if p.held != 8<<10 {
		t.Errorf("pool holds %d bytes, want its limit %d", p.held, 8<<10)
	}
	p.put(make([]byte, 3000))  // not a class size: dropped
	p.put(make([]byte, 2<<20)) // above the largest class: dropped
	p.put(nil)
	if p.held != 8<<10 {
		t.Errorf("pool holds %d bytes after foreign buffers, want %d", p.held, 8<<10)
	}
}

// FuzzInboundBuffering drives a connection's inbound buffering (reads appended behind
// leftovers, partial Discards, leftovers moved out of the shared read buffer after OnData)
// with arbitrary operation sequences and checks Peek against a plain byte-slice model.
func FuzzInboundBuffering(f *testing.F) {
	f.Add([]byte{0x10, 0x85, 0x20, 0x41, 0xff, 0x03})
	f.Add([]byte{0xf0, 0xf0, 0xf0, 0x01, 0x02, 0x7f, 0x7f})
	f.Fuzz(func(t *testing.T, ops []byte) {
		l := &loop{buf: make([]byte, 8<<10)}
		l.bufs.limit = 64 << 10
		c := &conn{loop: l}
		var model []byte
		seq := 0
		for i := 0; i+1 < len(ops); i += 2 {
			n := int(ops[i+1]) * 37 // up to ~9.4 KiB, more than the read buffer
			switch ops[i] % 3 {
			case 0, 1: // a read of n bytes (capped at the read buffer), then OnData
				n = min(n, len(l.buf))
				for k := 0; k < n; k++ {
					l.buf[k] = byte(seq)
					model = append(model, byte(seq))
					seq++
				}
				if len(c.rd) == 0 {
					c.rd, c.rdLoop = l.buf[:n], true
				} else {
					c.appendIn(l.buf[:n])
				}
				if !bytes.Equal(c.Peek(), model) {
					t.Fatalf("op %d: Peek after a read differs from the model", i/2)
				}
				if ops[i]%3 == 1 { // the handler consumes some during OnData
					d := min(n/2, len(model))
					c.Discard(d)
					model = model[d:]
				}
				c.keepUnconsumed()
				for k := range l.buf { // the next read overwrites the shared buffer
					l.buf[k] = 0xEE
				}
			case 2: // Discard outside OnData (a task)
				d := min(n, len(model))
				c.Discard(d)
				model = model[d:]
			}
			if !bytes.Equal(c.Peek(), model) {
				t.Fatalf("op %d: Peek = %d bytes, model %d bytes, contents differ", i/2, len(c.Peek()), len(model))
			}
			if len(model) == 0 && c.in != nil {
				t.Fatalf("op %d: empty connection still owns a %d-byte buffer", i/2, cap(c.in))
			}
		}
	})
}
