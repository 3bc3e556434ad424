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

// AppendKeyText appends a readable form of a key built with AppendKeyPart: the parts joined
// with "+", bytes outside printable ASCII (and '+' and '%') percent-encoded, so that two keys
// read differently whenever they differ. For operators (the top refused keys), not for lookups.
func AppendKeyText(dst, key []byte) []byte {
	const hexd = "0123456789ABCDEF"
	for first := true; len(key) > 0; first = false {
		n, w := binary.Uvarint(key)
		if w <= 0 || uint64(len(key)-w) < n {
			return append(dst, "<bad key>"...)
		}
		part := key[w : w+int(n)]
		key = key[w+int(n):]
		if !first {
			dst = append(dst, '+')
		}
		for _, c := range part {
			if c <= ' ' || c >= 0x7f || c == '+' || c == '%' {
				dst = append(dst, '%', hexd[c>>4], hexd[c&0xf])
				continue
			}
			dst = append(dst, c)
		}
	}
	return dst
}
