//go:build !linux

package enginetest

import "errors"

func blackHole() (string, func(), error) {
	return "", nil, errors.New("black-hole listener is only built on Linux")
}
