#!/usr/bin/env bash
# Relabeling methods side by side on the shared dev split (EMO-SUPERB dev, 6,602 items, GPT-4's
# published relabels as the gold): the votes unchanged, `lexicon` with the NRC Emotion Lexicon
# (installed at run time from PyPI's nrclex, scripts/nrc-lexicon.sh) at each weight, and
# `logprob` on a real llama-server with Gemma 3 270M when METHODS includes it. Prints, per
# method, the mean JS divergence and argmax agreement with GPT-4's relabels (all items, and
# those GPT-4 changed), the share changed, without evidence and failed, and items/s.
#
#   bench/methods.sh                      # lexicon at w = 0.05 and 0.25
#   METHODS="lexicon logprob" LIMIT=600 bench/methods.sh
#
# Reads ../shared/data at run time; writes only under out/bench-methods/.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${LLMKIT_SHARED_DIR:-../shared}
DATA=$SHARED/data/emo-superb-gpt4
METHODS=${METHODS:-lexicon}
WEIGHTS=${WEIGHTS:-0.05 0.25}
LIMIT=${LIMIT:-}
OUT=out/bench-methods
mkdir -p "$OUT"
swift build -q
limit=(); [ -n "$LIMIT" ] && limit=(--limit "$LIMIT")
outputs=()
rate() { python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print(f\"{sys.argv[2]}: {s['items']} items in {s['wall_seconds']:.1f} s = {s['items']/max(s['wall_seconds'],1e-9):.0f} items/s\")" "$1" "$2"; }
if [[ " $METHODS " == *" lexicon "* ]]; then
    LEXICON=$(scripts/nrc-lexicon.sh)
    for w in $WEIGHTS; do
        .build/debug/promptlab relabel --method lexicon --lexicon "$LEXICON" --description-weight "$w" --dataset "$DATA/input_dev.csv" \
            "${limit[@]}" --out "$OUT/lexicon-$w.jsonl" --overwrite --quiet --summary-json "$OUT/lexicon-$w.summary.json" >/dev/null
        rate "$OUT/lexicon-$w.summary.json" "lexicon w=$w"
        outputs+=("lexicon-$w=$OUT/lexicon-$w.jsonl")
    done
fi
if [[ " $METHODS " == *" logprob "* ]]; then
    PORT=${PORT:-18290}
    scripts/llama-server start --port "$PORT" --slots 2
    trap 'scripts/llama-server stop --port "$PORT"' EXIT
    for w in $WEIGHTS; do
        .build/debug/promptlab relabel --provider llamacpp --base-url "http://127.0.0.1:$PORT" --method logprob --description-weight "$w" \
            --dataset "$DATA/input_dev.csv" "${limit[@]}" --out "$OUT/logprob-$w.jsonl" --overwrite --quiet --cache "$OUT/cache" \
            --summary-json "$OUT/logprob-$w.summary.json" >/dev/null
        rate "$OUT/logprob-$w.summary.json" "logprob w=$w"
        # The weight changes no request: the first weight's run asks the server, the others are
        # answered from the cache (so only the first run's throughput is the server's).
        python3 - "$OUT/logprob-$w.summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
if s["cache_hits"] < s["requests"]:
    prompt, cached = s["prompt_tokens"], s["cached_tokens"]
    evaluated = prompt - cached
    server = s["server_prompt_seconds"]
    print(f"logprob throughput: {s['items']} items in {s['wall_seconds']:.1f} s; {prompt} prompt tokens, {cached} from llama.cpp's cache "
          f"({100 * cached / max(prompt, 1):.1f}%); {evaluated} evaluated in {server:.1f} s of server prompt time "
          f"({evaluated / max(server, 1e-9):.0f} tokens/s as the server reports it, summed over slots); "
          f"promptlab's rate {evaluated / max(s['wall_seconds'], 1e-9):.0f} evaluated tokens/s of wall time "
          f"= {100 * server / max(s['wall_seconds'], 1e-9) / 2:.0f}% of 2 slots busy evaluating prompts")
PY
        outputs+=("logprob-$w=$OUT/logprob-$w.jsonl")
    done
fi
python3 bench/methods.py "$DATA/output_dev.csv" "${outputs[@]}"
