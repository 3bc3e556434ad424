//go:build linux

package gateway

import (
	"github.com/sluice-gw/sluice/config"
	"github.com/sluice-gw/sluice/engine/epoll"
)

func init() { Starters[config.EngineEpoll] = epoll.Start }
