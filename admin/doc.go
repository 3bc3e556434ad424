// Package admin serves Sluice's admin API on net/http (it is not the request path) and holds
// the JSON types and the client the console shares (types.go, client.go).
//
// It listens on loopback unless a bearer token protects it ("Authorization: Bearer TOKEN" on
// every request, compared in constant time):
//
//	GET  /metrics                          Prometheus text: VictoriaMetrics series of the metrics
//	                                       package, pool sizes, balancer state, go_* and process_*
//	GET  /api/v1/stats                     header, routes and upstreams (Stats)
//	GET  /api/v1/routes                    []RouteStats
//	GET  /api/v1/upstreams                 []UpstreamStats with each target's state
//	GET  /api/v1/limits                    429s per route and the most rejected client keys
//	GET  /api/v1/events                    live stream: server-sent "frame" events, one a second
//	GET  /api/v1/events/recent?after=SEQ   the event log (reloads, breakers, health, drains)
//	POST /api/v1/reload                    re-read the configuration file and apply it
//	POST /api/v1/upstreams/{u}/targets/{addr}/drain|undrain|reset
package admin
