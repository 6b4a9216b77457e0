#!/usr/bin/env bash
# Client-cost benchmark (issue 12): promptlab relabel against openai-python's AsyncOpenAI, both
# against the same nginx serving one fixed valid 30-item answer (bench/nginx.sh), so the
# server costs ~10-25 us a request and the clients' own CPU is what is measured.
#
#   bench/client.sh [ITEMS=150000] [CONCURRENCY=16] [ROUNDS=2]
#
# ITEMS must be a multiple of 30 (every request is a full batch: the fixed answer has 30
# items). Environment: WRK_SECONDS (10) for nginx's ceiling; MEMORY_LINE=0 skips the extra
# promptlab run made for the 15k-vs-150k memory line; BENCH_JSON=FILE also writes every figure
# as JSON.
#
# Steps: installs nginx and wrk if missing (bench/nginx.sh), builds a release promptlab, makes
# the venv .venv-bench (openai, jsonschema from PyPI), makes the corpus (bench/make_corpus.py),
# starts nginx, records promptlab's request bodies for the first 3 batches (a loopback listener,
# bench/capture_bodies.py) and checks that the Python baseline renders the same bodies,
# measures nginx's ceiling with wrk, then runs ROUNDS rounds of promptlab then python,
# alternated, each under /usr/bin/time -v:
#   OPENAI_API_KEY=bench promptlab relabel --provider openai --base-url NGINX/v1 --model bench
#       --dataset corpus.jsonl --out OUT --no-cache --concurrency C --quiet --overwrite --items-per-request 30
#   .venv-bench/bin/python bench/client_baseline.py (AsyncOpenAI, compiled Draft202012Validator)
# Prints per run and as the median over rounds: wall s, req/s, CPU ms per request
# ((user+sys)/requests, process start-up included), peak RSS MB, the fraction of nginx's
# ceiling, nginx's worker CPU per request during the run (10 ms ticks), the TCP connections the
# client opened (nginx's stub_status; CONCURRENCY means every connection was kept alive), the
# 1-minute load average at the start (the machine may be shared) and the check (items
# relabeled / items). Then promptlab's peak RSS at 15,000 and at 150,000 items.
# bench/scale.sh stays the fault-mix benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
ITEMS=${1:-150000}
CONCURRENCY=${2:-16}
ROUNDS=${3:-2}
WRK_SECONDS=${WRK_SECONDS:-10}
MEMORY_LINE=${MEMORY_LINE:-1}
BATCH=30
if (( ITEMS % BATCH != 0 || ITEMS <= 0 )); then
    echo "ITEMS must be a positive multiple of $BATCH (the fixed answer has $BATCH items), got $ITEMS" >&2
    exit 2
fi
REQUESTS=$(( ITEMS / BATCH ))

source bench/nginx.sh
bench_install_tools nginx:nginx wrk:wrk
make -s deps
echo "building a release promptlab ..." >&2
swift build -c release -q --product promptlab
PROMPTLAB=$PWD/.build/release/promptlab
if [ ! -x .venv-bench/bin/python ]; then python3 -m venv .venv-bench; fi
.venv-bench/bin/python -c "import openai, jsonschema" 2>/dev/null \
    || .venv-bench/bin/pip install -q --disable-pip-version-check openai jsonschema
PYTHON=$PWD/.venv-bench/bin/python

WORK=$(mktemp -d /tmp/llmkit-client.XXXXXX)
CAPTURE=""
cleanup() {
    if [ -n "$CAPTURE" ]; then kill -TERM "$CAPTURE" 2>/dev/null || true; { wait "$CAPTURE" || true; } 2>/dev/null; fi
    nginx_stop
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/nginx"
export OPENAI_API_KEY=bench

make_corpus() { [ -s "$WORK/corpus.$1.jsonl" ] || python3 bench/make_corpus.py "$1" "$WORK/corpus.$1.jsonl"; }
make_corpus "$ITEMS"
nginx_start "$WORK/nginx"

# promptlab's real request bodies for the corpus's first 3 batches: the baseline takes its
# system text, schema and settings from them and must render the same bodies.
head -n $(( 3 * BATCH )) "$WORK/corpus.$ITEMS.jsonl" >"$WORK/head.jsonl"
python3 bench/capture_bodies.py "$WORK/capture.port" "$WORK/captured.jsonl" "$WORK/nginx/answer.json" &
CAPTURE=$!
for _ in $(seq 1 100); do [ -s "$WORK/capture.port" ] && break; sleep 0.05; done
"$PROMPTLAB" relabel --provider openai --base-url "http://127.0.0.1:$(cat "$WORK/capture.port")/v1" --model bench \
    --dataset "$WORK/head.jsonl" --out "$WORK/head.out.jsonl" --no-cache --concurrency 1 --quiet --overwrite --items-per-request $BATCH \
    >"$WORK/head.log" 2>&1 || { cat "$WORK/head.log" >&2; exit 1; }
kill -TERM "$CAPTURE"; wait "$CAPTURE" 2>/dev/null || true; CAPTURE=""
"$PYTHON" bench/client_baseline.py --corpus "$WORK/corpus.$ITEMS.jsonl" --template "$WORK/captured.jsonl" --check-bodies 3 >"$WORK/check.json" \
    || { echo "the baseline does not render promptlab's request bodies: $(cat "$WORK/check.json")" >&2; exit 1; }
head -n 1 "$WORK/captured.jsonl" | tr -d '\n' >"$WORK/request.json"

nginx_ceiling "$WORK/request.json" "$WRK_SECONDS" >"$WORK/ceiling.txt"
cat "$WORK/ceiling.txt"

# run NAME ITEMS COMMAND...: one measured run; appends a JSON line to $WORK/runs.jsonl.
run() {
    local name=$1 items=$2 round=$3; shift 3
    local load before after accepts_before accepts_after
    load=$(cut -d' ' -f1 /proc/loadavg)
    accepts_before=$(nginx_accepts)
    before=$(nginx_worker_cpu)
    /usr/bin/time -v "$@" >"$WORK/$name.stdout" 2>"$WORK/$name.time" || { echo "$name failed:" >&2; tail -n 30 "$WORK/$name.time" >&2; exit 1; }
    after=$(nginx_worker_cpu)
    accepts_after=$(nginx_accepts)
    python3 - "$name" "$items" "$round" "$load" "$before" "$after" "$WORK" "$CEILING_RPS" $(( accepts_after - accepts_before - 1 )) <<'PY' >>"$WORK/runs.jsonl"
import json, re, sys
name, items, round_, load, before, after, work, ceiling, connections = sys.argv[1:10]
items = int(items)
text = open(f"{work}/{name}.time").read()
def field(label):
    return re.search(re.escape(label) + r": (.*)", text).group(1).strip()
wall = sum(float(x) * 60 ** i for i, x in enumerate(reversed(field("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":"))))
cpu = float(field("User time (seconds)")) + float(field("System time (seconds)"))
rss = int(field("Maximum resident set size (kbytes)")) / 1024
requests = items // 30
client = name.split(".")[0]
if client == "promptlab":
    summary = json.load(open(f"{work}/{name}.summary.json"))
    relabeled = summary["relabeled"]
else:
    summary = json.loads(open(f"{work}/{name}.stdout").read().strip().splitlines()[-1])
    relabeled = summary["relabeled"]
lines = sum(1 for _ in open(f"{work}/{name}.out.jsonl"))
print(json.dumps({"client": client, "round": int(round_), "items": items, "requests": requests, "wall_s": wall,
                  "req_per_s": requests / wall, "cpu_s": cpu, "cpu_ms_per_request": 1000 * cpu / requests, "peak_rss_mb": rss,
                  "ceiling_fraction": requests / wall / float(ceiling), "nginx_us_per_request": (float(after) - float(before)) / requests * 1e6,
                  "connections": int(connections), "load1": float(load), "relabeled": relabeled, "output_lines": lines}))
PY
    rm -f "$WORK/$name.out.jsonl"
}

run_promptlab() {
    local items=$1 round=$2 name="promptlab.$1.$2"
    make_corpus "$items"
    run "$name" "$items" "$round" "$PROMPTLAB" relabel --provider openai --base-url "$NGINX_URL" --model bench \
        --dataset "$WORK/corpus.$items.jsonl" --out "$WORK/$name.out.jsonl" --no-cache --concurrency "$CONCURRENCY" \
        --quiet --overwrite --items-per-request $BATCH --summary-json "$WORK/$name.summary.json"
}

run_python() {
    local items=$1 round=$2 name="python.$1.$2"
    run "$name" "$items" "$round" "$PYTHON" bench/client_baseline.py --base-url "$NGINX_URL" --corpus "$WORK/corpus.$items.jsonl" \
        --template "$WORK/captured.jsonl" --concurrency "$CONCURRENCY" --out "$WORK/$name.out.jsonl"
}

for round in $(seq 1 "$ROUNDS"); do
    echo "round $round/$ROUNDS: promptlab ..." >&2
    run_promptlab "$ITEMS" "$round"
    echo "round $round/$ROUNDS: python ..." >&2
    run_python "$ITEMS" "$round"
done
if [ "$MEMORY_LINE" = 1 ]; then
    for other in 15000 150000; do
        if [ "$other" != "$ITEMS" ]; then echo "promptlab at $other items (memory line) ..." >&2; run_promptlab "$other" 0; fi
    done
fi

python3 - "$WORK/runs.jsonl" "$ITEMS" "$CONCURRENCY" "$ROUNDS" "$CEILING_RPS" "$(nginx -v 2>&1 | sed 's/.*nginx\///')" "${BENCH_JSON:-}" <<'PY'
import json, statistics, sys
path, items, concurrency, rounds, ceiling, version, json_out = sys.argv[1:8]
items, ceiling = int(items), float(ceiling)
runs = [json.loads(line) for line in open(path)]
names = {"promptlab": "promptlab relabel", "python": "openai-python AsyncOpenAI"}
print()
print(f"client benchmark: {items:,} items = {items // 30:,} requests of 30, concurrency {concurrency}, "
      f"nginx {version} (1 worker) answering one fixed 30-item chat completion; ceiling {ceiling:,.0f} req/s (wrk)")
head = f"{'client':<28}{'round':>6}{'wall s':>9}{'req/s':>9}{'CPU ms/req':>12}{'peak MB':>9}{'of ceiling':>12}{'nginx us/req':>14}{'conns':>7}{'load1':>7}  check"
print(head)
def row(r, label):
    ok = "ok" if r["relabeled"] == r["items"] and r["output_lines"] >= r["items"] else "FAILED"
    return (f"{names[r['client']]:<28}{label:>6}{r['wall_s']:>9.2f}{r['req_per_s']:>9.0f}{r['cpu_ms_per_request']:>12.2f}"
            f"{r['peak_rss_mb']:>9.1f}{r['ceiling_fraction']:>11.1%} {r['nginx_us_per_request']:>13.1f}{r['connections']:>7}{r['load1']:>7.2f}  "
            f"{ok} ({r['relabeled']:,}/{r['items']:,})")
main = [r for r in runs if r["items"] == items and r["round"] > 0]
for r in main:
    print(row(r, str(r["round"])))
medians = {}
for client in ("promptlab", "python"):
    rs = [r for r in main if r["client"] == client]
    m = {k: statistics.median(r[k] for r in rs) for k in ("wall_s", "req_per_s", "cpu_ms_per_request", "ceiling_fraction", "nginx_us_per_request", "load1")}
    m.update(client=client, items=items, peak_rss_mb=max(r["peak_rss_mb"] for r in rs), relabeled=min(r["relabeled"] for r in rs),
             connections=max(r["connections"] for r in rs),
             output_lines=min(r["output_lines"] for r in rs))
    medians[client] = m
print(f"median of {rounds} rounds:")
for client in ("promptlab", "python"):
    print(row(medians[client], "med"))
ratio = medians["promptlab"]["cpu_ms_per_request"] / medians["python"]["cpu_ms_per_request"]
print(f"promptlab / openai-python CPU per request: {ratio:.2f}")
mem = {}
for r in runs:
    if r["client"] == "promptlab" and r["items"] in (15000, 150000):
        mem[r["items"]] = max(mem.get(r["items"], 0), r["peak_rss_mb"])
if mem:
    parts = [f"{n:,} items: {mem[n]:.1f} MB" if n in mem else f"{n:,} items: not run" for n in (15000, 150000)]
    print("promptlab peak RSS, " + "; ".join(parts))
if json_out:
    json.dump({"items": items, "concurrency": int(concurrency), "ceiling_req_per_s": ceiling, "nginx": version,
               "runs": runs, "medians": medians, "peak_rss_mb_by_items": mem}, open(json_out, "w"), indent=2)
PY
