#!/bin/bash
# Fan-out against nchan in the same run: Malten (release, pinned to cpu 0) and nginx with nchan
# (one worker pinned to cpu 0), each loaded by `malten-bench fanout` pinned to cpu 1 (one thread,
# raw sockets and epoll). SUBSCRIBERS SSE subscribers on one stream, POSTS messages of 100
# characters posted one after another (IN_FLIGHT=1) and 8 at a time (pipelined, as several
# publishers would); RUNS alternating runs each. Then the memory of IDLE idle SSE subscribers,
# per connection, for both.
#   Benchmarks/fanout.sh [RUNS]      (make bench-fanout builds and installs what it needs)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
subscribers=${SUBSCRIBERS:-1000}
posts=${POSTS:-2000}
idle=${IDLE:-10000}
malten_port=9596
nchan_port=9597
bench=.build/release/malten-bench
[ -x .build/release/malten ] && [ -x "$bench" ] || { echo "build first: make build" >&2; exit 1; }
[ -f /usr/lib/nginx/modules/ngx_nchan_module.so ] || { echo "nchan missing: apt-get install libnginx-mod-nchan" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)"

dir=$(mktemp -d)
cat > "$dir/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_nchan_module.so;
worker_processes 1;
worker_cpu_affinity 01;
worker_rlimit_nofile 65536;
error_log $dir/error.log;
pid $dir/nginx.pid;
daemon on;
events { worker_connections 65536; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $dir/body;
  server {
    listen 127.0.0.1:$nchan_port backlog=4096;
    location ~ ^/pub/(\w+)$ { nchan_publisher; nchan_channel_id \$1; nchan_message_buffer_length 1024; }
    location ~ ^/sub/(\w+)$ { nchan_subscriber eventsource; nchan_channel_id \$1; }
  }
}
CONF

start_malten() {
    # Every subscriber is one loopback client: no per-client limits.
    taskset -c 0 .build/release/malten serve --host 127.0.0.1 --port $malten_port --rate-limit off --max-connections-per-client off 2>/dev/null &
    malten_pid=$!
    for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$malten_port/stats" >/dev/null && break; sleep 0.1; done
}
start_nchan() {
    nginx -c "$dir/nginx.conf"
    sleep 0.5
    nchan_pid=$(pgrep -P "$(cat "$dir/nginx.pid")" | head -1)
}
stop_all() {
    [ -n "${malten_pid:-}" ] && kill "$malten_pid" 2>/dev/null && wait "$malten_pid" 2>/dev/null || true
    [ -f "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2>/dev/null || true
    sleep 0.5
    malten_pid=
}
trap 'stop_all; rm -rf "$dir"' EXIT

echo "machine: $(nproc) cores, $(uname -m), $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ *//')"
echo "fan-out: $subscribers subscribers x $posts posts, $runs runs each, alternating"
for run in $(seq 1 "$runs"); do
    for in_flight in ${IN_FLIGHT:-1 8}; do
        start_malten
        taskset -c 1 "$bench" fanout --server malten --port $malten_port --subscribers "$subscribers" --posts "$posts" --in-flight "$in_flight"
        stop_all
        start_nchan
        taskset -c 1 "$bench" fanout --server nchan --port $nchan_port --subscribers "$subscribers" --posts "$posts" --in-flight "$in_flight"
        stop_all
    done
done

echo "idle: $idle SSE subscribers"
start_malten
taskset -c 1 "$bench" fanout --server malten --port $malten_port --subscribers "$idle" --server-pid "$malten_pid" --streams "${IDLE_STREAMS:-100}"
stop_all
start_nchan
taskset -c 1 "$bench" fanout --server nchan --port $nchan_port --subscribers "$idle" --server-pid "$nchan_pid" --streams "${IDLE_STREAMS:-100}"
stop_all
