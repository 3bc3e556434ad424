package http1

import (
	"math"
	"strconv"
)

// The chunked transfer coding, RFC 9112 section 7.1:
//
//	chunked-body    = *chunk last-chunk trailer-section CRLF
//	chunk           = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//	chunk-size      = 1*HEXDIG
//	last-chunk      = 1*("0") [ chunk-ext ] CRLF
//	chunk-ext       = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
//	chunk-ext-name  = token
//	chunk-ext-val   = token / quoted-string
//	trailer-section = *( field-line CRLF )
//
// A proxy forwards the bytes the decoder consumed unchanged, so the decoder
// accepts exactly this grammar and nothing looser: whatever reaches the next
// hop has been checked byte by byte, and no other parser can read a different
// message boundary out of it (request smuggling, RFC 9112 section 11.2).

// Chunked-body errors. Each is a 400: the body cannot be framed, so the
// connection must be closed after answering.
var (
	// ErrChunkSizeMissing: a chunk line does not start with a hex digit
	// (empty size, sign, leading whitespace).
	ErrChunkSizeMissing = &Error{Status: 400, Reason: "missing chunk size"}
	// ErrBadChunkSize: the hex digits are followed by something that is
	// neither a chunk-ext nor CRLF ("0x1a", "5 \r\n", "12g").
	ErrBadChunkSize = &Error{Status: 400, Reason: "bad chunk size"}
	// ErrChunkSizeOverflow: the chunk size exceeds int64 or MaxChunkSize.
	ErrChunkSizeOverflow = &Error{Status: 400, Reason: "chunk size too large"}
	// ErrBadChunkExt: the chunk-ext does not match RFC 9112 section 7.1.1.
	ErrBadChunkExt = &Error{Status: 400, Reason: "bad chunk extension"}
	// ErrChunkLineTooLong: a chunk-ext is longer than MaxExtBytes (size
	// digits past the 16th count as extension bytes).
	ErrChunkLineTooLong = &Error{Status: 400, Reason: "chunk line too long"}
	// ErrChunkBareCR: a CR in the chunked framing is not followed by LF.
	ErrChunkBareCR = &Error{Status: 400, Reason: "bare cr in chunked body"}
	// ErrChunkBareLF: a line of the chunked framing ends in LF without CR.
	// RFC 9112 section 2.2 lets a recipient accept a bare LF in the head,
	// never in the chunked framing (erratum 7633).
	ErrChunkBareLF = &Error{Status: 400, Reason: "bare lf in chunked body"}
	// ErrMissingChunkCRLF: the chunk-data is not followed by CRLF, i.e. the
	// chunk is longer than its size says.
	ErrMissingChunkCRLF = &Error{Status: 400, Reason: "missing crlf after chunk data"}
	// ErrTrailerTooLarge: the trailer section exceeds MaxTrailerBytes.
	ErrTrailerTooLarge = &Error{Status: 400, Reason: "trailer section too large"}
	// ErrBadTrailerName: a trailer field name is empty, holds a non-token
	// byte, is followed by whitespace before the colon (RFC 9112 section
	// 5.1) or the line has no colon at all.
	ErrBadTrailerName = &Error{Status: 400, Reason: "bad trailer field name"}
	// ErrBadTrailerValue: a trailer field value holds a control byte.
	ErrBadTrailerValue = &Error{Status: 400, Reason: "bad trailer field value"}
	// ErrTrailerObsFold: a trailer line starts with whitespace (line
	// folding, obsolete and rejected per RFC 9112 section 5.2).
	ErrTrailerObsFold = &Error{Status: 400, Reason: "obs-fold in trailer section"}
	// ErrForbiddenTrailer: a trailer field names message framing or routing
	// (Content-Length, Transfer-Encoding, Host). RFC 9110 section 6.5.1
	// forbids sending them as trailers; a downstream that merges trailers
	// into the header section would act on them, so they never pass.
	ErrForbiddenTrailer = &Error{Status: 400, Reason: "forbidden trailer field"}
)

// Decoder defaults.
const (
	DefaultMaxTrailerBytes = 8 << 10
	DefaultMaxExtBytes     = 1 << 10
)

// maxSizeDigits is the room a chunk line gets for its size outside the
// MaxExtBytes budget: 16 hex digits hold any int64.
const maxSizeDigits = 16

type chunkState uint8

const (
	stSizeStart        chunkState = iota // first HEXDIG of chunk-size
	stSize                               // more HEXDIG, BWS, ';' or CR
	stSizeWS                             // BWS after the size: only BWS or ';'
	stExtNameStart                       // after ';': BWS or the first tchar of the name
	stExtName                            // tchar, BWS, '=', ';' or CR
	stExtNameWS                          // BWS after the name: BWS, '=' or ';'
	stExtValStart                        // after '=': BWS, DQUOTE or tchar
	stExtValToken                        // tchar, BWS, ';' or CR
	stExtValQuoted                       // inside a quoted-string
	stExtValQuotedPair                   // after '\' inside a quoted-string
	stExtValEnd                          // after the closing DQUOTE: BWS, ';' or CR
	stExtValWS                           // BWS after a value: BWS or ';'
	stLineLF                             // CR ended a chunk line, LF must follow
	stData                               // chunk-data
	stDataCR                             // CR after chunk-data
	stDataLF                             // LF after chunk-data
	stTrailerLineStart                   // a field line or the final CRLF
	stTrailerName                        // field-name up to ':'
	stTrailerValue                       // OWS field-value OWS up to CR
	stTrailerLF                          // LF ending a field line
	stEndLF                              // LF of the final CRLF
	stDone                               // message complete
	stFailed                             // err is set
)

// ChunkedDecoder decodes a chunked message body incrementally, in place:
// it never copies body bytes and never allocates.
//
// The zero value is ready to use with the default limits. A decoder is owned
// by one goroutine (one connection); it is not safe for concurrent use.
type ChunkedDecoder struct {
	// MaxTrailerBytes bounds the trailer section, CRLFs included; zero
	// means DefaultMaxTrailerBytes.
	MaxTrailerBytes int
	// MaxExtBytes bounds the chunk-ext of each chunk line; zero means
	// DefaultMaxExtBytes. The ';' counts; leading zeros that make the size
	// longer than 16 digits count too, so every chunk line is bounded.
	MaxExtBytes int
	// MaxChunkSize bounds a single chunk's size; zero means math.MaxInt64.
	// It bounds framing, not the body: callers limit the body with BodyLen.
	MaxChunkSize int64

	state      chunkState
	hasTrailer bool  // a trailer field line was seen
	nameMask   uint8 // forbidden trailer names still matching
	digits     int   // HEXDIG in the current chunk-size
	line       int   // chunk-ext bytes (and excess size digits) in this line
	nameLen    int   // bytes of the current trailer field name
	trailer    int   // bytes of the trailer section so far
	size       int64 // chunk-size being parsed, then data left in the chunk
	body       int64 // chunk-data bytes decoded so far
	err        *Error
}

// Reset prepares the decoder for the next message; limits are kept.
func (d *ChunkedDecoder) Reset() {
	*d = ChunkedDecoder{
		MaxTrailerBytes: d.MaxTrailerBytes,
		MaxExtBytes:     d.MaxExtBytes,
		MaxChunkSize:    d.MaxChunkSize,
	}
}

// Done reports whether the whole chunked body, trailer section and final
// CRLF included, has been consumed.
func (d *ChunkedDecoder) Done() bool { return d.state == stDone }

// HasTrailers reports whether the message carried at least one trailer field.
// It is final once Done is true.
func (d *ChunkedDecoder) HasTrailers() bool { return d.hasTrailer }

// TrailerLen is the number of bytes in the trailer section so far, including
// each field line's CRLF and the final CRLF.
func (d *ChunkedDecoder) TrailerLen() int { return d.trailer }

// BodyLen is the number of chunk-data bytes decoded so far.
func (d *ChunkedDecoder) BodyLen() int64 { return d.body }

// Decode consumes the next bytes of a chunked body from p: framing bytes and
// at most one run of chunk-data. data is the body bytes among p[:n] (a
// subslice of p, possibly empty). The caller calls again with p[n:] plus any
// newly read bytes; n == len(p) with Done false means more input is needed.
// Once the last chunk, the trailer section and the final CRLF are consumed,
// Done is true and n stops right after them, leaving pipelined bytes in p.
//
// Every byte in p[:n] has been validated, so a proxy may forward p[:n]
// verbatim. The result does not depend on how the input is split.
//
// On error n is the number of valid bytes before the offending one, data is
// nil and the decoder stays failed until Reset: the message cannot be framed
// and the connection must be closed.
func (d *ChunkedDecoder) Decode(p []byte) (n int, data []byte, err error) {
	if d.state == stFailed {
		return 0, nil, d.err
	}
	i := 0
	for i < len(p) {
		c := p[i]
		switch d.state {
		case stSizeStart:
			v := chunkHexVal(c)
			if v < 0 {
				return d.fail(i, ErrChunkSizeMissing)
			}
			d.size, d.digits, d.line = 0, 0, 0
			if e := d.sizeDigit(v); e != nil {
				return d.fail(i, e)
			}
			d.state = stSize

		case stSize:
			if v := chunkHexVal(c); v >= 0 {
				if e := d.sizeDigit(v); e != nil {
					return d.fail(i, e)
				}
				break
			}
			if e := d.extByte(c); e != nil {
				return d.fail(i, e)
			}

		case stSizeWS, stExtNameStart, stExtName, stExtNameWS, stExtValStart,
			stExtValToken, stExtValQuoted, stExtValQuotedPair, stExtValEnd, stExtValWS:
			// Runs of name, token or quoted text are the bulk of an extension: take them
			// whole. The byte that ends a run goes through extByte.
			if j := d.extRun(p, i); j > i {
				k := d.lineRun(j - i)
				if i+k < j {
					return d.fail(i+k, ErrChunkLineTooLong)
				}
				i = j
				continue
			}
			if e := d.extByte(c); e != nil {
				if e == ErrBadChunkExt && d.state == stSizeWS {
					e = ErrBadChunkSize
				}
				return d.fail(i, e)
			}

		case stLineLF:
			if c != '\n' {
				return d.fail(i, ErrChunkBareCR)
			}
			d.line = 0
			if d.size == 0 {
				d.state = stTrailerLineStart
			} else {
				d.state = stData
			}

		case stData:
			k := len(p) - i
			if int64(k) > d.size {
				k = int(d.size)
			}
			d.size -= int64(k)
			d.body += int64(k)
			if d.size == 0 {
				d.state = stDataCR
			}
			return i + k, p[i : i+k], nil

		case stDataCR:
			switch c {
			case '\r':
				d.state = stDataLF
			case '\n':
				return d.fail(i, ErrChunkBareLF)
			default:
				return d.fail(i, ErrMissingChunkCRLF)
			}

		case stDataLF:
			if c != '\n' {
				return d.fail(i, ErrChunkBareCR)
			}
			d.state = stSizeStart

		case stTrailerLineStart:
			if e := d.trailerByte(); e != nil {
				return d.fail(i, e)
			}
			switch {
			case c == '\r':
				d.state = stEndLF
			case c == '\n':
				return d.fail(i, ErrChunkBareLF)
			case c == ' ' || c == '\t':
				if d.hasTrailer {
					return d.fail(i, ErrTrailerObsFold)
				}
				return d.fail(i, ErrBadTrailerName)
			case tokenTable[c]:
				d.nameLen = 0
				d.nameMask = 1<<len(forbiddenTrailers) - 1
				d.trailerNameByte(c)
				d.state = stTrailerName
			default:
				return d.fail(i, ErrBadTrailerName)
			}

		case stTrailerName:
			if e := d.trailerByte(); e != nil {
				return d.fail(i, e)
			}
			switch {
			case tokenTable[c]:
				d.trailerNameByte(c)
			case c == ':':
				for k, name := range forbiddenTrailers {
					if d.nameMask&(1<<k) != 0 && len(name) == d.nameLen {
						return d.fail(i, ErrForbiddenTrailer)
					}
				}
				d.state = stTrailerValue
			case c == '\n':
				return d.fail(i, ErrChunkBareLF)
			default:
				return d.fail(i, ErrBadTrailerName)
			}

		case stTrailerValue:
			if j := valueRun(p, i); j > i+1 {
				k := d.trailerRun(j - i)
				if i+k < j {
					return d.fail(i+k, ErrTrailerTooLarge)
				}
				i = j
				continue
			}
			if e := d.trailerByte(); e != nil {
				return d.fail(i, e)
			}
			switch {
			case c == '\r':
				d.state = stTrailerLF
			case c == '\n':
				return d.fail(i, ErrChunkBareLF)
			case c == ' ' || c == '\t' || (c > 0x20 && c != 0x7f):
				// field-vchar, SP and HTAB (RFC 9110 section 5.5)
			default:
				return d.fail(i, ErrBadTrailerValue)
			}

		case stTrailerLF:
			if e := d.trailerByte(); e != nil {
				return d.fail(i, e)
			}
			if c != '\n' {
				return d.fail(i, ErrChunkBareCR)
			}
			d.hasTrailer = true
			d.state = stTrailerLineStart

		case stEndLF:
			if e := d.trailerByte(); e != nil {
				return d.fail(i, e)
			}
			if c != '\n' {
				return d.fail(i, ErrChunkBareCR)
			}
			d.state = stDone
			return i + 1, nil, nil

		case stDone:
			return i, nil, nil
		}
		i++
	}
	return i, nil, nil
}

// extByte advances the chunk line past size digits: BWS, chunk-ext and the
// CR that ends the line. BWS is allowed exactly where RFC 9112 section 7.1.1
// puts it: before ';' and '=' and after them, never before the CR.
func (d *ChunkedDecoder) extByte(c byte) *Error {
	switch c {
	case '\r':
		switch d.state {
		case stSize, stExtName, stExtValToken, stExtValEnd:
			d.state = stLineLF
			return nil
		}
		// CR after BWS (whitespace before CRLF), after ';' or '=', or
		// inside a quoted-string.
		return ErrBadChunkExt
	case '\n':
		return ErrChunkBareLF
	}
	if e := d.lineByte(); e != nil {
		return e
	}
	isWS := c == ' ' || c == '\t'
	switch d.state {
	case stSize:
		switch {
		case isWS:
			d.state = stSizeWS
		case c == ';':
			d.state = stExtNameStart
		default:
			return ErrBadChunkSize
		}
	case stSizeWS, stExtValWS:
		switch {
		case isWS:
		case c == ';':
			d.state = stExtNameStart
		default:
			return ErrBadChunkExt
		}
	case stExtNameStart:
		switch {
		case isWS:
		case tokenTable[c]:
			d.state = stExtName
		default:
			return ErrBadChunkExt
		}
	case stExtName:
		switch {
		case tokenTable[c]:
		case isWS:
			d.state = stExtNameWS
		case c == '=':
			d.state = stExtValStart
		case c == ';':
			d.state = stExtNameStart
		default:
			return ErrBadChunkExt
		}
	case stExtNameWS:
		switch {
		case isWS:
		case c == '=':
			d.state = stExtValStart
		case c == ';':
			d.state = stExtNameStart
		default:
			return ErrBadChunkExt
		}
	case stExtValStart:
		switch {
		case isWS:
		case c == '"':
			d.state = stExtValQuoted
		case tokenTable[c]:
			d.state = stExtValToken
		default:
			return ErrBadChunkExt
		}
	case stExtValToken:
		switch {
		case tokenTable[c]:
		case isWS:
			d.state = stExtValWS
		case c == ';':
			d.state = stExtNameStart
		default:
			return ErrBadChunkExt
		}
	case stExtValQuoted:
		// qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
		switch {
		case c == '"':
			d.state = stExtValEnd
		case c == '\\':
			d.state = stExtValQuotedPair
		case isWS || (c > 0x20 && c != 0x7f):
		default:
			return ErrBadChunkExt
		}
	case stExtValQuotedPair:
		// quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
		if !isWS && (c <= 0x20 || c == 0x7f) {
			return ErrBadChunkExt
		}
		d.state = stExtValQuoted
	case stExtValEnd:
		switch {
		case isWS:
			d.state = stExtValWS
		case c == ';':
			d.state = stExtNameStart
		default:
			return ErrBadChunkExt
		}
	}
	return nil
}

// sizeDigit adds one HEXDIG to the chunk size. Digits past the 16th can only
// be leading zeros (the value check catches the rest); they count against the
// extension budget so that a chunk line stays bounded.
func (d *ChunkedDecoder) sizeDigit(v int) *Error {
	limit := d.maxChunkSize()
	if int64(v) > limit || d.size > (limit-int64(v))/16 {
		return ErrChunkSizeOverflow
	}
	d.size = d.size*16 + int64(v)
	d.digits++
	if d.digits > maxSizeDigits {
		return d.lineByte()
	}
	return nil
}

// extRun returns the end of the run of bytes at p[i:] that leave the extension state as it is:
// tchar inside a name or token value, qdtext inside a quoted-string. It returns i when p[i]
// needs extByte.
func (d *ChunkedDecoder) extRun(p []byte, i int) int {
	j := i
	switch d.state {
	case stExtName, stExtValToken:
		for j < len(p) && tokenTable[p[j]] {
			j++
		}
	case stExtValQuoted:
		for j < len(p) && valueTable[p[j]] && p[j] != '"' && p[j] != '\\' {
			j++
		}
	}
	return j
}

// valueRun returns the end of the run of field-value bytes (VCHAR, obs-text, SP, HTAB) at p[i:].
func valueRun(p []byte, i int) int {
	for i < len(p) && valueTable[p[i]] {
		i++
	}
	return i
}

// lineRun counts k chunk-line bytes against the extension budget and returns how many fit.
func (d *ChunkedDecoder) lineRun(k int) int {
	limit := d.MaxExtBytes
	if limit <= 0 {
		limit = DefaultMaxExtBytes
	}
	if d.line+k > limit {
		k = max(limit-d.line, 0)
	}
	d.line += k
	return k
}

// trailerRun counts k trailer bytes against MaxTrailerBytes and returns how many fit.
func (d *ChunkedDecoder) trailerRun(k int) int {
	limit := d.MaxTrailerBytes
	if limit <= 0 {
		limit = DefaultMaxTrailerBytes
	}
	if d.trailer+k > limit {
		k = max(limit-d.trailer, 0)
	}
	d.trailer += k
	return k
}

func (d *ChunkedDecoder) lineByte() *Error {
	d.line++
	limit := d.MaxExtBytes
	if limit <= 0 {
		limit = DefaultMaxExtBytes
	}
	if d.line > limit {
		return ErrChunkLineTooLong
	}
	return nil
}

func (d *ChunkedDecoder) trailerByte() *Error {
	d.trailer++
	limit := d.MaxTrailerBytes
	if limit <= 0 {
		limit = DefaultMaxTrailerBytes
	}
	if d.trailer > limit {
		return ErrTrailerTooLarge
	}
	return nil
}

// forbiddenTrailers are matched byte by byte as the name streams in, since
// the name may be split across calls and the decoder keeps no copy.
var forbiddenTrailers = [...]string{"content-length", "transfer-encoding", "host"}

func (d *ChunkedDecoder) trailerNameByte(c byte) {
	c = lowerTable[c]
	for k, name := range forbiddenTrailers {
		if d.nameMask&(1<<k) != 0 && (d.nameLen >= len(name) || name[d.nameLen] != c) {
			d.nameMask &^= 1 << k
		}
	}
	d.nameLen++
}

func (d *ChunkedDecoder) maxChunkSize() int64 {
	if d.MaxChunkSize > 0 {
		return d.MaxChunkSize
	}
	return math.MaxInt64
}

func (d *ChunkedDecoder) fail(i int, e *Error) (int, []byte, error) {
	d.state = stFailed
	d.err = e
	return i, nil, e
}

func chunkHexVal(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// AppendChunkHeader appends the chunk line for a chunk of size bytes: the
// size in hex and CRLF. A size <= 0 appends nothing, because a zero-size
// chunk line is the last-chunk and would end the body: use AppendLastChunk.
func AppendChunkHeader(dst []byte, size int) []byte {
	if size <= 0 {
		return dst
	}
	dst = strconv.AppendUint(dst, uint64(size), 16)
	return append(dst, '\r', '\n')
}

// AppendChunk appends data as one chunk: chunk line, data and CRLF. Empty data
// appends nothing (see AppendChunkHeader).
func AppendChunk(dst, data []byte) []byte {
	if len(data) == 0 {
		return dst
	}
	dst = AppendChunkHeader(dst, len(data))
	dst = append(dst, data...)
	return append(dst, '\r', '\n')
}

// AppendLastChunk appends the last-chunk and an empty trailer section,
// ending the chunked body.
func AppendLastChunk(dst []byte) []byte {
	return append(dst, "0\r\n\r\n"...)
}
