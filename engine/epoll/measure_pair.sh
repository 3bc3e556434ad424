#!/bin/bash
# measure_pair.sh RATE A B: two one-loop echo servers side by side, A and B each "engine:wait"
# (epoll:raw, epoll:runtime, epoll:probe, gnet:raw), each driven by its own client at RATE
# requests/s over 50 connections for 5 s at the same time, so both see the same neighbours.
# Prints per server: latency percentiles, context switches and CPU µs per request (from
# /proc/PID around the run). Build first: go test -c -o /tmp/epoll.test ./engine/epoll
set -u
RATE=${1:-1000}
A=${2:-epoll:raw}
B=${3:-gnet:raw}
BIN=${BIN:-/tmp/epoll.test}
P1=$((7100 + RANDOM % 400))
P2=$((7600 + RANDOM % 400))
OUT=$(mktemp -d)

start() {
	EPOLL_ENGINE=${1%%:*} EPOLL_WAIT=${1##*:} EPOLL_MEASURE=server EPOLL_ADDR=127.0.0.1:$2 \
		EPOLL_SECONDS=10 "$BIN" -test.run MeasurePing >/dev/null 2>&1 &
	echo $!
}
S1=$(start "$A" $P1)
S2=$(start "$B" $P2)
trap 'kill $S1 $S2 2>/dev/null; rm -rf "$OUT"' EXIT
sleep 1

stats() { # context switches (all threads, both kinds) and CPU ticks
	local v=0 f
	for f in /proc/$1/task/*/status; do
		v=$((v + $(awk '/^voluntary_ctxt_switches/{print $2}' "$f") + $(awk '/^nonvoluntary_ctxt_switches/{print $2}' "$f")))
	done
	echo "$v $(awk '{print $14+$15}' /proc/$1/stat)"
}
client() {
	EPOLL_MEASURE=client EPOLL_ADDR=127.0.0.1:$1 EPOLL_SECONDS=5 EPOLL_RATE=$RATE EPOLL_CONNS=50 \
		"$BIN" -test.run MeasurePing -test.v 2>&1 | grep requests >"$2"
}

read -r a0 ac0 < <(stats $S1)
read -r b0 bc0 < <(stats $S2)
client $P1 "$OUT/a" &
C1=$!
client $P2 "$OUT/b" &
C2=$!
wait $C1 $C2
read -r a1 ac1 < <(stats $S1)
read -r b1 bc1 < <(stats $S2)
TICK=$(getconf CLK_TCK)
report() { # name file ctxsw ticks
	local r
	r=$(sed -E 's/.*requests ([0-9]+).*/\1/' "$2")
	printf '%-14s %s | ctxsw/req %s  CPU us/req %s\n' "$1" "$(sed 's/.*requests/requests/' "$2")" \
		"$(awk -v c="$3" -v r="$r" 'BEGIN{printf "%.2f", c/r}')" \
		"$(awk -v c="$4" -v r="$r" -v hz="$TICK" 'BEGIN{printf "%.1f", c*1e6/hz/r}')"
}
report "$A" "$OUT/a" $((a1 - a0)) $((ac1 - ac0))
report "$B" "$OUT/b" $((b1 - b0)) $((bc1 - bc0))
