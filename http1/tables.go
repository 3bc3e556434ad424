package http1

// Byte-class tables: one load per byte in the inner loops, no branches on ranges.
var (
	tokenTable  [256]bool // tchar, RFC 9110 5.6.2
	valueTable  [256]bool // field-vchar / SP / HTAB, RFC 9110 5.5 (obs-text allowed)
	targetTable [256]bool // request-target bytes accepted, see isTargetByte
	hostTable   [256]bool // reg-name and port bytes, RFC 3986 3.2.2
	lowerTable  [256]byte // ASCII lower case
)

func init() {
	for c := 0; c < 256; c++ {
		b := byte(c)
		lowerTable[c] = b
		if 'A' <= b && b <= 'Z' {
			lowerTable[c] = b + 'a' - 'A'
		}
		alnum := 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9'
		tokenTable[c] = alnum || b != 0 && indexOf("!#$%&'*+-.^_`|~", b)
		valueTable[c] = b == '\t' || b >= 0x20 && b != 0x7f
		targetTable[c] = isTargetByte(b)
		hostTable[c] = alnum || b != 0 && indexOf("-._~%!$&'()*+,;=:", b)
	}
}

// isTargetByte: printable ASCII except '#'. RFC 9112 3.2 request-targets carry no fragment, so
// '#' (which llhttp accepts) is rejected instead of guessing where the query ends. Bytes the
// RFC 3986 grammar leaves out but real clients send unescaped in queries ('|', '{', '"', ...)
// are accepted: they cannot change where the target ends. Non-ASCII, controls and DEL are not.
func isTargetByte(b byte) bool {
	return b > 0x20 && b < 0x7f && b != '#'
}

func indexOf(s string, b byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return true
		}
	}
	return false
}
