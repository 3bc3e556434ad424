//go:build !linux

package config

// DefaultEngine is gnet where the epoll backend does not exist.
const DefaultEngine = EngineGnet
