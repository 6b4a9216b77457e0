#!/usr/bin/env bash
# The installed promptlab works from any folder: `make install` into a temporary prefix, then,
# from a scratch folder outside the checkout, relabel the bundled sample from the bundled
# recordings with each built-in prompt version by name, and check every id came back.
set -euo pipefail
cd "$(dirname "$0")/.."
CHECKOUT=$PWD
PREFIX=$(mktemp -d /tmp/llmkit-install.XXXXXX)
SCRATCH=$(mktemp -d /tmp/llmkit-scratch.XXXXXX)
trap 'rm -rf "$PREFIX" "$SCRATCH"' EXIT
make -s install PREFIX="$PREFIX"
cd "$SCRATCH"
for prompt in paper-reason paper-no-reason small-model; do
    "$PREFIX/bin/promptlab" relabel --provider fixture --fixtures "$CHECKOUT/fixtures/recordings/gemma3-270m" \
        --dataset "$CHECKOUT/fixtures/sample/sample.jsonl" --prompt "$prompt" --quiet --out "out/$prompt.jsonl" >/dev/null
    python3 "$CHECKOUT/scripts/check-relabeled.py" "$CHECKOUT/fixtures/sample/sample.jsonl" "out/$prompt.jsonl"
done
# Nothing of the checkout named: the bundled sample and recordings installed in $PREFIX/share/llmkit.
PROMPTLAB="$PREFIX/bin/promptlab"
"$PROMPTLAB" relabel --provider fixture --dataset sample --prompt paper-reason --quiet >/dev/null
python3 "$CHECKOUT/scripts/check-relabeled.py" "$CHECKOUT/fixtures/sample/sample.jsonl" out/sample.paper-reason.fixture.gemma3-270m-q4_k_m.jsonl
"$PROMPTLAB" relabel --dataset sample --method logprob --quiet >/dev/null
python3 "$CHECKOUT/scripts/check-relabeled.py" "$CHECKOUT/fixtures/sample/sample.jsonl" out/sample.logprob.fixture.gemma3-270m-q4_k_m.jsonl
# A request that was never recorded (another seed) stops the run and says how to record it.
if "$PROMPTLAB" relabel --dataset sample --seed 7 --quiet --out out/unrecorded.jsonl 2>err.txt >/dev/null; then
    echo "install-check: a run with no recording succeeded" >&2; exit 1
fi
grep -q -- "--record" err.txt || { echo "install-check: the missing-recording error does not mention --record:" >&2; cat err.txt >&2; exit 1; }
echo "install-check: the installed promptlab relabeled the sample from $SCRATCH with every built-in prompt version, and by name (--dataset sample, adjust and logprob) from $PREFIX/share/llmkit"
