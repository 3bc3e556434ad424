#!/usr/bin/env bash
# bench/tls/run.sh: Sluice against NGINX terminating TLS, one core each.
#
#   bench/tls/run.sh [-r ROUNDS] [-d SECONDS] [-c CONNS] [-o FILE]
#
#   -r  rounds; the two systems alternate within each round (default 3)
#   -d  seconds per load run (default 10)
#   -c  keep-alive connections of the request run (default 50)
#   -o  also write the markdown table to FILE
#
# Both proxies terminate TLS with the same ECDSA P-256 certificate (generated
# here with openssl) in front of the same upstream (bench/upstream), pinned to
# CPU 0 (NGINX one worker; Sluice one loop); the upstream and the load
# generators run on CPU 1. Per system and round:
#   - full handshakes: `openssl s_time -new` (a fresh TLS 1.3 handshake per
#     connection, X25519 + ECDSA P-256, no resumption) for SECONDS; reported as
#     handshakes/s achieved and as handshakes per CPU-second of the proxy
#     (utime+stime from /proc/PID/stat), the proxy's one-core capacity. s_time
#     runs one handshake at a time and is latency-bound (it uses a fraction of
#     its core), so neither proxy is saturated: the achieved rate says little,
#     and the CPU-normalised figure is the comparison the target is read from;
#   - requests over keep-alive TLS connections: wrk -t1 -cCONNS https://...
#     (each connection handshakes once, then carries requests), with the
#     proxy's CPU microseconds per request.
# Every socket is on 127.0.0.1, every step is bounded by a timeout, and
# generated files live in a temporary directory that is removed at exit.
set -uo pipefail

rounds=3 secs=10 conns=50 outfile=""
usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while getopts "r:d:c:o:h" opt; do
	case $opt in
	r) rounds=$OPTARG ;;
	d) secs=$OPTARG ;;
	c) conns=$OPTARG ;;
	o) outfile=$OPTARG ;;
	*) usage ;;
	esac
done
for v in "$rounds" "$secs" "$conns"; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || { echo "tls bench: -r, -d and -c take positive integers" >&2; exit 2; }
done
root=$(cd "$(dirname "$0")/../.." && pwd)
log() { printf '[tls-bench %s] %s\n' "$(date -u +%T)" "$*" >&2; }
export PATH=$PATH:/usr/sbin:/sbin
for t in openssl nginx wrk taskset curl go awk; do
	command -v "$t" >/dev/null || { echo "tls bench: $t is required (apt-get install nginx-light wrk openssl curl util-linux)" >&2; exit 1; }
done
proxy_cpu=0 load_cpu=1
(($(nproc) < 2)) && { log "one CPU only: proxy and load share it"; load_cpu=0; }

tmp=$(mktemp -d)
running=()
cleanup() {
	for p in "${running[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() {
	local p
	for p in "$@"; do cat "/proc/$p/stat" 2>/dev/null; done |
		awk '{ sub(/^.*\) /, ""); sum += $12 + $13 } END { print sum + 0 }'
}
pids_of() {
	local p=$1 c
	echo "$p"
	for c in $(pgrep -P "$p" 2>/dev/null); do pids_of "$c"; done
}
hz=$(getconf CLK_TCK)

log "building sluice and the upstream"
(cd "$root" && go build -o "$tmp/sluice" ./cmd/sluice && go build -o "$tmp/upstream" ./bench/upstream) || { echo "tls bench: build failed" >&2; exit 1; }

# One ECDSA P-256 certificate for both.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=bench.test -addext "subjectAltName=DNS:bench.test,IP:127.0.0.1" \
	-keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null || { echo "tls bench: openssl req failed" >&2; exit 1; }

up_port=$(free_port)
taskset -c "$load_cpu" "$tmp/upstream" -addr "127.0.0.1:$up_port" &
running+=($!)
for _ in $(seq 50); do curl -fsS -o /dev/null "http://127.0.0.1:$up_port/" 2>/dev/null && break; sleep 0.1; done

start_nginx() {
	local port=$1 dir=$2
	mkdir -p "$dir/logs"
	cat >"$dir/nginx.conf" <<-EOF
		worker_processes 1;
		daemon off;
		pid $dir/nginx.pid;
		error_log $dir/logs/error.log warn;
		events { worker_connections 4096; use epoll; }
		http {
		    access_log off;
		    keepalive_timeout 300s;
		    keepalive_requests 100000000;
		    upstream up { server 127.0.0.1:$up_port; keepalive 128; }
		    server {
		        listen 127.0.0.1:$port ssl;
		        ssl_certificate $tmp/cert.pem;
		        ssl_certificate_key $tmp/key.pem;
		        ssl_protocols TLSv1.2 TLSv1.3;
		        ssl_ecdh_curve X25519:prime256v1:secp384r1;
		        ssl_session_tickets on;
		        ssl_session_cache shared:SSL:10m;
		        location / {
		            proxy_pass http://up;
		            proxy_http_version 1.1;
		            proxy_set_header Connection "";
		        }
		    }
		}
	EOF
	taskset -c "$proxy_cpu" nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log" >"$dir/out.log" 2>&1 &
	echo $!
}
start_sluice() {
	local port=$1 dir=$2
	cat >"$dir/sluice.yaml" <<-EOF
		engine: epoll
		loops: 1
		listen:
		  - address: 127.0.0.1:$(free_port)
		  - address: 127.0.0.1:$port
		    tls: { cert: $tmp/cert.pem, key: $tmp/key.pem }
		admin:
		  address: "off"
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
	taskset -c "$proxy_cpu" "$tmp/sluice" run -c "$dir/sluice.yaml" >"$dir/out.log" 2>&1 &
	echo $!
}

data=$tmp/data.tsv
: >"$data"
for round in $(seq "$rounds"); do
	for sys in nginx sluice; do
		dir=$tmp/$sys-$round
		mkdir -p "$dir"
		port=$(free_port)
		pid=$(start_$sys "$port" "$dir") || { log "$sys failed to start"; continue; }
		running+=("$pid")
		ok=0
		for _ in $(seq 50); do
			curl -fsS -k -o /dev/null "https://127.0.0.1:$port/" 2>/dev/null && { ok=1; break; }
			sleep 0.1
		done
		if ((!ok)); then
			log "$sys does not answer over TLS"; cat "$dir"/out.log >&2; kill "$pid"; continue
		fi
		pids=$(pids_of "$pid")

		# Full handshakes.
		t0=$(cpu_ticks $pids)
		out=$(timeout $((secs + 30)) taskset -c "$load_cpu" openssl s_time -connect "127.0.0.1:$port" -new -time "$secs" 2>&1)
		t1=$(cpu_ticks $pids)
		hs=$(awk '/connections in [0-9.]+ real seconds/ {print $1; exit}' <<<"$out")
		real=$(awk '/connections in [0-9.]+ real seconds/ {for (i=1;i<=NF;i++) if ($i=="in") {print $(i+1); exit}}' <<<"$out")
		if [[ -n $hs && -n $real ]]; then
			cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" 'BEGIN {print (b-a)/hz}')
			awk -v s="$sys" -v n="$hs" -v r="$real" -v c="$cpu" 'BEGIN {
				printf "%s\ths_rate\t%.0f\n%s\ths_per_cpu_s\t%.0f\n", s, n/r, s, (c > 0 ? n/c : 0) }' >>"$data"
			log "$sys round $round: $hs handshakes in ${real}s, proxy CPU ${cpu}s"
		else
			log "$sys: s_time failed: $(tail -3 <<<"$out" | tr '\n' ' ')"
		fi

		# Requests over keep-alive TLS connections.
		t0=$(cpu_ticks $pids)
		timeout $((secs + 30)) taskset -c "$load_cpu" wrk -t1 -c"$conns" -d"${secs}s" "https://127.0.0.1:$port/" >"$dir/wrk.out" 2>&1
		t1=$(cpu_ticks $pids)
		reqs=$(awk '/requests in/ {print $1; exit}' "$dir/wrk.out")
		if [[ -n $reqs && $reqs -gt 0 ]]; then
			awk -v s="$sys" -v n="$reqs" -v a="$t0" -v b="$t1" -v hz="$hz" -v d="$secs" 'BEGIN {
				printf "%s\treq_rate\t%.0f\n%s\tus_per_req\t%.2f\n", s, n/d, s, (b-a)/hz*1e6/n }' >>"$data"
			log "$sys round $round: $reqs requests, proxy CPU $(((t1 - t0)))/$hz s"
		else
			log "$sys: wrk failed: $(tail -3 "$dir/wrk.out" | tr '\n' ' ')"
		fi
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
done

# Medians per system and metric.
median() { sort -n | awk '{v[NR]=$1} END { if (NR==0) print "-"; else if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2 }'; }
get() { awk -F'\t' -v s="$1" -v m="$2" '$1==s && $2==m {print $3}' "$data" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a=="-" || b=="-" || b==0) print "-"; else printf "%.2f", a/b }'; }
{
	echo "| metric (median of $rounds rounds, ${secs}s each) | NGINX $(nginx -v 2>&1 | sed 's/.*nginx\///') | Sluice | Sluice/NGINX | target |"
	echo "| --- | --- | --- | --- | --- |"
	for m in "hs_per_cpu_s:full handshakes per proxy CPU-second (ECDSA P-256, TLS 1.3):>= 0.8" \
		"hs_rate:full handshakes/s achieved (one load core):" \
		"us_per_req:CPU us per request, keep-alive TLS, ${conns} conns:<= 1.2" \
		"req_rate:requests/s, keep-alive TLS:"; do
		IFS=: read -r key label target <<<"$m"
		n=$(get nginx "$key") s=$(get sluice "$key")
		echo "| $label | $n | $s | $(ratio "$s" "$n") | $target |"
	done
	echo
	echo "Proxy on CPU $proxy_cpu, upstream and load on CPU $load_cpu. $(openssl version)."
} | tee "${outfile:-/dev/null}"
