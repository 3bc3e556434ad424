package bench

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// pacer sleeps until an intended send time. time.Sleep is not good enough for
// an open-loop schedule: the runtime rounds a timer wait up to whole
// milliseconds in epoll_pwait, so sends land ~1 ms late and a 1 ms lateness
// budget is spent by the sleep alone. A timerfd armed with nanosecond
// precision wakes the netpoller as an fd event, so the wait ends within tens of
// microseconds; the goroutine still parks (no spinning).
type pacer struct {
	f  *os.File // nil: fall back to time.Sleep
	fd int      // kept apart: File.Fd would switch the fd to blocking mode
}

func newPacer() *pacer {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return &pacer{}
	}
	return &pacer{f: os.NewFile(uintptr(fd), "timerfd"), fd: fd}
}

// sleep parks the caller for d. Waits under 20 µs return at once: they are
// below the cost of arming the timer. It returns early when close is called
// from another goroutine.
func (p *pacer) sleep(d time.Duration) {
	if d < 20*time.Microsecond {
		return
	}
	if p.f == nil {
		time.Sleep(d)
		return
	}
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
	if err := unix.TimerfdSettime(p.fd, 0, &spec, nil); err != nil {
		return // closed: the run is ending
	}
	var buf [8]byte
	p.f.Read(buf[:]) // an error means closed: the run is ending
}

// close releases the timer and wakes a sleeping caller; it may be called
// more than once and from any goroutine.
func (p *pacer) close() {
	if p.f != nil {
		p.f.Close()
	}
}
