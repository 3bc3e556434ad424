// Package engine owns the event loops: listening sockets, the connections on them (downstream
// clients and the upstream connections enrolled beside them), cross-loop tasks and per-loop time.
//
// The gateway sees only the small Conn, Loop and Handler interfaces below, so the same proxy code
// runs on every backend: gnet (portable, kqueue too) and, on Linux, the project's own epoll loop.
package engine
