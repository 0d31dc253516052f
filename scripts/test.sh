#!/usr/bin/env bash
# Runs every test of caregrade, on a fresh Debian machine as on a developer's:
#   pass 1: the whole workspace against SQLite and the local photo directory;
#   pass 2: the server's tests again against PostgreSQL and an S3-compatible store.
# It installs what is missing, starts a throwaway PostgreSQL and moto_server on loopback unless
# the environment already names them (CAREGRADE_TEST_DATABASE_URL, CAREGRADE_TEST_S3_ENDPOINT),
# and stops what it started, also on failure. The last line is the total over both passes, in
# cargo's own format: "test result: ok. N passed; M failed; …".
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
log="$work/test.log"
pg_data=""
moto_pid=""

cleanup() {
    status=$?
    if [ -n "$moto_pid" ]; then kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true; fi
    if [ -n "$pg_data" ]; then as_pg "$pg_bin/pg_ctl" -D "$pg_data" -m immediate -w stop >/dev/null 2>&1 || true; fi
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT INT TERM

say() { printf '== %s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
wait_port() {
    for _ in $(seq 1 100); do
        python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(0 if s.connect_ex(('127.0.0.1', $1)) == 0 else 1)" && return 0
        sleep 0.1
    done
    echo "nothing is listening on 127.0.0.1:$1" >&2
    return 1
}

# ---- what the tests need ------------------------------------------------------------------
apt_updated=""
apt_install() {
    [ "$(id -u)" = 0 ] || { echo "missing Debian packages ($*) and not root: install them" >&2; exit 1; }
    [ -n "$apt_updated" ] || { apt-get update -qq; apt_updated=1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "${CAREGRADE_TEST_DATABASE_URL:-}" ] && { [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; }; then
    say "installing PostgreSQL"
    apt_install postgresql
    pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi
for pkg in libpq-dev libsqlite3-dev pkg-config; do
    dpkg -s "$pkg" >/dev/null 2>&1 || apt_install "$pkg"
done
moto=$(command -v moto_server || true)
if [ -z "${CAREGRADE_TEST_S3_ENDPOINT:-}" ] && [ -z "$moto" ]; then
    venv="$root/target/moto-venv"
    if [ ! -x "$venv/bin/moto_server" ]; then
        say "installing moto_server into $venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install -q 'moto[server]'
    fi
    moto="$venv/bin/moto_server"
fi

# ---- servers on loopback ------------------------------------------------------------------
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ -z "${CAREGRADE_TEST_DATABASE_URL:-}" ]; then
    pg_port=$(free_port)
    pg_data="$work/pg"
    mkdir -p "$pg_data"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$work" "$pg_data"
    as_pg "$pg_bin/initdb" -D "$pg_data" -U postgres -A trust --no-sync -E UTF8 >/dev/null
    as_pg "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_data/log" -w \
        -o "-p $pg_port -c listen_addresses=127.0.0.1 -k $pg_data -c fsync=off -c max_connections=200" start >/dev/null
    CAREGRADE_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/postgres"
    say "PostgreSQL on 127.0.0.1:$pg_port"
fi
if [ -z "${CAREGRADE_TEST_S3_ENDPOINT:-}" ]; then
    s3_port=$(free_port)
    "$moto" -H 127.0.0.1 -p "$s3_port" >"$work/moto.log" 2>&1 &
    moto_pid=$!
    wait_port "$s3_port"
    CAREGRADE_TEST_S3_ENDPOINT="http://127.0.0.1:$s3_port"
    say "moto_server (S3) on $CAREGRADE_TEST_S3_ENDPOINT"
fi
# moto refuses CreateBucket without a LocationConstraint for a region other than us-east-1, so
# the tests use region caregrade-test and let rust-s3 send the constraint (INFRA.md: one or the
# other, not both).
unset RUST_S3_SKIP_LOCATION_CONSTRAINT

# ---- the tests ----------------------------------------------------------------------------
say "pass 1: whole workspace, SQLite + local photo directory"
set +e
env -u CAREGRADE_TEST_DATABASE_URL CAREGRADE_TEST_STORE=local \
    cargo test --workspace --no-fail-fast 2>&1 | tee -a "$log"
pass1=${PIPESTATUS[0]}
set -e

say "pass 2: server tests, PostgreSQL + S3 ($CAREGRADE_TEST_S3_ENDPOINT)"
set +e
CAREGRADE_TEST_DATABASE_URL="$CAREGRADE_TEST_DATABASE_URL" CAREGRADE_TEST_STORE=s3 \
    CAREGRADE_TEST_S3_ENDPOINT="$CAREGRADE_TEST_S3_ENDPOINT" CAREGRADE_TEST_S3_REGION=caregrade-test \
    cargo test -p caregrade --no-fail-fast 2>&1 | tee -a "$log"
pass2=${PIPESTATUS[0]}
set -e

passed=$(awk '/^test result:/ { for (i = 1; i <= NF; i++) if ($(i + 1) ~ /^passed/) p += $i } END { print p + 0 }' "$log")
failed=$(awk '/^test result:/ { for (i = 1; i <= NF; i++) if ($(i + 1) ~ /^failed/) f += $i } END { print f + 0 }' "$log")
if [ "$pass1" != 0 ] || [ "$pass2" != 0 ]; then
    failed=$(( failed > 0 ? failed : 1 ))
fi
verdict=ok
[ "$pass1" = 0 ] && [ "$pass2" = 0 ] || verdict=FAILED
echo "test result: $verdict. ${passed:-0} passed; ${failed:-0} failed; total of both passes (SQLite + local store, PostgreSQL + S3)"
[ "$pass1" = 0 ] && [ "$pass2" = 0 ]
