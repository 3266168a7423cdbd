#!/bin/bash
# The OpenAPI document checked against the server it describes: openapi-spec-validator validates
# openapi.yaml, then schemathesis runs every operation but the endless GET /events against a live
# `malten serve` (the release binary, as an unprivileged user when run as root) for MAX_TIME
# seconds, from seed SEED (1 unless set, so that a run can be repeated): no 5xx, no response
# outside its schema, no crash, and a canary stream posted before the run is still exactly what it
# was. The tools live in a virtual environment under .build/.
set -euo pipefail
cd "$(dirname "$0")/../.."
binary=${MALTEN_BINARY:-$PWD/.build/release/malten}
max_time=${MAX_TIME:-60}
seed=${SEED:-1}
venv=.build/openapi-venv
requirements=Tests/OpenAPI/requirements.txt

if ! cmp -s "$requirements" "$venv/requirements.txt" 2>/dev/null; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$venv/requirements.txt"
fi
"$venv/bin/openapi-spec-validator" openapi.yaml

work=$(mktemp -d)
chmod 0755 "$work"
server=""
cleanup() {
    if [ -n "$server" ]; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# The server, as its users run it: a copy anyone may read, as nobody when we are root, with its
# defaults (no MALTEN_* setting from this shell). The per-client limits are off so that the fuzzer
# reaches the handlers (their own tests keep them on), and the canary outlives any MAX_TIME.
install -m 0755 "$binary" "$work/malten"
as_user=()
[ "$(id -u)" = 0 ] && as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
unset $(compgen -e | grep '^MALTEN_') 2>/dev/null || true
"${as_user[@]}" "$work/malten" serve --host 127.0.0.1 --port 0 --rate-limit off \
    --max-connections-per-client off --ttl 86400 2> "$work/server.log" &
server=$!
port=""
for _ in $(seq 300); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/server.log" | head -1)
    [ -n "$port" ] && break
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
done
[ -n "$port" ] || { echo "malten serve did not start:" >&2; cat "$work/server.log" >&2; exit 1; }
base="http://127.0.0.1:$port"

canary="canary-$RANDOM$RANDOM"
for text in "first" "second, with spaces & symbols" "third ✓"; do
    curl -sf -o /dev/null --data-urlencode "stream=$canary" --data-urlencode "text=$text" "$base/messages"
done
curl -sf "$base/messages?stream=$canary" > "$work/canary-before.json"

# From the scratch folder, where schemathesis leaves its cache.
(cd "$work" && "$OLDPWD/$venv/bin/schemathesis" --config-file "$OLDPWD/Tests/OpenAPI/schemathesis.toml" \
    run "$OLDPWD/openapi.yaml" --url "$base" --checks all --exclude-path /events --max-time "$max_time" \
    --workers 1 --seed "$seed" --generation-database none --no-color) || status=$?
status=${status:-0}

kill -0 "$server" 2>/dev/null || { echo "the server died during the run:" >&2; cat "$work/server.log" >&2; exit 1; }
curl -sf "$base/messages?stream=$canary" > "$work/canary-after.json"
if ! cmp -s "$work/canary-before.json" "$work/canary-after.json"; then
    echo "the canary stream changed during the run:" >&2
    diff "$work/canary-before.json" "$work/canary-after.json" >&2 || true
    exit 1
fi
echo "canary stream intact: $(grep -o '"Id"' "$work/canary-after.json" | wc -l) messages"
exit "$status"
