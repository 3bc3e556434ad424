#!/usr/bin/env bash
# bench/vs_wrk.sh: `sluice bench` against wrk on the same target, same
# connection count, same CPU, interleaved over rounds. Reports the max req/s
# of each generator, their ratio (target: sluice >= 0.9x wrk) and the CPU time
# each generator spent per request: the growth of this shell's cutime+cstime
# in /proc/$$/stat, which the kernel adds a child's utime+stime (all its
# threads) to when the child is reaped.
#
#   bench/vs_wrk.sh [-c CONNS] [-d SECONDS] [-r ROUNDS] [-R] [URL]
#
# Without URL the script starts bench/upstream on 127.0.0.1 pinned to CPU 0;
# the generators run pinned to CPU 1 (taskset), one thread each. Everything
# runs under nice -n -20, or with -R under chrt -r 10 (SCHED_RR), so other
# work on the machine disturbs the numbers less.
set -euo pipefail

conns=50 secs=5 rounds=3 url="" prio=(nice -n -20)
while getopts "c:d:r:Rh" opt; do
	case $opt in
	c) conns=$OPTARG ;;
	d) secs=$OPTARG ;;
	r) rounds=$OPTARG ;;
	R) prio=(chrt -r 10) ;;
	*) sed -n '2,12p' "$0"; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[[ $# -gt 0 ]] && url=$1
[[ $conns =~ ^[0-9]+$ && $secs =~ ^[0-9]+$ && $rounds =~ ^[0-9]+$ ]] || { echo "vs_wrk: -c, -d and -r take integers" >&2; exit 2; }

root=$(cd "$(dirname "$0")/.." && pwd)
for tool in wrk taskset jq go bc curl; do
	command -v "$tool" >/dev/null || { echo "vs_wrk: $tool not found (apt-get install wrk util-linux jq)" >&2; exit 1; }
done
ncpu=$(nproc)
gen_cpu=1 up_cpu=0
if ((ncpu < 2)); then gen_cpu=0; fi
"${prio[@]}" true 2>/dev/null || { echo "vs_wrk: cannot run ${prio[*]} (needs root or CAP_SYS_NICE); running at normal priority" >&2; prio=(); }

tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

(cd "$root" && go build -o "$tmp/sluice" ./cmd/sluice && go build -o "$tmp/upstream" ./bench/upstream)

free_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 10000))
		if ! ss -Htln "sport = :$p" | grep -q .; then echo "$p"; return; fi
	done
	echo "vs_wrk: no free port" >&2; exit 1
}

if [[ -z $url ]]; then
	port=$(free_port)
	"${prio[@]}" taskset -c "$up_cpu" "$tmp/upstream" -addr "127.0.0.1:$port" &
	pids+=($!)
	url="http://127.0.0.1:$port/"
	for _ in $(seq 50); do
		curl -fsS -o /dev/null "$url" 2>/dev/null && break
		sleep 0.1
	done
fi

hz=$(getconf CLK_TCK)
# child_ticks: cutime+cstime (fields 16, 17) of this shell; the command name
# (field 2) may hold spaces, so cut the line after its ')'.
child_ticks() { awk '{ sub(/^.*\) /, ""); print $14 + $15 }' "/proc/$$/stat"; }

printf "target %s, %d connections, %ds per run, %d rounds, generators on CPU %d\n\n" "$url" "$conns" "$secs" "$rounds" "$gen_cpu"
printf "| round | generator | req/s | requests | CPU s | CPU us/req |\n| --- | --- | --- | --- | --- | --- |\n"
sum_w=0 sum_s=0 cpu_w=0 cpu_s=0
for r in $(seq "$rounds"); do
	# wrk: one thread, like the one CPU it is pinned to.
	t0=$(child_ticks)
	"${prio[@]}" taskset -c "$gen_cpu" wrk -t1 -c"$conns" -d"${secs}s" "$url" >"$tmp/wrk.out"
	t1=$(child_ticks)
	w_rps=$(awk '/^Requests\/sec:/ {print $2}' "$tmp/wrk.out")
	w_n=$(awk '/requests in/ {print $1}' "$tmp/wrk.out")
	w_cpu=$(echo "($t1 - $t0) / $hz" | bc -l)
	printf "| %d | wrk | %.0f | %d | %.2f | %.2f |\n" "$r" "$w_rps" "$w_n" "$w_cpu" "$(echo "$w_cpu * 1000000 / $w_n" | bc -l)"

	t0=$(child_ticks)
	"${prio[@]}" taskset -c "$gen_cpu" "$tmp/sluice" bench -q -c "$conns" --duration "${secs}s" --json "$url" >"$tmp/sluice.json"
	t1=$(child_ticks)
	s_rps=$(jq .rps "$tmp/sluice.json")
	s_n=$(jq .requests "$tmp/sluice.json")
	s_cpu=$(echo "($t1 - $t0) / $hz" | bc -l)
	printf "| %d | sluice bench | %.0f | %d | %.2f | %.2f |\n" "$r" "$s_rps" "$s_n" "$s_cpu" "$(echo "$s_cpu * 1000000 / $s_n" | bc -l)"

	sum_w=$(echo "$sum_w + $w_rps" | bc -l); sum_s=$(echo "$sum_s + $s_rps" | bc -l)
	cpu_w=$(echo "$cpu_w + $w_cpu * 1000000 / $w_n" | bc -l); cpu_s=$(echo "$cpu_s + $s_cpu * 1000000 / $s_n" | bc -l)
done
echo
printf "mean req/s: wrk %.0f, sluice bench %.0f, ratio sluice/wrk %.3f (target >= 0.9)\n" \
	"$(echo "$sum_w / $rounds" | bc -l)" "$(echo "$sum_s / $rounds" | bc -l)" "$(echo "$sum_s / $sum_w" | bc -l)"
printf "mean CPU per request: wrk %.2f us, sluice bench %.2f us\n" \
	"$(echo "$cpu_w / $rounds" | bc -l)" "$(echo "$cpu_s / $rounds" | bc -l)"
