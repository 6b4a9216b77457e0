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
echo "install-check: the installed promptlab relabeled the sample from $SCRATCH with every built-in prompt version"
