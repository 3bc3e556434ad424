//go:build linux

package epoll

import (
	"runtime"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/engine"
)

// TestStopTheWorldReachesSleepingLoops checks the other side of the raw blocking wait: loops
// asleep in epoll_wait hold their Ps, so a stop-the-world (runtime.GC) must get them back
// through the preemption signal (EINTR) rather than hang: a loop that went straight back into
// the wait without reaching a preemption point would keep the collection waiting forever.
// The bound is loose on purpose (the machine is shared); the logged figure is the real one.
func TestStopTheWorldReachesSleepingLoops(t *testing.T) {
	s, err := Start(&echoHandler{}, []string{"127.0.0.1:0"}, engine.Options{Loops: 2, TickInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	time.Sleep(20 * time.Millisecond) // let the loops fall asleep
	var worst time.Duration
	for i := 0; i < 20; i++ {
		begin := time.Now()
		runtime.GC()
		if d := time.Since(begin); d > worst {
			worst = d
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("slowest of 20 runtime.GC() with 2 sleeping loops: %v", worst)
	if worst > time.Second {
		t.Fatalf("runtime.GC() took %v with loops asleep in epoll_wait", worst)
	}
	// The loops still serve after being preempted.
	c := dialClients(t, s.Addrs()[0].String(), 1)[0]
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if err := pingOnce(c, []byte("after gc"), make([]byte, 8), 1); err != nil {
		t.Fatal(err)
	}
}
