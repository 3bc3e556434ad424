package limits_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/sluice-gw/sluice/limits"
)

func ExampleBucket() {
	p := &limits.Policy{Name: "api", Rate: 2, Per: time.Second, Burst: 2}
	if err := p.Validate(); err != nil {
		panic(err)
	}
	var b limits.Bucket
	now := int64(time.Hour) // any monotonic nanoseconds
	for i := 0; i < 3; i++ {
		d := b.Allow(p, now, 1)
		fmt.Println(d.Allowed, d.Remaining, d.RetryAfter)
	}
	h := limits.AppendHeaders(nil, b.Allow(p, now, 1))
	fmt.Print(strings.ReplaceAll(string(h), "\r\n", "\\r\\n\n"))
	// Output:
	// true 1 0s
	// true 0 0s
	// false 0 500ms
	// RateLimit-Policy: "api";q=2;w=1\r\n
	// RateLimit: "api";r=0;t=1\r\n
	// Retry-After: 1\r\n
}

func ExampleTable() {
	perSecond, err := limits.ParsePolicy("per-second", "10/s", 20)
	if err != nil {
		panic(err)
	}
	perDay, err := limits.ParsePolicy("per-day", "10000/day", 0)
	if err != nil {
		panic(err)
	}
	t, err := limits.NewTable(limits.TableConfig{Policies: []*limits.Policy{perSecond, perDay}, MaxKeys: 100000})
	if err != nil {
		panic(err)
	}
	key := append([]byte("203.0.113.7|"), "/v1/orders"...)
	d := t.Allow(key, limits.Now(), 1)
	fmt.Println(d.Allowed, d.Policy.Name, d.Remaining)
	// Output: true per-second 19
}

func ExampleConcurrency() {
	c, err := limits.NewConcurrency(limits.ConcurrencyConfig{Limit: 1, QueueSize: 10, QueueTimeout: time.Second})
	if err != nil {
		panic(err)
	}
	now := int64(time.Hour)
	first, _ := c.Acquire(now)
	second, ticket := c.Acquire(now)
	fmt.Println(first, second)
	// The first request completes: its slot goes straight to the waiter.
	next, _ := c.Release(now + int64(time.Millisecond))
	fmt.Println(next == ticket, c.InFlight())
	// Output:
	// admitted queued
	// true 1
}
