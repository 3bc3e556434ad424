//go:build linux

package epoll

import (
	"fmt"
	"net"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sockaddrOf converts an IP and port to the kernel's socket address and address family. A nil
// or unspecified IPv6 address becomes the IPv6 wildcard; IPv4 (and IPv4-mapped) addresses use
// AF_INET.
func sockaddrOf(ip net.IP, port int, zone string) (unix.Sockaddr, int, error) {
	if port < 0 || port > 65535 {
		return nil, 0, fmt.Errorf("%w: port %d out of range", ErrBadAddress, port)
	}
	if ip == nil {
		return &unix.SockaddrInet6{Port: port}, unix.AF_INET6, nil
	}
	if ip4 := ip.To4(); ip4 != nil {
		sa := &unix.SockaddrInet4{Port: port}
		copy(sa.Addr[:], ip4)
		return sa, unix.AF_INET, nil
	}
	if ip16 := ip.To16(); ip16 != nil {
		sa := &unix.SockaddrInet6{Port: port}
		copy(sa.Addr[:], ip16)
		if zone != "" {
			ifi, err := net.InterfaceByName(zone)
			if err != nil {
				return nil, 0, fmt.Errorf("%w: zone %q: %v", ErrBadAddress, zone, err)
			}
			sa.ZoneId = uint32(ifi.Index)
		}
		return sa, unix.AF_INET6, nil
	}
	return nil, 0, fmt.Errorf("%w: %v is not an IP address", ErrBadAddress, ip)
}

// tcpAddrOf converts a kernel socket address back to a *net.TCPAddr (nil for other kinds).
func tcpAddrOf(sa unix.Sockaddr) *net.TCPAddr {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: net.IPv4(sa.Addr[0], sa.Addr[1], sa.Addr[2], sa.Addr[3]), Port: sa.Port}
	case *unix.SockaddrInet6:
		ip := make(net.IP, net.IPv6len)
		copy(ip, sa.Addr[:])
		a := &net.TCPAddr{IP: ip, Port: sa.Port}
		if sa.ZoneId != 0 {
			if ifi, err := net.InterfaceByIndex(int(sa.ZoneId)); err == nil {
				a.Zone = ifi.Name
			}
		}
		return a
	}
	return nil
}

// accept4 is accept4(2) returning the peer as a *net.TCPAddr. unix.Accept4 is not used because
// its sockaddr conversion costs an extra getsockopt(SO_PROTOCOL) system call per connection.
func accept4(lfd int) (int, *net.TCPAddr, error) {
	var rsa unix.RawSockaddrAny
	n := uint32(unix.SizeofSockaddrAny)
	fd, _, e := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(lfd), uintptr(unsafe.Pointer(&rsa)),
		uintptr(unsafe.Pointer(&n)), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
	if e != 0 {
		return -1, nil, e
	}
	return int(fd), rawTCPAddr(&rsa), nil
}

// rawTCPAddr decodes an AF_INET or AF_INET6 socket address (nil for other families).
func rawTCPAddr(rsa *unix.RawSockaddrAny) *net.TCPAddr {
	switch rsa.Addr.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(rsa))
		return &net.TCPAddr{IP: net.IPv4(sa.Addr[0], sa.Addr[1], sa.Addr[2], sa.Addr[3]), Port: netPort(&sa.Port)}
	case unix.AF_INET6:
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(rsa))
		ip := make(net.IP, net.IPv6len)
		copy(ip, sa.Addr[:])
		a := &net.TCPAddr{IP: ip, Port: netPort(&sa.Port)}
		if sa.Scope_id != 0 {
			if ifi, err := net.InterfaceByIndex(int(sa.Scope_id)); err == nil {
				a.Zone = ifi.Name
			}
		}
		return a
	}
	return nil
}

// netPort reads a port stored in network byte order.
func netPort(p *uint16) int {
	b := (*[2]byte)(unsafe.Pointer(p))
	return int(b[0])<<8 | int(b[1])
}
