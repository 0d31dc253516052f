#!/usr/bin/env bash
# API throughput next to a bare actix-web handler, measured in the same run on loopback:
#   GET /api/v1/me with a valid token (caregrade serve, SQLite, default config)
#   GET /bare (api/examples/bare_server.rs: one JSON handler, nothing else)
# plus the time of one login (argon2id). Needs wrk (apt-get install wrk). Figures go to
# docs/performance.md under "## API".
# COMPARE_BIN=/path/to/another/caregrade also measures that build's /me in the same run (e.g. the
# build before a change), on the same machine state.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-15s}
connections=${CONNECTIONS:-64}
cargo build --release -q -p caregrade --bin caregrade --example bare_server
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
# Starts `caregrade serve` of BIN on PORT with its data in DIR and waits until it answers.
serve() {
    mkdir -p "$3"
    (cd "$3" && CAREGRADE_LISTEN=127.0.0.1:$2 CAREGRADE_ADMIN_PASSWORD=bench-password-1 \
        exec "$1" serve >"$3/serve.log" 2>&1) &
    pids+=($!)
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$2/healthz" >/dev/null && return; sleep 0.1; done
}
# Logs in as the admin on PORT: the response goes to FILE, the time taken to stdout.
login() { curl -s -o "$2" -w '%{time_total}\n' "http://127.0.0.1:$1/api/v1/auth/login" \
    -H 'content-type: application/json' -d '{"username":"admin","password":"bench-password-1"}'; }
access_token() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["access_token"])' "$1"; }

serve "$PWD/target/release/caregrade" 18090 "$work/main"
target/release/examples/bare_server 127.0.0.1:18091 >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:18091/bare >/dev/null && break; sleep 0.1; done

login 18090 "$work/login.json" >/dev/null
times=$(for _ in $(seq 1 20); do login 18090 "$work/login.json"; done | sort -n)
echo "login (argon2id, 20 sequential): median $(echo "$times" | sed -n 10p) s, min $(echo "$times" | head -1) s, max $(echo "$times" | tail -1) s"
token=$(access_token "$work/login.json")

# Server CPU time (user + system, all threads) per request: steadier than req/s on a noisy
# machine, because it does not depend on how much CPU wrk got in the meantime.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
per_request_us() { python3 -c "import os; print(round(($2 - $1) / os.sysconf('SC_CLK_TCK') * 1e6 / $3, 2))"; }
requests() { echo "$1" | awk '/requests in/ {print $1}'; }

t0=$(cpu_ticks "${pids[0]}")
me=$(wrk -t2 -c"$connections" -d"$duration" -H "Authorization: Bearer $token" http://127.0.0.1:18090/api/v1/me)
t1=$(cpu_ticks "${pids[0]}")
b0=$(cpu_ticks "${pids[1]}")
bare=$(wrk -t2 -c"$connections" -d"$duration" http://127.0.0.1:18091/bare)
b1=$(cpu_ticks "${pids[1]}")
echo "$me"; echo "$bare"
me_rps=$(echo "$me" | awk '/Requests\/sec/ {print $2}')
bare_rps=$(echo "$bare" | awk '/Requests\/sec/ {print $2}')
echo "GET /api/v1/me: $me_rps req/s; bare actix-web: $bare_rps req/s; ratio $(python3 -c "print(round($me_rps/$bare_rps, 3))")"
echo "server CPU per request: /me $(per_request_us "$t0" "$t1" "$(requests "$me")") us; bare $(per_request_us "$b0" "$b1" "$(requests "$bare")") us"

if [ -n "${COMPARE_BIN:-}" ]; then
    serve "$COMPARE_BIN" 18092 "$work/compare"
    login 18092 "$work/compare/login.json" >/dev/null
    ctoken=$(access_token "$work/compare/login.json")
    c0=$(cpu_ticks "${pids[2]}")
    other=$(wrk -t2 -c"$connections" -d"$duration" -H "Authorization: Bearer $ctoken" http://127.0.0.1:18092/api/v1/me)
    c1=$(cpu_ticks "${pids[2]}")
    other_rps=$(echo "$other" | awk '/Requests\/sec/ {print $2}')
    echo "GET /api/v1/me on $COMPARE_BIN: $other_rps req/s; ratio to bare $(python3 -c "print(round($other_rps/$bare_rps, 3))"); CPU per request $(per_request_us "$c0" "$c1" "$(requests "$other")") us"
fi
