//go:build linux

package epoll

import (
	"fmt"
	"net"

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
