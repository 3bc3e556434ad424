// Package accesslog writes one line per finished exchange, as JSON lines or the common log
// format, without ever blocking an event loop: Observe copies the record into a bounded queue
// (dropping, and counting the drop, when it is full) and one goroutine formats and writes.
package accesslog

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/sluice-gw/sluice/proxy"
)

// Formats.
const (
	FormatJSON   = "json"
	FormatCommon = "common"
)

// QueueLen bounds the records waiting to be written (about 0.6 KiB each).
const QueueLen = 4096

const (
	maxMethod = 16
	maxPath   = 255
	maxID     = 128
	maxIP     = 48
)

// entry is a fixed-size copy of a proxy.Record: the record's slices point into buffers the loop
// reuses at once, so they are copied, cut to bounded lengths.
type entry struct {
	wall                int64
	route, target       string
	status              int
	errReason           string
	dur, rtt            int64
	bytesIn, bytesOut   int64
	reused, retried     bool
	method              [maxMethod]byte
	path                [maxPath]byte
	id                  [maxID]byte
	ip                  [maxIP]byte
	nMethod, nPath, nID uint8
	nIP                 uint8
	pathCut             bool
}

// Log is a running access log. Observe is safe for concurrent use from every loop.
type Log struct {
	path   string
	format string
	q      chan entry
	drops  atomic.Uint64
	lines  atomic.Uint64

	mu     sync.Mutex // guards f and w against Reopen
	f      *os.File
	w      *bufio.Writer
	reopen chan chan error
	stop   chan struct{}
	done   chan struct{}
	closed atomic.Bool
}

// Open starts a log writing to path ("-" for standard output) in format.
func Open(path, format string) (*Log, error) {
	if format != FormatJSON && format != FormatCommon {
		return nil, fmt.Errorf("accesslog: unknown format %q", format)
	}
	l := &Log{path: path, format: format, q: make(chan entry, QueueLen), reopen: make(chan chan error), stop: make(chan struct{}), done: make(chan struct{})}
	if err := l.openFile(); err != nil {
		return nil, err
	}
	go l.run()
	return l, nil
}

func (l *Log) openFile() error {
	if l.path == "-" {
		l.f = os.Stdout
	} else {
		f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("accesslog: %w", err)
		}
		l.f = f
	}
	l.w = bufio.NewWriterSize(l.f, 64<<10)
	return nil
}

// Observe queues r; it never blocks and never allocates. A full queue drops the line. After
// Close, records are dropped (an exchange that started before a reload may end after it).
func (l *Log) Observe(r *proxy.Record) {
	if l.closed.Load() {
		l.drops.Add(1)
		return
	}
	var e entry
	e.wall = time.Now().UnixNano()
	if r.Route != nil {
		e.route = r.Route.Name
	}
	if r.Target != nil {
		e.target = r.Target.Addr
	}
	e.status, e.errReason = r.Status, r.Error
	e.dur, e.rtt = r.End-r.Start, r.UpstreamRTT
	e.bytesIn, e.bytesOut = r.BytesIn, r.BytesOut
	e.reused, e.retried = r.Reused, r.Retried
	e.nMethod = uint8(copy(e.method[:], r.Method))
	n := copy(e.path[:], r.Path)
	e.nPath, e.pathCut = uint8(n), n < len(r.Path)
	e.nID = uint8(copy(e.id[:], r.RequestID))
	e.nIP = uint8(copy(e.ip[:], r.ClientIP))
	select {
	case l.q <- e:
	default:
		l.drops.Add(1)
	}
}

// Drops is the number of lines lost to a full queue.
func (l *Log) Drops() uint64 { return l.drops.Load() }

// Lines is the number of lines written.
func (l *Log) Lines() uint64 { return l.lines.Load() }

// Reopen closes and reopens the file (log rotation: SIGUSR1), after writing what is queued.
func (l *Log) Reopen() error {
	if l.closed.Load() {
		return errors.New("accesslog: closed")
	}
	ch := make(chan error, 1)
	l.reopen <- ch
	return <-ch
}

// Close writes what is queued and closes the file. The queue channel is never closed, so a
// racing Observe cannot panic.
func (l *Log) Close() error {
	if l.closed.Swap(true) {
		return nil
	}
	close(l.stop)
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.w.Flush()
	if l.f != os.Stdout {
		err = errors.Join(err, l.f.Close())
	}
	return err
}

func (l *Log) run() {
	defer close(l.done)
	flush := time.NewTicker(200 * time.Millisecond)
	defer flush.Stop()
	var line []byte
	for {
		select {
		case e := <-l.q:
			l.write(&e, &line)
		case <-l.stop:
			for {
				select {
				case e := <-l.q:
					l.write(&e, &line)
				default:
					return
				}
			}
		case <-flush.C:
			l.mu.Lock()
			_ = l.w.Flush()
			l.mu.Unlock()
		case ch := <-l.reopen:
			ch <- l.reopenFile()
		}
	}
}

func (l *Log) write(e *entry, line *[]byte) {
	*line = l.format1((*line)[:0], e)
	l.mu.Lock()
	_, _ = l.w.Write(*line)
	l.mu.Unlock()
	l.lines.Add(1)
}

func (l *Log) reopenFile() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.w.Flush(); err != nil {
		return err
	}
	if l.f == os.Stdout {
		return nil
	}
	old := l.f
	if err := l.openFile(); err != nil {
		l.f = old // keep writing to the old file rather than losing lines
		l.w = bufio.NewWriterSize(old, 64<<10)
		return err
	}
	return old.Close()
}

func (l *Log) format1(dst []byte, e *entry) []byte {
	if l.format == FormatCommon {
		return appendCommon(dst, e)
	}
	return appendJSON(dst, e)
}

// appendJSON writes one JSON object per line; every string is escaped.
func appendJSON(dst []byte, e *entry) []byte {
	dst = append(dst, `{"time":"`...)
	dst = time.Unix(0, e.wall).UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","request_id":`...)
	dst = appendJSONString(dst, e.id[:e.nID])
	dst = append(dst, `,"client_ip":`...)
	dst = appendJSONString(dst, e.ip[:e.nIP])
	dst = append(dst, `,"method":`...)
	dst = appendJSONString(dst, e.method[:e.nMethod])
	dst = append(dst, `,"path":`...)
	dst = appendJSONString(dst, e.path[:e.nPath])
	if e.pathCut {
		dst = append(dst, `,"path_truncated":true`...)
	}
	dst = append(dst, `,"status":`...)
	dst = strconv.AppendInt(dst, int64(e.status), 10)
	dst = append(dst, `,"route":`...)
	dst = appendJSONString(dst, []byte(e.route))
	dst = append(dst, `,"target":`...)
	dst = appendJSONString(dst, []byte(e.target))
	dst = append(dst, `,"bytes_in":`...)
	dst = strconv.AppendInt(dst, e.bytesIn, 10)
	dst = append(dst, `,"bytes_out":`...)
	dst = strconv.AppendInt(dst, e.bytesOut, 10)
	dst = append(dst, `,"duration_ms":`...)
	dst = strconv.AppendFloat(dst, float64(e.dur)/1e6, 'f', 3, 64)
	dst = append(dst, `,"upstream_ms":`...)
	dst = strconv.AppendFloat(dst, float64(e.rtt)/1e6, 'f', 3, 64)
	dst = append(dst, `,"reused":`...)
	dst = strconv.AppendBool(dst, e.reused)
	dst = append(dst, `,"retried":`...)
	dst = strconv.AppendBool(dst, e.retried)
	if e.errReason != "" {
		dst = append(dst, `,"error":`...)
		dst = appendJSONString(dst, []byte(e.errReason))
	}
	return append(dst, "}\n"...)
}

func appendJSONString(dst, s []byte) []byte {
	const hexd = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
			i++
		case c < 0x20 || c == 0x7f:
			dst = append(dst, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&0xf])
			i++
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
		default:
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, `\ufffd`...)
			} else {
				dst = append(dst, s[i:i+size]...)
			}
			i += size
		}
	}
	return append(dst, '"')
}

// appendCommon writes the NCSA common log format:
// host ident authuser [date] "request" status bytes. The request line is rebuilt from the
// method and the normalized path (Sluice logs what it routed).
func appendCommon(dst []byte, e *entry) []byte {
	dst = appendCLFField(dst, e.ip[:e.nIP])
	dst = append(dst, " - - ["...)
	dst = time.Unix(0, e.wall).UTC().AppendFormat(dst, "02/Jan/2006:15:04:05 -0700")
	dst = append(dst, `] "`...)
	dst = appendCLFQuoted(dst, e.method[:e.nMethod])
	dst = append(dst, ' ')
	dst = appendCLFQuoted(dst, e.path[:e.nPath])
	dst = append(dst, ` HTTP/1.1" `...)
	dst = strconv.AppendInt(dst, int64(e.status), 10)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, e.bytesOut, 10)
	return append(dst, '\n')
}

func appendCLFField(dst, s []byte) []byte {
	if len(s) == 0 {
		return append(dst, '-')
	}
	return appendCLFQuoted(dst, s)
}

// appendCLFQuoted escapes what could break the line or the quoting.
func appendCLFQuoted(dst, s []byte) []byte {
	const hexd = "0123456789abcdef"
	for _, c := range s {
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			dst = append(dst, '\\', 'x', hexd[c>>4], hexd[c&0xf])
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

var _ io.Closer = (*Log)(nil)
