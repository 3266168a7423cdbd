#!/bin/bash
# Writes Sources/malten/symbol-order.txt: every function of the release binary that `malten` (serve)
# runs while it serves the page, a post, a read, a listing and an event stream, then those it runs
# only while it starts and stops, as valgrind's callgrind saw them. lld lays these out first and in
# that order (--symbol-ordering-file), so serving faults in a few dense pages of code instead of one
# 64 KiB fault-around window per function scattered through 16 MB of text, and the pages that only
# start-up touched, which the server gives back once it listens, are not mixed into them (see
# README, Memory). A stale list is harmless: missing
# names are skipped, new functions land in the ordinary order. Rerun after a change of the serve path.
#   Benchmarks/symbol-order.sh              (needs a release build: make build; installs valgrind)
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
binary=.build/release/malten
[ -x "$binary" ] || { echo "build first: make build" >&2; exit 1; }
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Debian's valgrind reads no DWARF 5: profile a copy without debug information (same symbols).
strip --strip-debug -o "$work/malten" "$binary"
port=${MALTEN_ORDER_PORT:-9398}
base=http://127.0.0.1:$port
valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/callgrind.out" \
    "$work/malten" --host 127.0.0.1 --port "$port" 2>"$work/valgrind.log" &
pid=$!
for _ in $(seq 1 240); do curl -sf -o /dev/null "$base/streams" && break; sleep 0.5; done
sleep 2
# Start-up's functions go to the first dump, serving's to the second, stopping's to the last file.
callgrind_control --dump=start "$pid" >/dev/null
for file in / /app.js /e2e.js /app.css /icon.svg; do curl -sf -o /dev/null "$base$file"; done
curl -sf -o /dev/null -X POST "$base/streams" -d 'stream=order&private=true&ttl=600'
curl -sN --max-time 4 -o /dev/null "$base/events?stream=order&since=0" &
events=$!
curl -s --max-time 4 -o /dev/null -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
    -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "$base/events?stream=order" &
socket=$!
sleep 1
for i in $(seq 1 20); do curl -sf -o /dev/null -X POST "$base/messages" -d "stream=order&text=message+$i"; done
curl -sf -o /dev/null "$base/messages?stream=order&limit=25"
curl -sf -o /dev/null "$base/streams?stream=order"
curl -sf -o /dev/null "$base/stats"
curl -s -o /dev/null "$base/messages?stream=a+b" || true
wait $events $socket || true
callgrind_control --dump=serve "$pid" >/dev/null
kill -INT $pid
wait $pid || true
# callgrind names an object and a function once (ob=/cob=, fn=/cfn= with "(id) name") and then
# by id alone; a function ran in the binary when its fn= line stands under the binary's ob=. A
# suffix 'N marks a recursion level of the same function.
ran() {
    awk -v bin="$work/malten" '
        /^c?ob=/ {
            id = $1; sub(/^c?ob=/, "", id); if (NF > 1) { obname[id] = $2 }
            if ($0 ~ /^ob=/) { ob = obname[id] }
            next
        }
        /^c?fn=/ {
            line = $0; key = line; sub(/^c?fn=/, "", key); sub(/ .*/, "", key)
            if (index(line, " ")) { name[key] = substr(line, index(line, " ") + 1); sub(/\047[0-9]+$/, "", name[key]) }
            if (line ~ /^fn=/ && ob == bin) { ran[key] = 1 }
        }
        END { for (k in ran) print name[k] }' "$1" | sort -u
}
nm --defined-only "$binary" | awk '$2 ~ /^[tTwW]$/ { print $3 }' | sort -u >"$work/defined.txt"
serve_dump=$(grep -l '^desc: Trigger: .*serve' "$work"/callgrind.out*)
ran "$serve_dump" | comm -12 - "$work/defined.txt" >"$work/serve.txt"
grep -L '^desc: Trigger: .*serve' "$work"/callgrind.out* | xargs cat >"$work/rest.out"
ran "$work/rest.out" | comm -12 - "$work/defined.txt" | comm -23 - "$work/serve.txt" >"$work/rest.txt"
cat "$work/serve.txt" "$work/rest.txt" >Sources/malten/symbol-order.txt
echo "$(wc -l <"$work/serve.txt") functions serving runs, then $(wc -l <"$work/rest.txt") of start-up and stop, in Sources/malten/symbol-order.txt"
