#!/usr/bin/env bash
# Issue 23's Batch API measurement: ITEMS items (default 150000, a synthetic corpus under
# /tmp) through `relabel --batch-api` against the fault server, whose first batch's output file
# is padded to PAD more bytes (default 2 GiB: 2147483648; "endless" never ends). Prints the
# wall time, CPU time and peak RSS of the relabel process (/usr/bin/time -v), the dataset
# passes it reports (summary JSON `batch.dataset_passes`, absent before issue 23) and what
# the server saw. PROMPTLAB and FAULT_SERVER name the binaries (default: debug builds, built
# here unless NO_BUILD is set), EXTRA adds relabel flags (e.g. "--max-download-mib 64"), RUN_ENV
# sets environment variables for the relabel process (e.g. "MALLOC_ARENA_MAX=8").
set -euo pipefail
cd "$(dirname "$0")/.."
ITEMS=${ITEMS:-150000}
PAD=${PAD:-2147483648}
PROMPTLAB=${PROMPTLAB:-.build/debug/promptlab}
FAULT_SERVER=${FAULT_SERVER:-.build/debug/fault-server}
DIR=${DIR:-$(mktemp -d /tmp/batch-measure.XXXXXX)}
mkdir -p "$DIR"
if [ -z "${NO_BUILD:-}" ]; then swift build -q --product promptlab; swift build -q --product fault-server; fi
CORPUS=${CORPUS:-/tmp/batch-measure-corpus-$ITEMS.jsonl}
if [ ! -s "$CORPUS" ]; then
python3 - "$ITEMS" "$CORPUS" <<'PY'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
codes = "ASDCFNUH"
with open(path, "w") as f:
    for i in range(n):
        f.write('{"id":"k%06d","descriptions":["typed %d"],"votes":["%s","%s","N","%s"]}\n' % (i + 1, i % 113, codes[i % 8], codes[(i // 8) % 8], codes[(i // 64) % 8]))
PY
fi
"$FAULT_SERVER" --seed 7 --batch-phase-delays 0.2,2,0.2 --batch-faults wrong_count=0.01 --batch-output-padding "$PAD" \
    --counts "$DIR/counts.json" >"$DIR/server.log" 2>&1 &
SERVER=$!
trap 'kill -INT $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 200); do grep -q listening "$DIR/server.log" 2>/dev/null && break; sleep 0.05; done
URL=$(sed -n 's/listening on //p' "$DIR/server.log")
rm -f "$DIR/out.jsonl" "$DIR/out.jsonl.batches.json"
status=0
/usr/bin/time -v -o "$DIR/time.txt" env ${RUN_ENV:-} OPENAI_API_KEY=sk-measure "$PROMPTLAB" relabel --provider openai --base-url "$URL" --model m \
    --dataset "$CORPUS" --out "$DIR/out.jsonl" --batch-api --batch-max-requests 250 --poll-interval 0.2 --poll-max 1 --quiet --no-cache \
    --summary-json "$DIR/summary.json" ${EXTRA:-} >"$DIR/relabel.out" 2>"$DIR/relabel.err" || status=$?
kill -INT $SERVER; wait $SERVER 2>/dev/null || true; trap - EXIT
python3 - "$DIR" "$ITEMS" "$PAD" "$status" <<'PY'
import json, re, sys
d, n, pad, status = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
t = open(f"{d}/time.txt").read()
def field(name):
    m = re.search(re.escape(name) + r":\s*(.+)", t)
    return m.group(1).strip() if m else "?"
print(f"batch-measure: {n} items, first output file padded by {pad} bytes; relabel exit status {status}")
print(f"batch-measure: wall {field('Elapsed (wall clock) time (h:mm:ss or m:ss)')}, user {field('User time (seconds)')} s, "
      f"system {field('System time (seconds)')} s, CPU {field('Percent of CPU this job got')}, "
      f"peak RSS {int(field('Maximum resident set size (kbytes)')) / 1024:.1f} MiB")
try:
    s = json.load(open(f"{d}/summary.json"))
    b = s.get("batch", {})
    print(f"batch-measure: relabeled {s.get('relabeled')} of {s.get('items')}; batches created {b.get('batches_created')}, "
          f"follow-up waves {b.get('follow_up_waves')}, dataset passes {b.get('dataset_passes', 'not counted')}")
except (OSError, ValueError):
    print("batch-measure: no summary (the run failed): " + open(f"{d}/relabel.err").read().strip()[-400:])
c = json.load(open(f"{d}/counts.json"))["batch"]
print(f"batch-measure: server: {c['batches_created']} batches, {len(c['submitted'])} custom_ids submitted, statuses {c['statuses']}")
print(f"batch-measure: files in {d}")
PY
