#!/usr/bin/env bash
# nginx as the fixed-answer server of the client benchmark (issue 12), and its ceiling.
#
#   bench/nginx.sh [SECONDS=10] [BODY_FILE]
#
# Installs Debian's nginx and wrk when missing (apt-get as root; `apt-get update` first on a
# machine without package lists), starts nginx with its own configuration and prefix in a
# temporary folder on 127.0.0.1 (a free port; one worker, keepalive, no access log) answering
# `POST /v1/chat/completions` with one fixed, valid chat completion whose content is a 30-item
# answer of the output contract (bench/nginx_answer.py writes both), checks the answer, then
# measures nginx's ceiling with wrk: POST of a realistic request body (BODY_FILE, default a
# synthetic promptlab-shaped request of ~4.4 KB), 2 threads, 16 connections, SECONDS. Prints
# req/s, latency and nginx's own CPU per request. nginx is stopped by pid on exit.
#
# bench/client.sh sources this file for the same functions (nginx_start, nginx_stop,
# nginx_ceiling, bench_install_tools); sourcing runs nothing.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NGINX_PID=""

# apt-get install of the Debian packages that provide the given commands (command:package).
bench_install_tools() {
    local missing=() pair
    for pair in "$@"; do
        command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" != 0 ]; then
        echo "Missing: ${missing[*]}. Install them with:  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
        return 1
    fi
    echo "Installing ${missing[*]} ..." >&2
    # Keep the package's own nginx service (port 80) from starting: this benchmark runs its own.
    local policy_made=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && policy_made=1
    fi
    if ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then apt-get update -q >&2 || true; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2 \
        || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2; }
    local rc=$?
    [ -n "$policy_made" ] && rm -f /usr/sbin/policy-rc.d
    return $rc
}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# nginx_start DIR: writes the answer and the configuration into DIR, starts nginx, sets
# NGINX_PID (the master), NGINX_PORT, NGINX_URL (base URL, ending in /v1) and checks one answer.
nginx_start() {
    local dir=$1 attempt
    for attempt in 1 2 3 4 5; do
        NGINX_PORT=$(free_port)
        python3 "$BENCH_DIR/nginx_answer.py" "$dir" "$NGINX_PORT" || return 1
        nginx -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" &
        NGINX_PID=$!
        NGINX_URL="http://127.0.0.1:$NGINX_PORT/v1"
        local i
        for i in $(seq 1 100); do
            if python3 - "$NGINX_URL/chat/completions" "$dir/answer.json" 2>/dev/null <<'PY'
import sys, urllib.request
got = urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=b"{}", headers={"Content-Type": "application/json"}), timeout=2).read()
sys.exit(0 if got == open(sys.argv[2], "rb").read() else 3)
PY
            then return 0; fi
            kill -0 "$NGINX_PID" 2>/dev/null || break
            sleep 0.05
        done
        nginx_stop
        echo "nginx did not answer on port $NGINX_PORT (attempt $attempt): $(tail -n 2 "$dir/error.log" 2>/dev/null)" >&2
    done
    return 1
}

nginx_stop() {
    if [ -n "$NGINX_PID" ]; then
        kill -TERM "$NGINX_PID" 2>/dev/null || true
        { wait "$NGINX_PID" || true; } 2>/dev/null
        NGINX_PID=""
    fi
}

# CPU seconds (user + system) of nginx's worker so far (the master's only child).
nginx_worker_cpu() {
    local worker
    worker=$(pgrep -P "$NGINX_PID" | head -n 1)
    [ -n "$worker" ] || { echo 0; return; }
    awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$worker/stat"
}

# Connections nginx has accepted so far (stub_status; this query's own connection excluded).
nginx_accepts() {
    python3 - "http://127.0.0.1:$NGINX_PORT/nginx_status" <<'PY'
import sys, urllib.request
lines = urllib.request.urlopen(sys.argv[1], timeout=5).read().decode().splitlines()
print(int(lines[2].split()[0]) - 1)
PY
}

# nginx_ceiling BODY_FILE SECONDS: wrk -t2 -c16 POSTing BODY_FILE; sets CEILING_RPS and prints a line.
nginx_ceiling() {
    local body=$1 seconds=${2:-10} out before after requests
    before=$(nginx_worker_cpu)
    out=$(WRK_BODY="$body" wrk -t2 -c16 -d"${seconds}s" --latency -s "$BENCH_DIR/wrk_post.lua" "$NGINX_URL/chat/completions")
    after=$(nginx_worker_cpu)
    CEILING_RPS=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    requests=$(awk '/requests in/ { print $1 }' <<<"$out")
    local errors
    errors=$(awk '/Non-2xx|Socket errors/' <<<"$out")
    [ -n "$errors" ] && echo "wrk reported: $errors" >&2
    python3 - "$CEILING_RPS" "$requests" "$before" "$after" "$(wc -c <"$body")" "$seconds" "$(awk '/^ +50%/ { print $2 }' <<<"$out")" "$(awk '/^ +99%/ { print $2 }' <<<"$out")" <<'PY'
import sys
rps, requests, before, after, size, seconds, p50, p99 = sys.argv[1:9]
cpu = (float(after) - float(before)) / int(requests) * 1e6
print(f"nginx ceiling (wrk -t2 -c16 -d{seconds}s, POST {int(size):,} B body): {float(rps):,.0f} req/s, "
      f"latency p50 {p50} p99 {p99}, nginx worker CPU {cpu:.1f} us/request")
PY
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    SECONDS_=${1:-10}
    bench_install_tools nginx:nginx wrk:wrk
    WORK=$(mktemp -d /tmp/llmkit-nginx.XXXXXX)
    trap 'nginx_stop; rm -rf "$WORK"' EXIT
    nginx_start "$WORK"
    BODY=${2:-$WORK/request.json}
    echo "nginx $(nginx -v 2>&1 | sed 's/.*nginx\///') on $NGINX_URL: one fixed chat completion of $(wc -c <"$WORK/answer.json") B (30 items)"
    nginx_ceiling "$BODY" "$SECONDS_"
fi
