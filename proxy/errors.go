package proxy

import (
	"errors"
	"net"
)

// Errors a driver reports through OnUpstreamFailed; they decide the status the client sees.
var (
	ErrPoolFull       = errors.New("proxy: upstream connection limit reached") // 503
	ErrConnectTimeout = errors.New("proxy: upstream connect timeout")          // 504
)

func isTimeout(err error) bool {
	if errors.Is(err, ErrConnectTimeout) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
