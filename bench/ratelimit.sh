#!/usr/bin/env bash
# Rate limits used fully without 429 storms (issue 12): promptlab relabel against the fault
# server with OpenAI-style limits (continuous buckets for requests and tokens, x-ratelimit-*
# headers on every answer, tokens counted as prompt estimate + max_completion_tokens, enforced
# per second), with the same --rpm/--tpm on the client, for SECONDS each:
#   1. requests-bound: 600 RPM (10 a second);
#   2. tokens-bound: 200,000 TPM (3,333 tokens a second; a 30-item request costs ~7,000).
# Prints, from the server's per-second timeline: the share of the binding limit used in steady
# state (the first and last second left out), the share of requests answered 429, and the
# largest excess over the per-second share in any second.
#   bench/ratelimit.sh [SECONDS=300]      # RATELIMIT_CASES="requests tokens" (the default) picks the cases
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_CASE=${1:-300}
WORK=$(mktemp -d /tmp/llmkit-ratelimit.XXXXXX)
SERVER=""
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; rm -rf "$WORK"' EXIT
make -s deps
swift build -c release -q --product promptlab
swift build -c release -q --product fault-server

run_case() {   # name rpm tpm items batch
    local name=$1 rpm=$2 tpm=$3 items=$4 batch=$5
    python3 bench/make_corpus.py "$items" "$WORK/$name.jsonl"
    local server_args=(--limit-window second --counts "$WORK/$name.counts.json")
    local client_args=()
    [ "$rpm" != - ] && server_args+=(--rpm "$rpm") && client_args+=(--rpm "$rpm")
    [ "$tpm" != - ] && server_args+=(--tpm "$tpm") && client_args+=(--tpm "$tpm")
    .build/release/fault-server "${server_args[@]}" >"$WORK/$name.server.out" &
    SERVER=$!
    for _ in $(seq 1 100); do grep -q listening "$WORK/$name.server.out" 2>/dev/null && break; sleep 0.05; done
    local url; url=$(sed -n 's/listening on //p' "$WORK/$name.server.out")
    OPENAI_API_KEY=bench .build/release/promptlab relabel --provider openai --base-url "$url" --model bench \
        --dataset "$WORK/$name.jsonl" --out "$WORK/$name.out.jsonl" --overwrite --no-cache --quiet \
        --items-per-request "$batch" --concurrency 16 "${client_args[@]}" --summary-json "$WORK/$name.summary.json" >/dev/null
    kill -TERM "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
    python3 - "$name" "$WORK/$name.counts.json" "$WORK/$name.summary.json" <<'PY'
import json, sys
name, counts, summary = sys.argv[1], json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
s = counts["limit_summary"]
share = s.get("request_share") if s.get("token_share") is None else max(s.get("request_share") or 0, s["token_share"])
excess = s.get("max_excess_requests")
print(f"{name:<16} {summary['wall_seconds']:7.1f} s  {summary['requests']:6d} requests  steady {s['steady_seconds']:4d} s: "
      f"{100 * (s.get('request_share') or 0):5.1f}% of RPM, {100 * (s.get('token_share') or 0):5.1f}% of TPM used; "
      f"429s {100 * s['rejection_rate']:.2f}% of requests; largest excess in a second: "
      f"{excess if excess is not None else '-'} requests, {s.get('max_excess_tokens', '-')} tokens; "
      f"client attempts {summary['attempts']}, server requests {counts['requests']}")
PY
}

echo "rate limits, $SECONDS_PER_CASE s per case, limits enforced per second by the fault server:"
CASES=${RATELIMIT_CASES:-requests tokens}
case " $CASES " in *" requests "*) run_case requests-bound 600 - $((SECONDS_PER_CASE * 10 * 10)) 10 ;; esac
# ~7,000 tokens per 30-item request at 200k TPM: ~0.48 requests a second.
case " $CASES " in *" tokens "*) run_case tokens-bound - 200000 $((SECONDS_PER_CASE * 48 * 30 / 100)) 30 ;; esac
