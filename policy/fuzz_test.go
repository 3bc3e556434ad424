package policy

import (
	"net/netip"
	"testing"

	"github.com/sluice-gw/sluice/http1"
	"github.com/sluice-gw/sluice/proxy"
)

// FuzzParseKey: the key notation parser never panics, and what it accepts
// formats back to a notation that parses to the same parts.
func FuzzParseKey(f *testing.F) {
	for _, s := range []string{"client_ip", "route", "header:X-Api-Key", "client_ip+route", " header:a + route ", "", "+", "header:", "header:a b", "route+route"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		parts, err := ParseKey(s)
		if err != nil {
			return
		}
		again, err := ParseKey(FormatKey(parts))
		if err != nil || len(again) != len(parts) {
			t.Fatalf("%q -> %q does not parse back: %v", s, FormatKey(parts), err)
		}
		for i := range parts {
			if parts[i] != again[i] {
				t.Fatalf("%q: part %d %+v became %+v", s, i, parts[i], again[i])
			}
		}
	})
}

// FuzzClientIPKey: any X-Forwarded-For value yields a key naming either the
// peer or an address the header carried, never panics, and a client can only
// choose its key through entries right of the last trusted hop.
func FuzzClientIPKey(f *testing.F) {
	for _, s := range []string{"203.0.113.5", "1.1.1.1, 10.0.0.2", "::1, 10.0.0.3", "garbage", ",,,", "fe80::1%eth0", " 2001:db8::1 ,10.9.9.9"} {
		f.Add(s)
	}
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	k := Key{Parts: []KeyPart{{Kind: KeyClientIP}}, Trusted: trusted}
	f.Fuzz(func(t *testing.T, xff string) {
		r := &http1.Request{}
		head := "GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: " + xff + "\r\n\r\n"
		if _, err := http1.ParseRequest([]byte(head), r); err != nil {
			return
		}
		peer := netip.MustParseAddr("10.0.0.1")
		c := &proxy.FilterContext{Req: r, Peer: peer, ClientIP: peer.AppendTo(nil)}
		key := k.Append(nil, c)
		if len(key) == 0 || int(key[0]) != len(key)-1 {
			t.Fatalf("key %q is not one length-prefixed part", key)
		}
		if _, err := netip.ParseAddr(string(key[1:])); err != nil {
			t.Fatalf("key %q does not name an address: %v", key, err)
		}
	})
}
