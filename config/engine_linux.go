//go:build linux

package config

// DefaultEngine is the project's own epoll loop on Linux: it is the faster backend in
// `make bench-peers` and the only one with real TCP backpressure (docs/ARCHITECTURE.md).
const DefaultEngine = EngineEpoll
