package gateway

import (
	"github.com/sluice-gw/sluice/config"
	"github.com/sluice-gw/sluice/limits"
	"github.com/sluice-gw/sluice/policy"
	"github.com/sluice-gw/sluice/policy/redis"
	"github.com/sluice-gw/sluice/proxy"
)

// newRedisLimit builds a cluster-wide limit. A reload that keeps the limit
// keeps its client (limitSet.reuse); one a reload replaces is closed when
// the last snapshot using it is freed (redis.Limit's cleanup).
func newRedisLimit(l *config.Limit, ws []*limits.Policy, key policy.Key) (proxy.Filter, error) {
	r := l.Redis
	return redis.New(redis.Config{
		Name:     l.Name,
		Windows:  ws,
		Key:      key,
		Address:  r.Address,
		Lease:    int64(r.Lease),
		FailOpen: r.OnError == config.RedisFailOpen,
		Timeout:  r.Timeout.Duration(),
		MaxKeys:  l.MaxKeys,
	})
}
