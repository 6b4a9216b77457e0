#!/usr/bin/env bash
# Scale benchmark (issue 5), for the fault-injecting server only: relabels a synthetic corpus
# against fault-server at zero latency and prints wall time, requests/s, peak memory and CPU
# per request, for promptlab and for openai-python's AsyncOpenAI sending the same request
# bodies at the same concurrency.
#   bench/scale.sh [ITEMS=150000] [CONCURRENCY=16]
# Not a measure of client cost: fault-server (a thread per connection) is the bottleneck for
# both clients here, and the Python side calls jsonschema.validate per answer (issue 12). The
# client-cost benchmark is bench/client.sh (nginx with a fixed answer, a compiled validator);
# the per-request micro benchmarks are bench/micro.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
ITEMS=${1:-150000}
CONCURRENCY=${2:-16}
WORK=$(mktemp -d /tmp/llmkit-bench.XXXXXX)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT

swift build -c release -q --product promptlab
swift build -c release -q --product fault-server
if [ ! -x .venv-bench/bin/python ]; then python3 -m venv .venv-bench; fi
.venv-bench/bin/python -c "import openai, jsonschema" 2>/dev/null || .venv-bench/bin/pip install -q --disable-pip-version-check openai jsonschema

python3 bench/make_corpus.py "$ITEMS" "$WORK/corpus.jsonl"

start_server() {
    .build/release/fault-server --log-bodies "$1" --counts "$WORK/counts.json" >"$WORK/server.out" &
    SERVER=$!
    for _ in $(seq 1 100); do grep -q listening "$WORK/server.out" 2>/dev/null && break; sleep 0.05; done
    URL=$(sed -n 's/listening on //p' "$WORK/server.out")
}
stop_server() { kill -TERM $SERVER; wait $SERVER 2>/dev/null || true; }

# /usr/bin/time -v: "Elapsed (wall clock)", "Maximum resident set size (kbytes)", user and system seconds.
measure() {
    local log=$1; shift
    /usr/bin/time -v "$@" 2>"$log" >/dev/null
    python3 - "$log" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def field(name):
    return re.search(re.escape(name) + r": (.*)", text).group(1).strip()
wall = field("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":")
seconds = sum(float(x) * 60 ** i for i, x in enumerate(reversed(wall)))
print(f"{seconds:.2f} {int(field('Maximum resident set size (kbytes)')) / 1024:.1f} {float(field('User time (seconds)')) + float(field('System time (seconds)')):.2f}")
PY
}

start_server "$WORK/bodies.jsonl"
read -r SW SMB SCPU < <(measure "$WORK/swift.time" .build/release/promptlab relabel --provider openai --base-url "$URL" --model bench \
    --dataset "$WORK/corpus.jsonl" --out "$WORK/swift.jsonl" --concurrency "$CONCURRENCY" --no-cache --quiet --summary-json "$WORK/swift.json")
stop_server
REQUESTS=$(python3 -c "import json; print(json.load(open('$WORK/counts.json'))['requests'])")
RELABELED=$(python3 -c "import json; print(json.load(open('$WORK/swift.json'))['relabeled'])")

start_server "$WORK/ignored.jsonl"
read -r PW PMB PCPU < <(measure "$WORK/python.time" .venv-bench/bin/python bench/openai_baseline.py --base-url "$URL" \
    --bodies "$WORK/bodies.jsonl" --concurrency "$CONCURRENCY" --out "$WORK/python.jsonl")
stop_server

python3 - "$ITEMS" "$REQUESTS" "$RELABELED" "$CONCURRENCY" "$SW" "$SMB" "$SCPU" "$PW" "$PMB" "$PCPU" <<'PY'
import sys
items, requests, relabeled, concurrency = map(int, sys.argv[1:5])
sw, smb, scpu, pw, pmb, pcpu = map(float, sys.argv[5:])
print(f"scale benchmark: {items} items, {requests} requests of up to 30, concurrency {concurrency}, fault server at zero latency")
print(f"{'client':<32}{'wall s':>9}{'req/s':>9}{'peak MB':>9}{'CPU ms/req':>12}")
print(f"{'promptlab relabel':<32}{sw:>9.2f}{requests / sw:>9.0f}{smb:>9.1f}{1000 * scpu / requests:>12.2f}   ({relabeled} relabeled)")
print(f"{'openai-python AsyncOpenAI':<32}{pw:>9.2f}{requests / pw:>9.0f}{pmb:>9.1f}{1000 * pcpu / requests:>12.2f}")
PY
