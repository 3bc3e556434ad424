package proxy

import "github.com/sluice-gw/sluice/http1"

// SetConnFields sets header fields sent upstream with every request of this connection, such
// as the verified client certificate subject of a TLS connection. Fields a client sends under
// the same names are dropped (http1.RequestOptions.ExtraFields), so a client cannot forge them.
// f is kept, not copied: the driver must not change it afterwards.
func (s *Session) SetConnFields(f []http1.Field) { s.connFields = f }

// withConnFields appends the connection's fields to a request's own extra fields. The joined
// list lives in the exchange, so it allocates only until the slice has grown once.
func (s *Session) withConnFields(extra []http1.Field) []http1.Field {
	if len(s.connFields) == 0 {
		return extra
	}
	if len(extra) == 0 {
		return s.connFields
	}
	s.joined = append(append(s.joined[:0], s.connFields...), extra...)
	return s.joined
}
