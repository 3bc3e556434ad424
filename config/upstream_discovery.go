package config

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// Service discovery: a target may be a DNS name instead of an address. "dns: name:port" stands
// for every A and AAAA record of name, at port; "srv: _service._proto.name" for every SRV
// record of the name (each with its own port), as a Kubernetes headless service publishes.
// The gateway re-resolves both on the records' TTL.

// discoveryDecoders adds the dns and srv fields to a target's decoders.
func (d *configDecoder) discoveryDecoders(t *Target, fd fieldDecoders) {
	fd["dns"] = func(v *yaml.Node, p string) {
		s, ok := d.str(v, p)
		if !ok {
			return
		}
		if err := checkDNSTarget(s); err != nil {
			d.errorf(deref(v), p, "%v", err)
			return
		}
		t.DNS = s
	}
	fd["srv"] = func(v *yaml.Node, p string) {
		s, ok := d.str(v, p)
		if !ok {
			return
		}
		if err := checkSRVName(s); err != nil {
			d.errorf(deref(v), p, "%v", err)
			return
		}
		t.SRV = s
	}
}

// checkTargetKind reports a target with none or more than one of address, dns and srv.
func (d *configDecoder) checkTargetKind(seen map[string]*yaml.Node, it *yaml.Node, path string) {
	if seen == nil {
		return
	}
	var kinds []string
	for _, k := range []string{"address", "dns", "srv"} {
		if seen[k] != nil {
			kinds = append(kinds, k)
		}
	}
	switch {
	case len(kinds) == 0:
		// Named after the usual field; docs/config.md lists dns and srv beside it.
		d.errorf(it, field(path, "address"), "missing required field \"address\"")
	case len(kinds) > 1:
		d.errorf(deref(seen[kinds[1]]), field(path, kinds[1]), "a target has one of address, dns and srv (this one has %s)", strings.Join(kinds, " and "))
	}
}

// checkDNSTarget accepts "name:port" where name is a DNS name (an IP address needs no
// resolving: use address).
func checkDNSTarget(s string) error {
	if err := checkHostPort(s, false); err != nil {
		return err
	}
	host := s[:strings.LastIndexByte(s, ':')]
	if strings.HasPrefix(host, "[") || looksLikeIPv4(host) {
		return fmt.Errorf("dns %q is an IP address (use address for a fixed target)", s)
	}
	return nil
}

// checkSRVName accepts "_service._proto.name" (RFC 2782).
func checkSRVName(s string) error {
	parts := strings.SplitN(s, ".", 3)
	if len(parts) < 3 || len(parts[0]) < 2 || parts[0][0] != '_' || len(parts[1]) < 2 || parts[1][0] != '_' {
		return fmt.Errorf("srv %q is not of the form _service._proto.name (for example \"_http._tcp.users.default.svc.cluster.local\")", s)
	}
	if err := checkHostname(strings.TrimSuffix(parts[2], ".")); err != nil {
		return fmt.Errorf("srv %q: %v", s, err)
	}
	return nil
}

func formatTarget(t Target) *yaml.Node {
	switch {
	case t.DNS != "":
		return mapping("dns", str(t.DNS), "weight", num(int64(t.Weight)))
	case t.SRV != "":
		return mapping("srv", str(t.SRV), "weight", num(int64(t.Weight)))
	}
	return mapping("address", str(t.Address), "weight", num(int64(t.Weight)))
}
