#!/bin/bash
# The HTTP load run: the release server pinned to cpu 0, wrk (1 thread, 50 connections) on cpu 1,
# and nginx `return 200` on the same core in the same run as the ceiling. Uses the project's
# yardstick scripts (httpbench.sh, ceiling.sh); prints each scenario's req/s, p99 and ratio.
#   Benchmarks/http-load.sh [SECONDS]       (make bench-http builds and installs what it needs)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
yardstick=${MALTEN_YARDSTICK:-../shared/bench}
port=${MALTEN_BENCH_PORT:-9595}
binary=.build/release/malten
[ -x "$binary" ] || { echo "build first: make build" >&2; exit 1; }
[ -f "$yardstick/httpbench.sh" ] || { echo "no yardstick scripts at $yardstick (set MALTEN_YARDSTICK)" >&2; exit 1; }

# wrk is one client: the per-client limits are off, or with LIMITS=on at work but never reached.
if [ "${LIMITS:-off}" = on ]; then limits="--rate-limit 1000000000 --max-connections-per-client 1000000"
else limits="--rate-limit off --max-connections-per-client off"; fi
taskset -c 0 "$binary" --host 127.0.0.1 --port "$port" $limits 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/streams" >/dev/null && break; sleep 0.1; done
sleep 1
idle_kb=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)

ceiling=$(bash "$yardstick/ceiling.sh" "$secs")
results=$(bash "$yardstick/httpbench.sh" "http://127.0.0.1:$port" "$secs")
peak_kb=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)

nginx_rps=$(awk '{print $2}' <<<"$ceiling")
echo "machine: $(nproc) cores, $(uname -m), $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ *//')"
echo "idle RSS: $((idle_kb / 1024)).$(( (idle_kb % 1024) * 10 / 1024 )) MB; peak RSS under load: $((peak_kb / 1024)) MB"
printf '%-22s %12s %10s %8s\n' scenario "req/s" p99 ratio
printf '%-22s %12s %10s %8s\n' nginx_return_200 "$nginx_rps" "$(awk '{print $3}' <<<"$ceiling")" 1.00
while read -r name rps p99 rest; do
    ratio=$(awk -v a="$rps" -v b="$nginx_rps" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
    printf '%-22s %12s %10s %8s %s\n' "$name" "$rps" "$p99" "$ratio" "$rest"
done <<<"$results"
