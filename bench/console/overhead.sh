#!/usr/bin/env bash
# bench/console/overhead.sh: what attaching the console costs the gateway (`make bench-console`).
#
#   bench/console/overhead.sh [-r ROUNDS] [-d SECONDS]
#
# One gateway (epoll, one loop) runs pinned to CPU 0; the upstream, the load (`sluice bench`,
# closed loop, 50 connections) and the console run on CPU 1, all under chrt -r 10 when allowed.
# Each round measures the saturated gateway twice, in alternating order: without a console, and
# with `sluice console` attached in a real terminal (a detached tmux session, 160x40, redrawing
# every frame). Per run: requests/s and the gateway's CPU time per request (utime+stime from
# /proc over the run). Saturated throughput swings by 10-20% between runs on a shared 2-core
# machine, so the script also measures the idle gateway for 30 s without and 30 s with the
# console: the difference is what serving the console costs the process (frames are one a
# second with a bounded tail, so the cost does not grow with load), and that share of the
# gateway's core bounds the throughput it can take. Loopback only; every step is bounded.
set -uo pipefail
rounds=5 secs=8
while getopts "r:d:h" opt; do
	case $opt in
	r) rounds=$OPTARG ;;
	d) secs=$OPTARG ;;
	*) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
	esac
done
for v in "$rounds" "$secs"; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || { echo "console bench: -r and -d take positive integers" >&2; exit 2; }
done
for t in tmux jq bc taskset curl go; do
	command -v "$t" >/dev/null || { echo "console bench: $t is required (scripts/deps.sh test installs tmux)" >&2; exit 1; }
done
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/sluice-console-bench.XXXXXX)
sock=sluice-console-bench-$$
prio=(chrt -r 10)
"${prio[@]}" true 2>/dev/null || prio=()
cleanup() {
	tmux -L "$sock" kill-server 2>/dev/null
	kill $(jobs -p) 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
log() { printf '[console-bench %s] %s\n' "$(date -u +%T)" "$*" >&2; }

(cd "$root" && go build -o "$tmp/sluice" ./cmd/sluice && go build -o "$tmp/upstream" ./bench/upstream) ||
	{ echo "console bench: build failed" >&2; exit 1; }
up=127.0.0.1:$((21000 + RANDOM % 2000))
listen=127.0.0.1:$((23000 + RANDOM % 2000))
admin=127.0.0.1:$((25000 + RANDOM % 2000))
cat >"$tmp/sluice.yaml" <<YAML
engine: epoll
loops: 1
listen:
  - address: $listen
admin:
  address: $admin
http:
  idle_timeout: 300s
upstreams:
  bench:
    targets: [{address: $up}]
routes:
  - name: bench
    match: { path_prefix: / }
    upstream: bench
YAML
"${prio[@]}" taskset -c 1 "$tmp/upstream" -addr "$up" &
"${prio[@]}" taskset -c 0 "$tmp/sluice" run -c "$tmp/sluice.yaml" >"$tmp/gateway.log" 2>&1 &
gw=$!
for _ in $(seq 50); do curl -fs -o /dev/null "http://$listen/" && break; sleep 0.1; done
curl -fs -o /dev/null "http://$listen/" || { echo "console bench: the gateway does not answer" >&2; cat "$tmp/gateway.log" >&2; exit 1; }

ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$gw/stat"; }
hz=$(getconf CLK_TCK)
data=$tmp/data.tsv
# run MODE ROUND: one saturated run, the console attached when MODE is on.
run() {
	local mode=$1 round=$2 t0 t1 n rps
	if [[ $mode == on ]]; then
		tmux -L "$sock" -f /dev/null new-session -d -s c -x 160 -y 40 \
			env TERM=xterm-256color taskset -c 1 "$tmp/sluice" console --admin "$admin" ||
			{ log "tmux cannot start the console"; return 1; }
		for _ in $(seq 50); do
			tmux -L "$sock" capture-pane -p -t c 2>/dev/null | grep -q "live" && break
			sleep 0.1
		done
	fi
	sleep 1
	t0=$(ticks)
	"${prio[@]}" taskset -c 1 timeout $((secs + 30)) "$tmp/sluice" bench -q -c 50 --duration "${secs}s" --json "http://$listen/" >"$tmp/$mode-$round.json" 2>/dev/null
	t1=$(ticks)
	if [[ $mode == on ]]; then
		tmux -L "$sock" capture-pane -p -t c | grep -q "rps" || log "round $round: the console screen showed no rps"
		tmux -L "$sock" kill-server 2>/dev/null
	fi
	n=$(jq -r .requests "$tmp/$mode-$round.json" 2>/dev/null)
	rps=$(jq -r .rps "$tmp/$mode-$round.json" 2>/dev/null)
	[[ $n =~ ^[0-9]+$ ]] && ((n > 0)) || { log "round $round ($mode): the load run failed"; return 1; }
	printf '%s\t%s\t%s\t%s\n' "$mode" "$round" "$rps" "$(echo "($t1 - $t0) * 1000000 / $hz / $n" | bc -l)" >>"$data"
	log "round $round, console $mode: $(printf '%.0f' "$rps") req/s, $(tail -1 "$data" | cut -f4 | cut -c1-5) us/req"
}
# cpu_ns: the gateway's CPU time in nanoseconds, all threads (schedstat: finer than the 10 ms
# ticks of /proc/PID/stat, which the idle measurement needs).
cpu_ns() { cat /proc/"$gw"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%d\n", s }'; }
# The idle gateway, no load, 3 x 10 s without and 3 x 10 s with the console attached, in
# alternation: what serving the console costs by itself, free of the load's noise.
idle_off=0 idle_on=0
for i in 1 2 3; do
	for mode in off on; do
		if [[ $mode == on ]]; then
			tmux -L "$sock" -f /dev/null new-session -d -s c -x 160 -y 40 \
				env TERM=xterm-256color taskset -c 1 "$tmp/sluice" console --admin "$admin" ||
				{ echo "console bench: tmux cannot start the console" >&2; exit 1; }
		fi
		sleep 2
		t0=$(cpu_ns)
		sleep 10
		t1=$(cpu_ns)
		[[ $mode == on ]] && tmux -L "$sock" kill-server 2>/dev/null
		if [[ $mode == on ]]; then idle_on=$((idle_on + t1 - t0)); else idle_off=$((idle_off + t1 - t0)); fi
	done
done
idle_off=$(echo "$idle_off / 30 / 1000000" | bc -l) idle_on=$(echo "$idle_on / 30 / 1000000" | bc -l) # ms per second
log "idle: $(printf '%.2f' "$idle_off") ms/s of CPU without the console, $(printf '%.2f' "$idle_on") ms/s with it"

for r in $(seq "$rounds"); do
	if ((r % 2)); then run off "$r"; run on "$r"; else run on "$r"; run off "$r"; fi
done

med() { # med MODE COLUMN
	awk -F'\t' -v m="$1" -v c="$2" '$1 == m { v[n++] = $c } END {
		if (n == 0) { print "nan"; exit }
		for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
		print (n % 2) ? v[int(n / 2)] : (v[n / 2 - 1] + v[n / 2]) / 2 }' "$data"
}
off_rps=$(med off 3) on_rps=$(med on 3) off_cpu=$(med off 4) on_cpu=$(med on 4)
echo
echo "Console overhead, $rounds interleaved rounds of ${secs}s saturated runs (medians):"
echo
echo "| console | req/s | gateway CPU us/req |"
echo "| --- | --- | --- |"
printf '| off | %.0f | %.2f |\n| on | %.0f | %.2f |\n' "$off_rps" "$off_cpu" "$on_rps" "$on_cpu"
echo
printf 'Throughput ratio on/off: %.3f. Gateway CPU per request on/off: %.3f.\n' \
	"$(echo "$on_rps / $off_rps" | bc -l)" "$(echo "$on_cpu / $off_cpu" | bc -l)"
echo
printf 'Idle gateway (30 s each, no load): %.2f ms of CPU per second without the console, %.2f with it.\n' "$idle_off" "$idle_on"
printf 'Serving the console costs %.2f ms of CPU per second, %.2f%% of the core the saturated loop runs on:\n' \
	"$(echo "$idle_on - $idle_off" | bc -l)" "$(echo "($idle_on - $idle_off) / 10" | bc -l)"
echo "the most it can take from the gateway's throughput (frames are bounded: one a second, a bounded tail)."
echo "A difference at or below zero means the cost is below what this measurement resolves."
