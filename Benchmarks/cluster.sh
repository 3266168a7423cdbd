#!/bin/bash
# The cluster against one server, in the same run: a nats-server and three release members on
# loopback (--nats), and one member alone. Posts (wrk, 1 thread, 16 connections, 100-character
# texts to one stream) through the stream's owner and through a member that forwards to it, with
# their latency; then fan-out (`malten-bench fanout`: SUBSCRIBERS SSE subscribers spread over the
# three members, POSTS posts through one of them) against the same load on the server alone.
# The owner of a stream is found from the member ids the members log when ready, with the
# rendezvous hash the members use (Membership.swift). RUNS alternating runs each.
#   Benchmarks/cluster.sh [RUNS] [SECONDS]     (make bench-cluster builds and installs what it needs)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
secs=${2:-5}
subscribers=${SUBSCRIBERS:-1000}
posts=${POSTS:-2000}
binary=.build/release/malten
bench=.build/release/malten-bench
[ -x "$binary" ] && [ -x "$bench" ] || { echo "build first: make build" >&2; exit 1; }
command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ] || { echo "nats-server missing: apt-get install nats-server" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)"
dir=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$dir"' EXIT
nats_port=9640
alone=9650
ports=(9651 9652 9653)
open="--rate-limit off --max-connections-per-client off"

/usr/sbin/nats-server -a 127.0.0.1 -p $nats_port -l "$dir/nats.log" & pids+=($!)
sleep 0.5
for port in "${ports[@]}"; do
    "$binary" --host 127.0.0.1 --port "$port" --nats "nats://127.0.0.1:$nats_port" $open 2>"$dir/$port.log" & pids+=($!)
done
"$binary" --host 127.0.0.1 --port $alone $open 2>/dev/null & pids+=($!)
for port in "${ports[@]}" $alone; do
    for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:$port/stats" >/dev/null && break; sleep 0.1; done
done

# The member ids, in the order of $ports, and a stream owned by the first member.
ids=$(for port in "${ports[@]}"; do grep -o 'member=[0-9a-f]*' "$dir/$port.log" | head -1 | cut -d= -f2; done | paste -sd,)
stream=$(python3 - "$ids" <<'PY'
import sys
M = (1 << 64) - 1
def fnv(name):
    h = 0xcbf29ce484222325
    for b in name.encode():
        h = ((h ^ b) * 0x100000001b3) & M
    return h
def mix(v):
    z = (v + 0x9e3779b97f4a7c15) & M
    z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & M
    z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & M
    return z ^ (z >> 31)
ids = [int(i, 16) for i in sys.argv[1].split(",")]
for n in range(1000):
    name = f"bench{n}"
    scores = [mix(i ^ fnv(name)) for i in ids]
    if scores.index(max(scores)) == 0:
        print(name)
        break
PY
)
cat > "$dir/post.lua" <<LUA
local body = "stream=$stream&text=" .. string.rep("x", 100)
request = function()
  return wrk.format("POST", "/messages", {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
LUA
post() { # port → "req/s p50 p99"
    out=$(wrk -t1 -c16 -d"${secs}s" --latency -s "$dir/post.lua" "http://127.0.0.1:$1/messages" 2>&1)
    echo "$(awk '/Requests\/sec/ {print $2}' <<<"$out") $(awk '$1=="50%" {print $2}' <<<"$out") $(awk '$1=="99%" {print $2}' <<<"$out") $(grep -E 'Non-2xx' <<<"$out" | tr -s ' ' || true)"
}

echo "machine: $(nproc) cores, $(uname -m), $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ *//')"
echo "members ${ports[*]} (ids $ids), alone $alone; stream $stream is owned by ${ports[0]}"
printf '%-28s %10s %10s %10s\n' scenario "req/s" p50 p99
for run in $(seq 1 "$runs"); do
    printf '%-28s %s\n' "post_alone" "$(post $alone)"
    printf '%-28s %s\n' "post_cluster_owner" "$(post "${ports[0]}")"
    printf '%-28s %s\n' "post_cluster_forwarded" "$(post "${ports[1]}")"
done
for run in $(seq 1 "$runs"); do
    echo "fanout_alone   $("$bench" fanout --port $alone --subscribers "$subscribers" --posts "$posts")"
    echo "fanout_cluster $("$bench" fanout --port "${ports[1]}" --subscriber-ports "$(IFS=,; echo "${ports[*]}")" --subscribers "$subscribers" --posts "$posts")"
done
