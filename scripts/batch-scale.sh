#!/usr/bin/env bash
# The Batch API at corpus scale against the fault server (issue 13's acceptance run):
# ITEMS items (default 30000) through `relabel --batch-api` with error lines, content faults
# and one expired batch; then the same run killed (kill -9 from inside, LLMKIT_TEST_KILL_AT)
# after an upload, after a create and during a download, each followed by --resume. Checks:
# every id exactly once; the server saw each custom_id submitted once except the expired
# batch's remainder (twice); each killed-and-resumed output has the same records as the
# uninterrupted one. Prints the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
ITEMS=${ITEMS:-30000}
DIR=${DIR:-$(mktemp -d /tmp/batch-scale.XXXXXX)}
FAULTS=${FAULTS:-line_500=0.01,line_error=0.005,prose=0.01,wrong_count=0.01,truncated=0.005,invalid_distribution=0.01,expire_batch=2}
swift build -q --product promptlab
swift build -q --product fault-server
python3 - "$ITEMS" "$DIR/corpus.jsonl" <<'PY'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
codes = "ASDCFNUH"
with open(path, "w") as f:
    for i in range(n):
        f.write('{"id":"k%06d","descriptions":["typed %d"],"votes":["%s","%s","N","%s"]}\n' % (i + 1, i % 113, codes[i % 8], codes[(i // 8) % 8], codes[(i // 64) % 8]))
PY
trap 'for f in "$DIR"/*.pid; do [ -f "$f" ] && kill -INT "$(cat "$f")" 2>/dev/null; done; true' EXIT
start_server() {  # $1: name; prints the base URL
    .build/debug/fault-server --seed 7 --batch-phase-delays 0.2,2,0.2 --batch-faults "$FAULTS" --counts "$DIR/$1.counts.json" >"$DIR/$1.server.log" 2>&1 &
    echo $! >"$DIR/$1.pid"
    for _ in $(seq 1 100); do grep -q listening "$DIR/$1.server.log" 2>/dev/null && break; sleep 0.05; done
    sed -n 's/listening on //p' "$DIR/$1.server.log"
}
stop_server() {  # $1: name; the server writes its counts when it stops
    local pid; pid=$(cat "$DIR/$1.pid"); rm -f "$DIR/$1.pid"
    kill -INT "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
}
relabel() {  # $1: base URL, $2: output, rest: extra flags
    local url=$1 out=$2; shift 2
    OPENAI_API_KEY=sk-scale .build/debug/promptlab relabel --provider openai --base-url "$url" --model m --dataset "$DIR/corpus.jsonl" \
        --out "$out" --batch-api --batch-max-requests 250 --poll-interval 0.2 --poll-max 1 --quiet --no-cache "$@"
}
url=$(start_server reference)
start=$(date +%s.%N)
relabel "$url" "$DIR/reference.jsonl" --summary-json "$DIR/reference.summary.json" >"$DIR/reference.txt"
echo "batch-scale: $ITEMS items through the Batch API in $(python3 -c "print(round($(date +%s.%N) - $start, 1))") s"
stop_server reference
for point in after-upload after-create during-download; do
    url=$(start_server "$point")
    status=0
    LLMKIT_TEST_KILL_AT="$point:2" relabel "$url" "$DIR/$point.jsonl" >/dev/null 2>&1 || status=$?
    [ "$status" = 137 ] || { echo "batch-scale: the run was not killed at $point (status $status)" >&2; exit 1; }
    relabel "$url" "$DIR/$point.jsonl" --resume >"$DIR/$point.txt"
    stop_server "$point"
done
python3 - "$DIR" "$ITEMS" <<'PY'
import json, sys
d, n = sys.argv[1], int(sys.argv[2])
def records(name):
    return [l for l in open(f"{d}/{name}.jsonl") if not l.startswith('{"journal"')]
ref = records("reference")
ids = [json.loads(l)["id"] for l in ref]
assert ids == ["k%06d" % (i + 1) for i in range(n)], "every id exactly once, in input order"
for name in ["reference", "after-upload", "after-create", "during-download"]:
    c = json.load(open(f"{d}/{name}.counts.json"))["batch"]
    sub = c["submitted"]
    twice = sum(1 for v in sub.values() if v == 2)
    more = sum(1 for v in sub.values() if v > 2)
    print(f"batch-scale: {name}: {c['batches_created']} batches ({c['statuses']}), {len(sub)} custom_ids submitted, "
          f"{twice} twice (the expired remainder), {more} more than twice; line outcomes {c['line_outcomes']}")
    assert more == 0 and c["statuses"].get("expired") == 1
    if name != "reference":
        assert records(name) == ref, f"{name}: the resumed output differs from the uninterrupted one"
        print(f"batch-scale: {name}: killed, resumed, same {len(ref)} records as the uninterrupted run")
s = json.load(open(f"{d}/reference.summary.json"))
print(f"batch-scale: relabeled {s['relabeled']} of {s['items']}, failed {s['failed_by_kind']}, expired resubmitted {s['batch']['expired_resubmitted']}, "
      f"error lines {s['batch']['error_lines']}, follow-up waves {s['batch']['follow_up_waves']}")
assert s["batch"]["expired_resubmitted"] == twice
PY
echo "batch-scale: passed ($DIR)"
