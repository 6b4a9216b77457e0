#!/usr/bin/env bash
# Local llama.cpp throughput: `promptlab relabel --provider llamacpp` against a direct client
# that sends the same request bodies and keeps every slot busy, and the share of prompt tokens
# served from llama.cpp's prompt cache.
#
#   bench/llamacpp.sh [BATCHES=12] [BATCH=6] [SLOTS=2] [PROMPT=paper-reason] [ROUNDS=1]
#
# Steps: starts a llama-server with Gemma 3 270M (scripts/llama-server, port 18090, SLOTS
# slots), builds a release promptlab, takes BATCHES x BATCH items of the bundled sample
# (repeated with new ids when the sample is shorter), captures promptlab's request bodies for
# them against bench/capture_bodies.py (fixed answers, GETs forwarded to the server, so the
# bodies are exactly those of the timed run), then per round runs
#   promptlab relabel --provider llamacpp --prompt PROMPT --items-per-request BATCH --no-cache --quiet
#   bench/llamacpp_direct.py URL BODIES        # one thread per slot, same bodies, no streaming
# and prints items/s for each, promptlab's share of the direct client's items/s, and the
# cached share of prompt tokens (llama.cpp's timings.cache_n over prompt tokens) for both.
# Every timed run gets a freshly started server, and the order alternates by round (promptlab
# first in odd rounds, the direct client first in even ones): llama.cpp keeps whole prompts it
# has processed, so a client that runs second on the same server finds every prompt of the
# first run cached (measured: 99.4% of prompt tokens, 5 tokens evaluated per request) and is
# timed on generation alone. promptlab's response cache is off; within a run the server's
# prompt cache can only serve the shared system prefix (each batch's data differs).
set -euo pipefail
cd "$(dirname "$0")/.."
BATCHES=${1:-12}; BATCH=${2:-6}; SLOTS=${3:-2}; PROMPT=${4:-paper-reason}; ROUNDS=${5:-1}
PORT=${BENCH_LLAMA_PORT:-18090}
WORK=$(mktemp -d /tmp/llmkit-bench-llamacpp.XXXXXX)
URL=http://127.0.0.1:$PORT

scripts/llama-server start --port "$PORT" --slots "$SLOTS"
capture_pid=
cleanup() { [ -n "$capture_pid" ] && kill "$capture_pid" 2>/dev/null; scripts/llama-server stop --port "$PORT"; }
trap cleanup EXIT

echo "building a release promptlab ..." >&2
swift build -c release -q --product promptlab
PROMPTLAB=$PWD/.build/release/promptlab

ITEMS=$((BATCHES * BATCH))
python3 - fixtures/sample/sample.jsonl "$WORK/corpus.jsonl" "$ITEMS" <<'PY'
import json, sys
source = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
with open(sys.argv[2], "w") as out:
    for i in range(int(sys.argv[3])):
        item = dict(source[i % len(source)])
        item["id"] = f"{item['id']}-{i // len(source)}" if i >= len(source) else item["id"]
        out.write(json.dumps(item) + "\n")
PY

# promptlab's bodies for this corpus: the same command against a capturing server.
mkdir -p "$WORK/answer"
python3 bench/nginx_answer.py "$WORK/answer" 1 "$BATCH" >/dev/null
python3 bench/capture_bodies.py "$WORK/capture.port" "$WORK/bodies.jsonl" "$WORK/answer/answer.json" "$URL" &
capture_pid=$!
for _ in $(seq 1 50); do [ -s "$WORK/capture.port" ] && break; sleep 0.1; done
relabel() {  # BASE_URL OUT
    "$PROMPTLAB" relabel --provider llamacpp --base-url "$1" --prompt "$PROMPT" --items-per-request "$BATCH" \
        --dataset "$WORK/corpus.jsonl" --out "$2" --overwrite --no-cache --quiet --summary-json "$2.summary.json"
}
relabel "http://127.0.0.1:$(cat "$WORK/capture.port")" "$WORK/capture.jsonl" >/dev/null
kill "$capture_pid"; wait "$capture_pid" 2>/dev/null || true; capture_pid=
echo "captured $(wc -l <"$WORK/bodies.jsonl") request bodies of $BATCH items ($ITEMS items, prompt $PROMPT)" >&2

fresh_server() {
    scripts/llama-server stop --port "$PORT" >/dev/null 2>&1 || true
    scripts/llama-server start --port "$PORT" --slots "$SLOTS" >/dev/null 2>"$WORK/server-start.log" ||
        { cat "$WORK/server-start.log" >&2; exit 1; }
}
run_promptlab() { echo "round $1: promptlab ..." >&2; fresh_server; relabel "$URL" "$WORK/promptlab.$1.jsonl" >/dev/null; }
run_direct() {
    echo "round $1: direct client ..." >&2; fresh_server
    python3 bench/llamacpp_direct.py "$URL" "$WORK/bodies.jsonl" >"$WORK/direct.$1.json"
}
for round in $(seq 1 "$ROUNDS"); do
    if [ $((round % 2)) -eq 1 ]; then run_promptlab "$round"; run_direct "$round"
    else run_direct "$round"; run_promptlab "$round"; fi
done

python3 - "$WORK" "$ROUNDS" "$ITEMS" <<'PY'
import json, statistics, sys
work, rounds, items = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows = []
for r in range(1, rounds + 1):
    s = json.load(open(f"{work}/promptlab.{r}.jsonl.summary.json"))
    d = json.load(open(f"{work}/direct.{r}.json"))
    p_rate = s["items"] / s["wall_seconds"]
    p_cached = s["cached_tokens"] / max(1, s["prompt_tokens"])
    d_cached = d["cached_tokens"] / max(1, d["prompt_tokens"])
    rows.append((p_rate, d["items_per_second"], p_rate / d["items_per_second"], p_cached, d_cached))
    print(f"round {r}: promptlab {s['items']} items in {s['wall_seconds']:.1f} s = {p_rate:.3f} items/s "
          f"({s['relabeled']} relabeled, {s['requests']} requests); direct {d['items']} items in {d['wall_seconds']:.1f} s = "
          f"{d['items_per_second']:.3f} items/s ({d['answered_items']} answered, {d['requests']} requests, {d['slots']} slots)")
    print(f"         cached share of prompt tokens: promptlab {p_cached:.1%} ({s['cached_tokens']} of {s['prompt_tokens']}), "
          f"direct {d_cached:.1%} ({d['cached_tokens']} of {d['prompt_tokens']})")
m = [statistics.median(c) for c in zip(*rows)]
print(f"median: promptlab {m[0]:.3f} items/s, direct {m[1]:.3f} items/s, promptlab/direct {m[2]:.1%}; "
      f"cached share promptlab {m[3]:.1%}, direct {m[4]:.1%}")
PY
echo "work folder: $WORK" >&2
