package config

import (
	"strconv"
	"time"
)

// Defaults live here and nowhere else. Decoding starts every section from the
// values below, so a field left out of the file keeps its default and a field
// written in it replaces the default before validation sees it; validation
// therefore always checks complete values, and rejects explicit out-of-range
// ones. The few defaults that depend on other fields (names, route timeout
// and max_body, a pool's max_idle under a lower max_connections) are filled by
// inheritDefaults once the whole file is decoded. docs/config.md lists the
// same values; TestDefaults pins them.
const (
	DefaultAdminAddress      = "127.0.0.1:9901"
	DefaultMaxRequestLine    = 8 << 10  // 8KiB
	DefaultMaxHeaderBytes    = 32 << 10 // 32KiB
	DefaultMaxHeaders        = 100
	DefaultHeaderReadTimeout = 10 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	DefaultVia               = "sluice"
	DefaultShutdownTimeout   = 30 * time.Second
	DefaultBalancer          = BalancerRoundRobin
	DefaultWeight            = 1
	DefaultConnectTimeout    = 2 * time.Second
	DefaultResponseTimeout   = 30 * time.Second
	DefaultReadTimeout       = 60 * time.Second
	DefaultPoolMaxIdle       = 64
	DefaultPoolIdleTimeout   = 60 * time.Second
	DefaultRetries           = 1
	DefaultAccessLogFormat   = AccessLogJSON
)

func defaultConfig() *Config {
	return &Config{
		Engine: DefaultEngine,
		Admin:  Admin{Address: DefaultAdminAddress},
		HTTP: HTTP{
			MaxRequestLine:    DefaultMaxRequestLine,
			MaxHeaderBytes:    DefaultMaxHeaderBytes,
			MaxHeaders:        DefaultMaxHeaders,
			HeaderReadTimeout: Duration(DefaultHeaderReadTimeout),
			IdleTimeout:       Duration(DefaultIdleTimeout),
			Via:               DefaultVia,
		},
		ShutdownTimeout: Duration(DefaultShutdownTimeout),
		AccessLog:       AccessLog{Format: DefaultAccessLogFormat},
	}
}

func defaultUpstream(name string) *Upstream {
	return &Upstream{
		Name:            name,
		Balancer:        DefaultBalancer,
		ConnectTimeout:  Duration(DefaultConnectTimeout),
		ResponseTimeout: Duration(DefaultResponseTimeout),
		ReadTimeout:     Duration(DefaultReadTimeout),
		Pool: Pool{
			MaxIdle:     DefaultPoolMaxIdle,
			IdleTimeout: Duration(DefaultPoolIdleTimeout),
		},
		Retries:          DefaultRetries,
		HealthCheck:      defaultHealthCheck(),
		OutlierDetection: defaultOutlierDetection(),
		RetryBudget:      defaultRetryBudget(),
		RetryBackoff:     defaultRetryBackoff(),
		PanicThreshold:   DefaultPanicThreshold,
	}
}

func defaultTarget() Target { return Target{Weight: DefaultWeight} }

func defaultListenerName(i int) string { return "listen-" + strconv.Itoa(i) }

func defaultRouteName(i int) string { return "route-" + strconv.Itoa(i) }

// inheritDefaults fills the defaults that depend on other fields.
func inheritDefaults(c *Config, routes []routeState, upstreams []upstreamState) {
	for i := range c.Listen {
		if c.Listen[i].Name == "" {
			c.Listen[i].Name = defaultListenerName(i)
		}
	}
	for _, us := range upstreams {
		u := us.u
		// consistent_hash without a hash_key hashes the client address.
		if u.Balancer == BalancerConsistentHash && u.HashKey.Kind == HashKeyNone {
			u.HashKey = HashKey{Kind: HashKeyClientIP}
		}
		// A default max_idle above an explicit connection cap would only
		// mean "keep every connection": cap it quietly. An explicit one is
		// reported by validation instead.
		if !us.maxIdleSet && u.Pool.MaxConnections > 0 && u.Pool.MaxIdle > u.Pool.MaxConnections {
			u.Pool.MaxIdle = u.Pool.MaxConnections
		}
	}
	for i, rs := range routes {
		r := c.Routes[i]
		if r.Name == "" {
			r.Name = defaultRouteName(i)
		}
		if !rs.maxBodySet {
			r.MaxBody = c.HTTP.MaxBody
		}
		if !rs.timeoutSet {
			if u := c.Upstream(r.Upstream); u != nil {
				r.Timeout = u.ResponseTimeout
			}
		}
	}
}
