//go:build unix

package gnet

import "golang.org/x/sys/unix"

func shutdownWrite(fd int) error { return unix.Shutdown(fd, unix.SHUT_WR) }
