#!/usr/bin/env bash
# Relabeling methods side by side on the shared dev split (EMO-SUPERB dev, 6,602 items, GPT-4's
# published relabels as the gold): the votes unchanged, `lexicon` with the NRC Emotion Lexicon
# (installed at run time from PyPI's nrclex, scripts/nrc-lexicon.sh) at each weight, and
# `logprob` on a real llama-server with Gemma 3 270M when METHODS includes it. Prints, per
# method, the mean JS divergence and argmax agreement with GPT-4's relabels (all items, those
# GPT-4 changed, and those whose reference has tied maxima), the share changed, without evidence
# and failed, and items/s. Then `promptlab fit` fits w and the evidence temperature of each
# method's first-weight run to GPT-4's relabels (5-fold cross-validated), plain and
# tie-preserving, and the fitted outputs are scored beside the others.
#
#   bench/methods.sh                      # lexicon at w = 0.05 and 0.25, fitted
#   METHODS="lexicon logprob" LIMIT=600 bench/methods.sh
#   FRESH=1 METHODS=logprob bench/methods.sh        # logprob without the response cache: the throughput figures
#   VARIANTS=1000 METHODS=logprob bench/methods.sh  # also grammar vs mapped top tokens, per description vs whole
#                                                   # string, on the first 1000 dev items (bench/logprob_variants.py)
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
    # FRESH=1: every distinct request goes to the server (identical descriptions are still
    # answered once per run, from the run's answer log).
    [ -n "${FRESH:-}" ] && rm -rf "$OUT/cache"
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
    evaluated, cached = s["server_evaluated_tokens"], s["server_cached_tokens"]
    server = s["server_prompt_seconds"]
    asked = s["requests"] - s["cache_hits"]
    print(f"logprob throughput: {s['items']} items in {s['wall_seconds']:.1f} s ({s['items'] / s['wall_seconds']:.1f} items/s; "
          f"{asked} distinct requests asked the server, {asked / s['wall_seconds']:.1f}/s, the rest answered from the run's answer log)")
    print(f"  prompt tokens of the server's answers: {evaluated + cached}, {cached} from llama.cpp's KV cache ({100 * cached / max(evaluated + cached, 1):.1f}%)")
    print(f"  evaluated {evaluated} tokens in {server:.1f} s of server prompt time = {evaluated / max(server, 1e-9):.0f} tokens/s per busy slot (the server's own rate); "
          f"the run's rate {evaluated / max(s['wall_seconds'], 1e-9):.0f} evaluated tokens/s of wall time "
          f"= {100 * server / max(s['wall_seconds'], 1e-9) / 2:.0f}% of the server's rate on its 2 slots")
PY
        outputs+=("logprob-$w=$OUT/logprob-$w.jsonl")
    done
fi
if [ -n "${VARIANTS:-}" ] && [[ " $METHODS " == *" logprob "* ]]; then
    first=${WEIGHTS%% *}
    python3 bench/logprob_variants.py "$PORT" "$DATA/input_dev.csv" "$DATA/output_dev.csv" "$OUT/logprob-$first.jsonl" \
        prompts/logprob-fewshot.prompt "$OUT/variants-cache.json" "$VARIANTS"
fi
# Fit w and T to GPT-4's relabels (5-fold cross-validated), plain and tie-preserving.
for m in lexicon logprob; do
    [[ " $METHODS " == *" $m "* ]] || continue
    first=${WEIGHTS%% *}
    for ties in "" --preserve-ties; do
        name=$m-fitted${ties:+-ties}
        .build/debug/promptlab fit "$OUT/$m-$first.jsonl" --dataset "$DATA/input_dev.csv" --gold "$DATA/output_dev.csv" $ties \
            --out "$OUT/$name.jsonl" --overwrite --json "$OUT/$name.fit.json" | sed -n '/^cross-validated/,$p'
        outputs+=("$name=$OUT/$name.jsonl")
    done
done
python3 bench/methods.py "$DATA/output_dev.csv" "${outputs[@]}"
