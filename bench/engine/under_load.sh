#!/usr/bin/env bash
# bench/engine/under_load.sh: GC pauses and admin API latency while the loops are saturated,
# for each engine backend. Sluice runs with one loop pinned to CPU 0; the upstream, the load
# (closed loop, 50 connections) and the admin prober run on CPU 1. Loopback only, bounded.
#
#   bench/engine/under_load.sh [SECONDS]
set -euo pipefail
secs=${1:-10}
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
go build -o "$tmp/sluice" "$root/cmd/sluice"
go build -o "$tmp/upstream" "$root/bench/upstream"
taskset -c 1 "$tmp/upstream" -addr 127.0.0.1:19701 &
sleep 0.3
printf '| engine | GOGC | req/s | admin p50 (ms) | admin p99 (ms) | admin max (ms) | GC cycles | GC pause max (ms) |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n'
# The proxy path allocates nothing, so at the default GOGC a run may see no collection at all;
# GOGC=5 makes the admin API's own garbage trigger collections so their pauses can be seen.
for run in epoll:100 gnet:100 epoll:5 gnet:5; do
	engine=${run%%:*} gogc=${run##*:}
	cat >"$tmp/$engine.yaml" <<YAML
engine: $engine
loops: 1
listen:
  - address: 127.0.0.1:19780
admin:
  address: 127.0.0.1:19790
upstreams:
  u:
    targets: [{address: 127.0.0.1:19701}]
routes:
  - match: { path_prefix: / }
    upstream: u
YAML
	GOGC=$gogc taskset -c 0 "$tmp/sluice" run -c "$tmp/$engine.yaml" >"$tmp/$engine.log" 2>&1 &
	pid=$!
	for _ in $(seq 50); do curl -fs -o /dev/null http://127.0.0.1:19790/api/v1/stats && break; sleep 0.1; done
	gc0=$(curl -fs http://127.0.0.1:19790/metrics | awk '/^go_gc_duration_seconds_count/ {print $2}')
	taskset -c 1 "$tmp/sluice" bench -q --json -c 50 --duration "${secs}s" http://127.0.0.1:19780/ >"$tmp/$engine.json" 2>/dev/null &
	load=$!
	: >"$tmp/$engine.lat"
	end=$((SECONDS + secs - 1))
	while [ $SECONDS -lt $end ]; do
		taskset -c 1 curl -fs -o /dev/null -w '%{time_total}\n' http://127.0.0.1:19790/api/v1/stats >>"$tmp/$engine.lat" || echo fail >>"$tmp/$engine.lat"
		sleep 0.05
	done
	wait $load
	m=$(curl -fs http://127.0.0.1:19790/metrics)
	gc1=$(awk '/^go_gc_duration_seconds_count/ {print $2}' <<<"$m")
	pmax=$(awk '/^go_gc_duration_seconds\{quantile="1"\}/ {printf "%.3f", $2*1000}' <<<"$m")
	rps=$(jq -r '.throughput_rps // .rps // empty' "$tmp/$engine.json" 2>/dev/null | head -1)
	read -r p50 p99 mx < <(grep -v fail "$tmp/$engine.lat" | sort -n | awk '{a[NR]=$1*1000} END {printf "%.2f %.2f %.2f\n", a[int(NR*0.5)+1], a[int(NR*0.99)+1], a[NR]}')
	fails=$(grep -c fail "$tmp/$engine.lat" || true)
	printf '| %s | %s | %.0f | %s | %s | %s%s | %s | %s |\n' "$engine" "$gogc" "${rps:-0}" "$p50" "$p99" "$mx" "$([ "$fails" != 0 ] && echo " ($fails failed)")" "$((${gc1%.*} - ${gc0%.*}))" "$pmax"
	kill $pid; wait $pid 2>/dev/null || true
done
