//go:build linux

package epoll

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// useRuntimeWait switches the blocking wait to unix.EpollWait (through the runtime's
// entersyscall/exitsyscall) instead of the raw call. It exists only so that the two can be
// measured against each other in the same build (see wait_compare_test.go); it is set before
// Start and never changed while loops run.
var useRuntimeWait = false

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
	if useRuntimeWait && msec != 0 {
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
