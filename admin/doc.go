// Package admin serves Sluice's admin API on net/http (it is not the request path): Prometheus
// metrics, JSON views of stats, routes, upstreams and limits, a live server-sent event stream
// for the console, and the operator actions (drain, undrain, reset, reload). It listens on
// loopback unless a bearer token protects it. types.go holds the JSON types the console shares.
package admin
