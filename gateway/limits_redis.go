package gateway

import (
	"fmt"

	"github.com/sluice-gw/sluice/config"
	"github.com/sluice-gw/sluice/limits"
	"github.com/sluice-gw/sluice/policy"
	"github.com/sluice-gw/sluice/proxy"
)

func newRedisLimit(l *config.Limit, ws []*limits.Policy, key policy.Key) (proxy.Filter, error) {
	return nil, fmt.Errorf("redis limits are not wired yet")
}
