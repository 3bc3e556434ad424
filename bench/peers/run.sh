#!/usr/bin/env bash
# bench/peers/run.sh: Sluice beside NGINX and HAProxy on one core (`make bench-peers`).
#
#   bench/peers/run.sh [-r ROUNDS] [-d SECONDS] [-n IDLE_CONNS] [-s SYSTEMS] [-R] [-o DIR]
#
#   -r  rounds; the systems are interleaved within each round (default 3)
#   -d  seconds per load run (default 10)
#   -n  idle keep-alive connections for the memory measurement (default 10000)
#   -s  comma-separated systems (default nginx,haproxy-http,haproxy-tcp,sluice-l4,sluice-gnet,sluice-epoll)
#   -R  run under chrt -r 10 (SCHED_RR) instead of nice -n -20
#   -o  results directory (default bench/peers/results)
#
# Each proxy runs pinned to CPU 0 (taskset -c 0), single-threaded (NGINX one
# worker, HAProxy nbthread 1, Sluice one loop with the GOMAXPROCS its binary
# picks); the upstream (bench/upstream) and the load generators run pinned to
# CPU 1. Per system and round it measures:
#   - saturated throughput, closed loop, 50 connections: `sluice bench` and wrk;
#   - CPU time per request of the proxy's processes (utime+stime from
#     /proc/PID/stat over the run, divided by the requests completed), at
#     saturation and at a fixed 5,000 req/s open loop, with p50/p99/p99.9
#     (corrected for coordinated omission) at that rate;
#   - RSS per idle keep-alive connection: RSS of the proxy's processes before
#     and after opening IDLE_CONNS connections (one request each, then idle),
#     divided by IDLE_CONNS.
# A system that fails to start or to proxy is reported as failed; the others
# still run. Generated configurations live in a temporary directory; every
# socket is on 127.0.0.1 and every step is bounded by a timeout. The markdown
# table is written to DIR/<date>.md and printed.
set -uo pipefail

rounds=3 secs=10 idle=10000 outdir="" prio=(nice -n -20)
systems="nginx,haproxy-http,haproxy-tcp,sluice-l4,sluice-gnet,sluice-epoll"
rate=5000 conns=50
usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while getopts "r:d:n:s:o:Rh" opt; do
	case $opt in
	r) rounds=$OPTARG ;;
	d) secs=$OPTARG ;;
	n) idle=$OPTARG ;;
	s) systems=$OPTARG ;;
	o) outdir=$OPTARG ;;
	R) prio=(chrt -r 10) ;;
	*) usage ;;
	esac
done
for v in "$rounds" "$secs" "$idle"; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || { echo "peers: -r, -d and -n take positive integers" >&2; exit 2; }
done

root=$(cd "$(dirname "$0")/../.." && pwd)
[[ -n $outdir ]] || outdir=$root/bench/peers/results
log() { printf '[peers %s] %s\n' "$(date -u +%T)" "$*" >&2; }

# --- tools ---------------------------------------------------------------
need_apt=()
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || need_apt+=(nginx-light)
command -v haproxy >/dev/null || [[ -x /usr/sbin/haproxy ]] || need_apt+=(haproxy)
command -v wrk >/dev/null || need_apt+=(wrk)
command -v jq >/dev/null || need_apt+=(jq)
command -v curl >/dev/null || need_apt+=(curl)
command -v taskset >/dev/null || need_apt+=(util-linux)
command -v bc >/dev/null || need_apt+=(bc)
if ((${#need_apt[@]})); then
	log "installing ${need_apt[*]}"
	if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
		timeout 300 apt-get install -y --no-install-recommends "${need_apt[@]}" >&2 ||
			{ timeout 120 apt-get update >&2 && timeout 300 apt-get install -y --no-install-recommends "${need_apt[@]}" >&2; } ||
			log "apt-get install failed; systems needing them will be reported as failed"
	else
		log "not root or no apt-get: install ${need_apt[*]} yourself"
	fi
fi
export PATH=$PATH:/usr/sbin:/sbin
for t in jq curl taskset bc go; do
	command -v "$t" >/dev/null || { echo "peers: $t is required" >&2; exit 1; }
done
if ! "${prio[@]}" true 2>/dev/null; then
	log "cannot run ${prio[*]} (needs root or CAP_SYS_NICE): normal priority"
	prio=()
fi
proxy_cpu=0 load_cpu=1
if (($(nproc) < 2)); then
	log "one CPU only: proxy and load share it, numbers are not comparable to a 2-CPU run"
	load_cpu=0
fi
# Every idle connection is a descriptor in idleconns and one in the proxy.
want_fds=$((2 * idle + 1024))
if (($(ulimit -n) < want_fds)); then
	(($(ulimit -Hn) < want_fds)) && ulimit -Hn "$want_fds" 2>/dev/null
	ulimit -n "$want_fds" 2>/dev/null || log "could not raise ulimit -n to $want_fds (hard limit $(ulimit -Hn))"
fi
fdlim=$(ulimit -n)
# idle_for SYSTEM: how many idle connections SYSTEM can hold under fdlim.
# HAProxy reserves two descriptors per connection of maxconn (and in TCP mode
# really uses them: each client connection has its server connection), so it
# gets fewer when the hard limit is low; the table says how many.
idle_for() {
	local n=$idle cap
	case $1 in
	haproxy-* | sluice-l4) cap=$(((fdlim - 64) / 2 - 64)) ;;
	*) cap=$((fdlim - 1024)) ;;
	esac
	((cap < n)) && n=$cap
	echo "$n"
}

tmp=$(mktemp -d /tmp/sluice-peers.XXXXXX)
running=() # process ids to stop on exit
cleanup() {
	for p in "${running[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.2
	for p in "${running[@]}"; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "building sluice, upstream and idleconns in $tmp"
(cd "$root" && go build -o "$tmp/upstream" ./bench/upstream && go build -o "$tmp/idleconns" ./bench/peers/idleconns) ||
	{ echo "peers: building the benchmark tools failed" >&2; exit 1; }
sluice_ok=1
(cd "$root" && go build -o "$tmp/sluice" ./cmd/sluice) || { log "building cmd/sluice failed: Sluice systems fail, load falls back to wrk only"; sluice_ok=0; }
(cd "$root" && go build -o "$tmp/relay" ./bench/peers/relay) || log "building bench/peers/relay failed: sluice-l4 fails"
# Without the binary there is no `sluice bench` either: only wrk measures.

free_port() {
	local p
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % 10000))
		ss -Htln "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return 0; }
	done
	return 1
}

# pids_of PID: PID and all its descendants.
pids_of() {
	local p=$1 c
	echo "$p"
	for c in $(pgrep -P "$p" 2>/dev/null); do pids_of "$c"; done
}
# cpu_ticks PIDS...: utime+stime (fields 14, 15 of /proc/PID/stat) summed, then utime alone
# (user space: the proxy's own code, as opposed to the kernel's work for it).
# The command name (field 2) may hold spaces: cut the line after its ')'.
cpu_ticks() {
	local p
	for p in "$@"; do cat "/proc/$p/stat" 2>/dev/null; done |
		awk '{ sub(/^.*\) /, ""); sum += $12 + $13; user += $12 } END { print sum + 0, user + 0 }'
}
# rss_kib PIDS...: resident set summed, KiB.
rss_kib() {
	local sum=0 p v
	for p in "$@"; do
		v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null) && sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}
hz=$(getconf CLK_TCK)
# ctx_switches PIDS...: voluntary + involuntary context switches of every thread.
ctx_switches() {
	local p
	for p in "$@"; do cat /proc/"$p"/task/*/status 2>/dev/null; done |
		awk '/^(non)?voluntary_ctxt_switches:/ {sum += $2} END {print sum + 0}'
}
# perf stat counts system calls per kind during the fixed-rate run, if this kernel lets it.
perf_events=raw_syscalls:sys_enter,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_pwait,syscalls:sys_enter_epoll_ctl,syscalls:sys_enter_futex
perf_ok=0
if command -v perf >/dev/null && perf stat -e "$perf_events" -- true >/dev/null 2>&1; then
	perf_ok=1
else
	log "perf stat cannot count system calls here: the table has no syscall columns (apt-get install linux-perf; run as root)"
fi

data=$tmp/data.tsv # system <TAB> metric <TAB> value
record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$data"; }

# --- upstream --------------------------------------------------------------
up_port=$(free_port) || { echo "peers: no free port" >&2; exit 1; }
"${prio[@]}" taskset -c "$load_cpu" "$tmp/upstream" -addr "127.0.0.1:$up_port" &
running+=($!)
for _ in $(seq 50); do curl -fsS -o /dev/null "http://127.0.0.1:$up_port/" 2>/dev/null && break; sleep 0.1; done
curl -fsS -o /dev/null "http://127.0.0.1:$up_port/" || { echo "peers: upstream did not start" >&2; exit 1; }

# --- systems ----------------------------------------------------------------
# start_SYSTEM PORT DIR: write the configuration into DIR and start the proxy
# in the background, printing its PID.
start_nginx() {
	local port=$1 dir=$2 nofile=$((idle + 4096))
	((nofile > fdlim)) && nofile=$fdlim
	mkdir -p "$dir/logs"
	cat >"$dir/nginx.conf" <<-EOF
		worker_processes 1;
		worker_rlimit_nofile $nofile;
		daemon off;
		pid $dir/nginx.pid;
		error_log $dir/logs/error.log warn;
		events { worker_connections $((idle + 2048)); use epoll; }
		http {
		    access_log off;
		    keepalive_timeout 300s;
		    keepalive_requests 100000000;
		    upstream up { server 127.0.0.1:$up_port; keepalive 128; }
		    server {
		        listen 127.0.0.1:$port;
		        location / {
		            proxy_pass http://up;
		            proxy_http_version 1.1;
		            proxy_set_header Connection "";
		        }
		    }
		}
	EOF
	command -v nginx >/dev/null || return 1
	"${prio[@]}" taskset -c "$proxy_cpu" nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log" >"$dir/out.log" 2>&1 &
	echo $!
}
start_haproxy() {
	local mode=$1 port=$2 dir=$3
	cat >"$dir/haproxy.cfg" <<-EOF
		global
		    nbthread 1
		    maxconn $(($(idle_for haproxy-$mode) + 64))
		defaults
		    mode $mode
		    timeout connect 5s
		    timeout client 300s
		    timeout server 300s
		    timeout http-keep-alive 300s
		frontend fe
		    bind 127.0.0.1:$port
		    default_backend be
		backend be
		    $([[ $mode == http ]] && echo "http-reuse always")
		    server up 127.0.0.1:$up_port
	EOF
	command -v haproxy >/dev/null || return 1
	"${prio[@]}" taskset -c "$proxy_cpu" haproxy -db -f "$dir/haproxy.cfg" >"$dir/out.log" 2>&1 &
	echo $!
}
start_sluice() {
	local engine=$1 port=$2 dir=$3 admin
	((sluice_ok)) || return 1
	admin=$(free_port) || return 1
	cat >"$dir/sluice.yaml" <<-EOF
		engine: $engine
		loops: 1
		listen:
		  - address: 127.0.0.1:$port
		admin:
		  address: 127.0.0.1:$admin
		http:
		  idle_timeout: 300s
		upstreams:
		  bench:
		    targets:
		      - address: 127.0.0.1:$up_port
		routes:
		  - match: { path_prefix: / }
		    upstream: bench
	EOF
	"$tmp/sluice" check -c "$dir/sluice.yaml" >"$dir/check.log" 2>&1 || { cat "$dir/check.log" >&2; return 1; }
	"${prio[@]}" taskset -c "$proxy_cpu" "$tmp/sluice" run -c "$dir/sluice.yaml" >"$dir/out.log" 2>&1 &
	echo $!
}
# start_relay PORT DIR: Sluice's engine as a bare TCP relay (bench/peers/relay), the Go
# counterpart of haproxy-tcp: the engine's and the kernel's cost without any gateway work.
start_relay() {
	[[ -x $tmp/relay ]] || return 1
	"${prio[@]}" taskset -c "$proxy_cpu" "$tmp/relay" -listen "127.0.0.1:$1" -upstream "127.0.0.1:$up_port" >"$2/out.log" 2>&1 &
	echo $!
}
start_system() {
	case $1 in
	sluice-l4) start_relay "$2" "$3" ;;
	nginx) start_nginx "$2" "$3" ;;
	haproxy-http) start_haproxy http "$2" "$3" ;;
	haproxy-tcp) start_haproxy tcp "$2" "$3" ;;
	sluice-gnet) start_sluice gnet "$2" "$3" ;;
	sluice-epoll) start_sluice epoll "$2" "$3" ;;
	*) echo "peers: unknown system $1" >&2; return 1 ;;
	esac
}

# stop PID: TERM, then KILL after 5 s.
stop() {
	local p=$1
	kill "$p" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$p" 2>/dev/null
	wait "$p" 2>/dev/null
}

gen() { "${prio[@]}" taskset -c "$load_cpu" "$@"; }

# measure SYSTEM ROUND
measure() {
	local sys=$1 round=$2 dir=$tmp/$1-$2 port pid url pids t0 t1 n
	mkdir -p "$dir"
	port=$(free_port) || { record "$sys" failed "no free port"; return; }
	url="http://127.0.0.1:$port/"
	pid=$(start_system "$sys" "$port" "$dir") || { log "$sys: failed to start"; record "$sys" failed "did not start"; return; }
	running+=("$pid")
	local ok=0
	for _ in $(seq 100); do
		if curl -fsS -m 1 -o /dev/null "$url" 2>/dev/null; then ok=1; break; fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if ((ok == 0)); then
		log "$sys: not answering 200 on $url; log: $(tail -3 "$dir/out.log" 2>/dev/null | tr '\n' ' ')"
		record "$sys" failed "no 200 through the proxy"
		stop "$pid"
		return
	fi
	mapfile -t pids < <(pids_of "$pid")
	log "$sys round $round: processes ${pids[*]}"

	# Saturated, closed loop, `sluice bench`.
	if ((sluice_ok)); then
		read -r t0 u0 < <(cpu_ticks "${pids[@]}")
		gen timeout $((secs + 30)) "$tmp/sluice" bench -q -c "$conns" --duration "${secs}s" --json "$url" >"$dir/sat.json" 2>"$dir/sat.err"
		read -r t1 u1 < <(cpu_ticks "${pids[@]}")
		n=$(jq -r '.requests' "$dir/sat.json" 2>/dev/null)
		if [[ $n =~ ^[0-9]+$ ]] && ((n > 0)); then
			record "$sys" sat_rps "$(jq -r .rps "$dir/sat.json")"
			record "$sys" sat_cpu_us "$(echo "($t1 - $t0) * 1000000 / $hz / $n" | bc -l)"
			record "$sys" sat_user_us "$(echo "($u1 - $u0) * 1000000 / $hz / $n" | bc -l)"
			record "$sys" sat_errors "$(jq -r '[.errors[]] | add' "$dir/sat.json")"
		else
			log "$sys: saturated sluice bench run failed: $(head -c 300 "$dir/sat.err")"
		fi
	fi

	# Saturated, closed loop, wrk (one thread: it has one CPU).
	if command -v wrk >/dev/null; then
		read -r t0 u0 < <(cpu_ticks "${pids[@]}")
		gen timeout $((secs + 30)) wrk -t1 -c"$conns" -d"${secs}s" "$url" >"$dir/wrk.out" 2>&1
		read -r t1 u1 < <(cpu_ticks "${pids[@]}")
		n=$(awk '/requests in/ {print $1}' "$dir/wrk.out")
		if [[ $n =~ ^[0-9]+$ ]] && ((n > 0)); then
			record "$sys" wrk_rps "$(awk '/^Requests\/sec:/ {print $2}' "$dir/wrk.out")"
			record "$sys" wrk_cpu_us "$(echo "($t1 - $t0) * 1000000 / $hz / $n" | bc -l)"
			record "$sys" wrk_user_us "$(echo "($u1 - $u0) * 1000000 / $hz / $n" | bc -l)"
		else
			log "$sys: wrk run failed: $(tail -2 "$dir/wrk.out" | tr '\n' ' ')"
		fi
	fi

	# Fixed rate, open loop; kernel counters (perf stat, counting only: no tracing overhead
	# worth the name) over the same run when perf works here.
	if ((sluice_ok)); then
		local perfpid="" c0 c1
		if ((perf_ok)); then
			perf stat -x, -o "$dir/perf.csv" -e "$perf_events" -p "$(IFS=,; echo "${pids[*]}")" -- sleep "$secs" 2>/dev/null &
			perfpid=$!
		fi
		c0=$(ctx_switches "${pids[@]}")
		read -r t0 u0 < <(cpu_ticks "${pids[@]}")
		gen timeout $((secs + 30)) "$tmp/sluice" bench -q -c "$conns" --rate "$rate" --duration "${secs}s" --json "$url" >"$dir/rate.json" 2>"$dir/rate.err"
		read -r t1 u1 < <(cpu_ticks "${pids[@]}")
		c1=$(ctx_switches "${pids[@]}")
		[[ -n $perfpid ]] && wait "$perfpid"
		n=$(jq -r '.requests' "$dir/rate.json" 2>/dev/null)
		if [[ $n =~ ^[0-9]+$ ]] && ((n > 0)); then
			record "$sys" rate_cs "$(echo "($c1 - $c0) / $n" | bc -l)"
			if [[ -s $dir/perf.csv ]]; then
				# perf counted for $secs seconds of a run of about as long: per request by the
				# achieved rate, not by the request count.
				local ev v achieved waits=0
				achieved=$(jq -r .rps "$dir/rate.json")
				per() { echo "$1 / $secs / $achieved" | bc -l; }
				while IFS=, read -r v _ ev _; do
					[[ $v =~ ^[0-9]+$ ]] || continue
					case $ev in
					raw_syscalls:sys_enter) record "$sys" rate_sys "$(per "$v")" ;;
					syscalls:sys_enter_epoll_wait | syscalls:sys_enter_epoll_pwait) waits=$((waits + v)) ;;
					syscalls:sys_enter_futex) record "$sys" rate_futex "$(per "$v")" ;;
					syscalls:sys_enter_epoll_ctl) record "$sys" rate_ctl "$(per "$v")" ;;
					esac
				done <"$dir/perf.csv"
				record "$sys" rate_wait "$(per "$waits")"
			fi
			record "$sys" rate_cpu_us "$(echo "($t1 - $t0) * 1000000 / $hz / $n" | bc -l)"
			record "$sys" rate_user_us "$(echo "($u1 - $u0) * 1000000 / $hz / $n" | bc -l)"
			record "$sys" rate_p50 "$(jq -r .latency.corrected.p50_us "$dir/rate.json")"
			record "$sys" rate_p99 "$(jq -r .latency.corrected.p99_us "$dir/rate.json")"
			record "$sys" rate_p999 "$(jq -r .latency.corrected.p99_9_us "$dir/rate.json")"
			record "$sys" rate_rps "$(jq -r .rps "$dir/rate.json")"
		else
			log "$sys: fixed-rate run failed: $(head -c 300 "$dir/rate.err")"
		fi
	fi

	# RSS per idle keep-alive connection.
	local before after hold ready="" nidle
	nidle=$(idle_for "$sys")
	sleep 0.5
	before=$(rss_kib "${pids[@]}")
	coproc HOLD { gen timeout $((secs + 120)) "$tmp/idleconns" -addr "127.0.0.1:$port" -n "$nidle" 2>&1; }
	hold=$HOLD_PID
	read -r -t 90 ready <&"${HOLD[0]}"
	if [[ $ready == "ready $nidle" ]]; then
		sleep 1
		mapfile -t pids < <(pids_of "$pid")
		after=$(rss_kib "${pids[@]}")
		record "$sys" idle_kib "$(echo "($after - $before) / $nidle" | bc -l)"
		record "$sys" idle_n "$nidle"
	else
		log "$sys: idle connections failed: $ready"
	fi
	# Closing its stdin tells idleconns to close everything and exit.
	local wfd=${HOLD[1]}
	eval "exec $wfd>&-"
	for _ in $(seq 50); do kill -0 "$hold" 2>/dev/null || break; sleep 0.1; done
	kill "$hold" 2>/dev/null
	wait "$hold" 2>/dev/null

	stop "$pid"
	record "$sys" ok 1
}

IFS=, read -r -a syslist <<<"$systems"
log "systems: ${syslist[*]}; $rounds rounds of ${secs}s runs; proxy on CPU $proxy_cpu, load on CPU $load_cpu; ${prio[*]:-normal priority}"
for round in $(seq "$rounds"); do
	for sys in "${syslist[@]}"; do
		measure "$sys" "$round"
	done
done

# --- report -------------------------------------------------------------------
# cell SYSTEM METRIC DECIMALS: median over rounds, with min-max when rounds > 1.
cell() {
	awk -F'\t' -v s="$1" -v m="$2" -v d="$3" '
		$1 == s && $2 == m { v[n++] = $3 + 0 }
		END {
			if (n == 0) { print "-"; exit }
			for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
			med = (n % 2) ? v[int(n / 2)] : (v[n / 2 - 1] + v[n / 2]) / 2
			f = "%." d "f"
			if (n == 1) printf f "\n", med
			else printf f " (" f "-" f ")\n", med, v[0], v[n - 1]
		}' "$data"
}
mkdir -p "$outdir"
out=$outdir/$(date -u +%F).md
i=2
while [[ -e $out ]]; do out=$outdir/$(date -u +%F)-$i.md; i=$((i + 1)); done
{
	echo "# Peer benchmark $(date -u '+%F %T') UTC"
	echo
	echo "$(nproc) CPUs ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), kernel $(uname -r)."
	echo "Proxy on CPU $proxy_cpu, upstream and load on CPU $load_cpu, ${prio[*]:-normal priority}."
	echo "$rounds round(s) of ${secs}s runs, systems interleaved; cells are the median (min-max) over rounds."
	echo "Saturated: closed loop, $conns connections. Fixed rate: $rate req/s open loop, $conns connections, latency corrected for coordinated omission."
	echo "CPU is utime+stime of the proxy's processes per completed request; idle memory is the RSS growth for $idle idle keep-alive connections."
	echo
	echo "| system | req/s saturated (sluice bench) | req/s saturated (wrk) | CPU us/req saturated | CPU us/req saturated (wrk) | achieved at $rate/s | CPU us/req at $rate/s | p50 at $rate/s (us) | p99 (us) | p99.9 (us) | KiB/idle conn |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
	for sys in "${syslist[@]}"; do
		if ! awk -F'\t' -v s="$sys" '$1 == s && $2 == "ok" {found = 1} END {exit !found}' "$data" 2>/dev/null; then
			why=$(awk -F'\t' -v s="$sys" '$1 == s && $2 == "failed" {print $3; exit}' "$data")
			echo "| $sys | failed: ${why:-no measurement} | | | | | | | | | |"
			continue
		fi
		echo "| $sys | $(cell "$sys" sat_rps 0) | $(cell "$sys" wrk_rps 0) | $(cell "$sys" sat_cpu_us 1) | $(cell "$sys" wrk_cpu_us 1) | $(cell "$sys" rate_rps 0) | $(cell "$sys" rate_cpu_us 1) | $(cell "$sys" rate_p50 0) | $(cell "$sys" rate_p99 0) | $(cell "$sys" rate_p999 0) | $(cell "$sys" idle_kib 2) |"
	done
	echo
	echo "Kernel work per request at $rate req/s (same runs; context switches of all the proxy's threads from /proc, system calls counted by perf stat), and the user-space share of the CPU per request (utime; the kernel tick samples the split, the sum is exact):"
	echo
	echo "| system | context switches/req | syscalls/req | epoll waits/req | epoll_ctl/req | futex/req | user us/req saturated (sluice bench / wrk) | user us/req at $rate/s |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
	for sys in "${syslist[@]}"; do
		awk -F'\t' -v s="$sys" '$1 == s && $2 == "ok" {found = 1} END {exit !found}' "$data" 2>/dev/null || continue
		echo "| $sys | $(cell "$sys" rate_cs 2) | $(cell "$sys" rate_sys 2) | $(cell "$sys" rate_wait 2) | $(cell "$sys" rate_ctl 2) | $(cell "$sys" rate_futex 2) | $(cell "$sys" sat_user_us 1) / $(cell "$sys" wrk_user_us 1) | $(cell "$sys" rate_user_us 1) |"
	done
	short=$(awk -F'\t' -v n="$idle" '$2 == "idle_n" && $3 < n {print $1 " " $3}' "$data" | sort -u | tr '\n' ',' | sed 's/,$//; s/,/, /g')
	[[ -n $short ]] && { echo; echo "Idle connections held where the descriptor limit ($fdlim) did not allow $idle: $short."; }
	errs=$(awk -F'\t' '$2 == "sat_errors" && $3 > 0 {print $1 ": " $3}' "$data" | sort -u | tr '\n' ' ')
	[[ -n $errs ]] && { echo; echo "Errors during saturated runs: $errs"; }
} >"$out"
cat "$out"
log "written to $out"
