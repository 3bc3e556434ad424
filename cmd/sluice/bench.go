package main

import "github.com/sluice-gw/sluice/bench"

func init() {
	commands["bench"] = command{
		summary: "load-test an HTTP/1.1 server: closed or open loop, exact latency, JSON reports",
		run:     bench.Main,
	}
}
