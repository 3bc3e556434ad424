package policy

import (
	"errors"
	"fmt"

	"github.com/sluice-gw/sluice/limits"
	"github.com/sluice-gw/sluice/proxy"
)

// RateLimitConfig configures a RateLimit filter.
type RateLimitConfig struct {
	// Name identifies the limit in answers' X-Sluice-Error reasons and stats.
	Name string
	// Windows are the policies every key gets (1..limits.MaxWindows),
	// validated; a shadow window counts without refusing.
	Windows []*limits.Policy
	// Key says what a request is counted against.
	Key Key
	// MaxKeys bounds the keys held (default 65536); MaxKeyLen the bytes of
	// one key (default 256).
	MaxKeys   int
	MaxKeyLen int
	// Now is the clock for every decision (default limits.Now). The loop
	// clock in FilterContext.Now is not used: the engines' clocks differ
	// (wall time on gnet, monotonic on epoll), and a table must be fed from
	// one monotonic source.
	Now func() int64
}

// RateLimit answers 429 to a request over its key's limit. Admitted requests
// get RateLimit-Policy and RateLimit fields on their response, refusals those
// and Retry-After (draft-ietf-httpapi-ratelimit-headers, RFC 9110 Section
// 10.2.3). A refused request never reaches the upstream.
type RateLimit struct {
	name   string
	key    Key
	table  *limits.Table
	multi  *limits.Multi
	now    func() int64
	reason string
}

// DefaultMaxKeys is the key table's size when RateLimitConfig.MaxKeys is 0.
const DefaultMaxKeys = 1 << 16

// NewRateLimit builds the filter and its key table (all memory up front).
func NewRateLimit(cfg RateLimitConfig) (*RateLimit, error) {
	if len(cfg.Key.Parts) == 0 {
		return nil, fmt.Errorf("%w: rate limit %q has no key", ErrConfig, cfg.Name)
	}
	if cfg.MaxKeys == 0 {
		cfg.MaxKeys = DefaultMaxKeys
	}
	t, err := limits.NewTable(limits.TableConfig{Policies: cfg.Windows, MaxKeys: cfg.MaxKeys, MaxKeyLen: cfg.MaxKeyLen})
	if err != nil {
		return nil, fmt.Errorf("%w: rate limit %q: %w", ErrConfig, cfg.Name, err)
	}
	now := cfg.Now
	if now == nil {
		now = limits.Now
	}
	return &RateLimit{name: cfg.Name, key: cfg.Key, table: t, multi: t.Multi(), now: now, reason: "rate limited: " + cfg.Name}, nil
}

// OnRequest charges one unit to the request's key.
func (f *RateLimit) OnRequest(c *proxy.FilterContext) proxy.Verdict {
	key := f.key.Append(c.Scratch[:0], c)
	d := f.table.Allow(key, f.now(), 1)
	c.Scratch = key[:0]
	if d.Allowed {
		c.RespFields = limits.AppendHeadersMulti(c.RespFields, f.multi, d)
		return proxy.Verdict{}
	}
	if d.Err != nil {
		// Fail closed (limits refuses what it cannot judge). The only error a
		// well-formed table gives per request is an over-long key, built
		// from a client's header: that is a header problem, RFC 6585
		// Section 5.
		if errors.Is(d.Err, limits.ErrKeyTooLong) {
			return proxy.Verdict{Status: 431, Reason: "rate-limit key too long"}
		}
		return proxy.Verdict{Status: 429, Reason: f.reason}
	}
	c.KeyText = limits.AppendKeyText(c.KeyText[:0], key)
	c.RefusedKey = c.KeyText
	// The key is no longer needed: the header lines reuse the buffer. The
	// session writes them before the connection's next request can touch
	// Scratch again.
	fields := limits.AppendHeadersMulti(c.Scratch[:0], f.multi, d)
	c.Scratch = fields[:0]
	return proxy.Verdict{Status: 429, Reason: f.reason, Fields: fields}
}

// OnDone does nothing: a rate limit is charged on arrival.
func (f *RateLimit) OnDone(*proxy.FilterContext, int) {}

// Name returns the configured name.
func (f *RateLimit) Name() string { return f.name }

// Stats returns the key table's counters.
func (f *RateLimit) Stats() limits.TableStats { return f.table.Stats() }

// Multi returns the windows, whose Policy.Counts hold the refusal counters.
func (f *RateLimit) Multi() *limits.Multi { return f.multi }
