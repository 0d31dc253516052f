#!/usr/bin/env bash
# API throughput next to a bare actix-web handler, measured in the same run on loopback:
#   GET /api/v1/me with a valid token (caregrade serve, SQLite, default config)
#   GET /bare (api/examples/bare_server.rs: one JSON handler, nothing else)
# plus the time of one login (argon2id). Needs wrk (apt-get install wrk). Figures go to
# docs/performance.md under "## API".
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-15s}
connections=${CONNECTIONS:-64}
cargo build --release -q -p caregrade --bin caregrade --example bare_server
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
(cd "$work" && CAREGRADE_LISTEN=127.0.0.1:18090 CAREGRADE_ADMIN_PASSWORD=bench-password-1 \
    exec "$OLDPWD/target/release/caregrade" serve >"$work/serve.log" 2>&1) &
pids+=($!)
target/release/examples/bare_server 127.0.0.1:18091 >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:18090/healthz >/dev/null && curl -sf http://127.0.0.1:18091/bare >/dev/null && break; sleep 0.1; done

login() { curl -s -o "$work/login.json" -w '%{time_total}\n' http://127.0.0.1:18090/api/v1/auth/login \
    -H 'content-type: application/json' -d '{"username":"admin","password":"bench-password-1"}'; }
login >/dev/null
times=$(for _ in $(seq 1 20); do login; done | sort -n)
echo "login (argon2id, 20 sequential): median $(echo "$times" | sed -n 10p) s, min $(echo "$times" | head -1) s, max $(echo "$times" | tail -1) s"
token=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["access_token"])' "$work/login.json")

me=$(wrk -t2 -c"$connections" -d"$duration" -H "Authorization: Bearer $token" http://127.0.0.1:18090/api/v1/me)
bare=$(wrk -t2 -c"$connections" -d"$duration" http://127.0.0.1:18091/bare)
echo "$me"; echo "$bare"
me_rps=$(echo "$me" | awk '/Requests\/sec/ {print $2}')
bare_rps=$(echo "$bare" | awk '/Requests\/sec/ {print $2}')
echo "GET /api/v1/me: $me_rps req/s; bare actix-web: $bare_rps req/s; ratio $(python3 -c "print(round($me_rps/$bare_rps, 3))")"
grep -c '" 200' "$work/serve.log" >/dev/null || true
