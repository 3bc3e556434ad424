//go:build linux

package epoll

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Wait strategies, chosen by waitMode. Only waitRaw is used in production; the others exist so
// the choice can be measured in the same build (bench_test.go, measure_test.go).
const (
	// waitRaw: every wait, blocking or not, is a raw epoll_pwait. A blocking wait returns at
	// once when events are ready, so nothing is gained by probing first.
	waitRaw = iota
	// waitRuntime: the blocking wait goes through the runtime (unix.EpollWait), which lets
	// sysmon hand the P away while the loop sleeps: what gnet and the standard library do.
	waitRuntime
	// waitProbe: after a wake-up that found events, one non-blocking wait first; block (raw)
	// only when it finds nothing (the extra poll after each batch DESIGN.md describes for gnet).
	waitProbe
)

// waitMode is set before Start and never changed while loops run.
var waitMode = waitRaw

// epollWait is epoll_pwait(2) with a NULL signal mask, which is epoll_wait(2); epoll_pwait is
// used because arm64 and loong64 have no epoll_wait system call.
//
// It is a raw system call on purpose: the calling goroutine keeps its P while the thread sleeps
// in the kernel, so sysmon never hands the P away on each sleep and the loop never has to win it
// back on each wake (package doc). It is marked noinline so that the retry after EINTR always
// goes through a function prologue, where a pending preemption request is honoured.
//
//go:noinline
func epollWait(epfd int, events []unix.EpollEvent, msec int) (int, unix.Errno) {
	if waitMode == waitRuntime && msec != 0 {
		n, err := unix.EpollWait(epfd, events, msec)
		if err != nil {
			return 0, err.(unix.Errno)
		}
		return n, 0
	}
	r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd),
		uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), uintptr(msec), 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), 0
}
