#!/bin/bash
# measure.sh WAIT RATE [ENGINE]: the numbers of docs/ENGINE-EPOLL.md for one configuration.
#
# Starts a one-loop echo server (TestMeasurePing, EPOLL_MEASURE=server) with the wait strategy
# WAIT (raw, runtime or probe; ENGINE=gnet runs the gnet backend instead), then drives it twice
# for 5 s with 50 connections at RATE requests/s in total from a second process:
#   1. reading the server's context switches (/proc/PID/task/*/status, all threads) and CPU
#      time (/proc/PID/stat utime+stime) before and after: per request;
#   2. under strace -c -f -p PID: system calls per request.
# Every process ends on its own (the server after 30 s). Needs strace; build the test binary
# first: go test -c -o /tmp/epoll.test ./engine/epoll
set -u
WAIT=${1:?wait strategy: raw, runtime or probe}
RATE=${2:-2000}
ENGINE=${3:-epoll}
BIN=${BIN:-/tmp/epoll.test}
PORT=$((7000 + RANDOM % 1000))
ADDR=127.0.0.1:$PORT
OUT=$(mktemp -d)

EPOLL_ENGINE=$ENGINE EPOLL_MEASURE=server EPOLL_ADDR=$ADDR EPOLL_SECONDS=30 EPOLL_WAIT=$WAIT \
	"$BIN" -test.run MeasurePing >"$OUT/server.txt" 2>&1 &
SP=$!
trap 'kill $SP 2>/dev/null; rm -rf "$OUT"' EXIT
sleep 1.5

stats() { # voluntary involuntary cpu_ticks
	local v=0 n=0 f
	for f in /proc/$SP/task/*/status; do
		v=$((v + $(awk '/^voluntary_ctxt_switches/{print $2}' "$f")))
		n=$((n + $(awk '/^nonvoluntary_ctxt_switches/{print $2}' "$f")))
	done
	echo "$v $n $(awk '{print $14+$15}' /proc/$SP/stat)"
}
client() {
	EPOLL_MEASURE=client EPOLL_ADDR=$ADDR EPOLL_SECONDS=5 EPOLL_RATE=$RATE EPOLL_CONNS=50 \
		"$BIN" -test.run MeasurePing -test.v 2>&1 | grep requests
}
requests() { sed -E 's/.*requests ([0-9]+).*/\1/'; }

read -r v0 n0 c0 < <(stats)
RUN1=$(client)
read -r v1 n1 c1 < <(stats)
R1=$(echo "$RUN1" | requests)
echo "engine=$ENGINE wait=$WAIT rate=$RATE:$RUN1"
TICK=$(getconf CLK_TCK)
awk -v r="$R1" -v v=$((v1 - v0)) -v n=$((n1 - n0)) -v c=$((c1 - c0)) -v hz="$TICK" 'BEGIN {
	printf "  voluntary ctxsw/req %.3f  involuntary ctxsw/req %.3f  CPU us/req %.1f\n", v/r, n/r, c*1e6/hz/r }'

strace -c -f -p $SP -o "$OUT/strace.txt" 2>/dev/null &
ST=$!
sleep 1
RUN2=$(client)
kill -INT $ST
wait $ST 2>/dev/null
R2=$(echo "$RUN2" | requests)
echo "  under strace:$RUN2"
awk -v r="$R2" 'NR > 2 && $1 ~ /^[0-9.]+$/ && NF >= 5 { printf "    %-16s %8d  %.3f/req\n", $NF, $4, $4/r }' "$OUT/strace.txt"
