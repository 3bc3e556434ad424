//go:build linux

// Package epoll is Sluice's own Linux event-loop backend for the engine interfaces: one loop
// goroutine per core, each with its own SO_REUSEPORT listeners and a level-triggered epoll set,
// whose blocking epoll_wait is a raw system call so that sleeping does not cost a P hand-off.
//
// # Why a raw blocking wait
//
// A blocking system call made through the runtime (syscall.Syscall, unix.EpollWait) puts the
// goroutine and its P into the syscall state: sysmon watches such Ps at its shortest interval
// and may retake and hand them off, and on return exitsyscall has to get the P back, waking
// other threads on the way. An event loop at moderate load sleeps between most requests and
// pays that on nearly every one: measured with Go 1.26 at 1000 req/s, 1.2 futex and 1.9
// nanosleep calls (strace -k: sysmon's sleep loop, exitsyscall's wake-ups) and 2 extra context
// switches per request. A raw system call (unix.RawSyscall6) keeps the P while the thread
// sleeps in the kernel, so none of that happens. See docs/ENGINE-EPOLL.md for the numbers.
//
// The price is that the P is busy for the runtime while the loop sleeps: the only way the
// scheduler gets it back is the preemption signal (SIGURG), which interrupts epoll_wait with
// EINTR. So Start makes sure the process has more Ps than loops (GOMAXPROCS >= loops+1), the
// loop yields (runtime.Gosched) on EINTR so a pending preemption or stop-the-world completes,
// it also yields between batches every 5ms so that sysmon never needs that signal while a
// batch is in progress, and cross-goroutine wake-ups (Execute, Dial, Stop) go through an
// eventfd in the epoll set.
//
// # Concurrency contract
//
// As in package engine: every Handler call and every Dial callback or Execute task for a loop
// runs on that loop's goroutine, one at a time. Conn methods may be called only there, except
// Conn.Loop. Loop.Execute, Loop.Dial, Loop.Now and all Server methods are safe from any
// goroutine. Server.StopAccepting does not wait for the loops and may be called from a
// handler; Server.Stop and Server.Wait block until the loops have ended, so a handler that
// wants to stop the server calls them in a new goroutine.
package epoll
