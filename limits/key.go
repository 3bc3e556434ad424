package limits

import "encoding/binary"

// AppendKeyPart appends one component of a composite rate-limit key (client
// IP, consumer, route, a header value) to dst, prefixed with its length.
//
// Build keys with it rather than joining parts with a separator: a client
// that controls one part (a header) could otherwise embed the separator and
// forge another client's key, e.g. route "a" + header "b|c" and route "a|b"
// + header "c" both join to "a|b|c". Length prefixes make the encoding
// injective. Reuse dst across requests to stay allocation-free.
func AppendKeyPart(dst, part []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(part)))
	return append(dst, part...)
}

// AppendKeyString is AppendKeyPart for a string part.
func AppendKeyString(dst []byte, part string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(part)))
	return append(dst, part...)
}
