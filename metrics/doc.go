// Package metrics is Sluice's proxy.Observer: Prometheus series (VictoriaMetrics/metrics) per
// route, upstream target and status class, per-second aggregates with 60-second histories, a
// bounded sampled request tail and a bounded event log for the admin API and the console.
//
// Labels come only from configured names (route, upstream, target address), never from request
// paths or client input, so the number of series is bounded by the configuration. Recording an
// exchange allocates nothing: series are created when a snapshot is prepared, before it serves,
// and found by Route.Index and Target.ID.
package metrics
