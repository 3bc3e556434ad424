//go:build linux

package epoll

import (
	"net"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

func TestRawTCPAddrDecodesBothFamilies(t *testing.T) {
	var any4 unix.RawSockaddrAny
	sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(&any4))
	sa4.Family = unix.AF_INET
	sa4.Addr = [4]byte{127, 0, 0, 1}
	*(*[2]byte)(unsafe.Pointer(&sa4.Port)) = [2]byte{0x1f, 0x90} // 8080, network order
	if got := rawTCPAddr(&any4); got == nil || got.String() != "127.0.0.1:8080" {
		t.Errorf("AF_INET decoded as %v, want 127.0.0.1:8080", got)
	}

	var any6 unix.RawSockaddrAny
	sa6 := (*unix.RawSockaddrInet6)(unsafe.Pointer(&any6))
	sa6.Family = unix.AF_INET6
	copy(sa6.Addr[:], net.ParseIP("2001:db8::7"))
	*(*[2]byte)(unsafe.Pointer(&sa6.Port)) = [2]byte{0xff, 0xfe} // 65534
	if got := rawTCPAddr(&any6); got == nil || got.String() != "[2001:db8::7]:65534" {
		t.Errorf("AF_INET6 decoded as %v, want [2001:db8::7]:65534", got)
	}

	// An IPv4 client of a dual-stack listener arrives v4-mapped and prints as IPv4.
	copy(sa6.Addr[:], net.ParseIP("::ffff:127.0.0.1"))
	if got := rawTCPAddr(&any6); got == nil || got.String() != "127.0.0.1:65534" {
		t.Errorf("v4-mapped decoded as %v, want 127.0.0.1:65534", got)
	}

	var unixAddr unix.RawSockaddrAny
	unixAddr.Addr.Family = unix.AF_UNIX
	if got := rawTCPAddr(&unixAddr); got != nil {
		t.Errorf("AF_UNIX decoded as %v, want nil", got)
	}
}

func TestSockaddrOfRejectsBadPorts(t *testing.T) {
	for _, port := range []int{-1, 65536} {
		if _, _, err := sockaddrOf(net.IPv4(127, 0, 0, 1), port, ""); err == nil {
			t.Errorf("sockaddrOf port %d succeeded", port)
		}
	}
	if _, d, err := sockaddrOf(nil, 80, ""); err != nil || d != unix.AF_INET6 {
		t.Errorf("wildcard: family %d, %v; want AF_INET6", d, err)
	}
	if _, d, err := sockaddrOf(net.ParseIP("::ffff:10.0.0.1"), 80, ""); err != nil || d != unix.AF_INET {
		t.Errorf("v4-mapped: family %d, %v; want AF_INET", d, err)
	}
}
