#!/usr/bin/env bash
# Records the anthropic and gemini providers' answers to the bundled sample
# (fixtures/sample/sample.jsonl) from the project's fault server, in each API's real wire
# format, into fixtures/recordings/anthropic-fault-server/ and gemini-fault-server/: a 429, an
# overload (529 or 503) and a truncation are mixed in, so retries and splits replay too. No
# Anthropic or Google server is called. The fixture provider replays them:
#   promptlab relabel --provider fixture --fixtures fixtures/recordings/anthropic-fault-server ...
# Recording a real API instead: give --provider anthropic (or gemini) your key and --record DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --product fault-server >/dev/null
swift build --product promptlab >/dev/null
port=${PORT:-18631}
for provider in anthropic gemini; do
    overload=$([ "$provider" = anthropic ] && echo 529 || echo 503)
    .build/debug/fault-server --port "$port" --seed 3 --retry-after 0.01 --mix "429_retry_after=0.1,$overload=0.1,truncated=0.1" >/dev/null 2>&1 &
    pid=$!
    trap 'kill $pid 2>/dev/null || true' EXIT
    sleep 0.5
    out=fixtures/recordings/$provider-fault-server
    rm -rf "$out"
    model=$([ "$provider" = anthropic ] && echo claude-sonnet-4-5 || echo gemini-2.5-flash)
    ANTHROPIC_API_KEY=recording-key GEMINI_API_KEY=recording-key .build/debug/promptlab relabel --provider "$provider" --base-url "http://127.0.0.1:$port" \
        --model "$model" --dataset fixtures/sample/sample.jsonl --out "/tmp/record-$provider.jsonl" --overwrite --no-cache --quiet \
        --record "$out" --record-mode all --concurrency 1 --items-per-request 12
    kill $pid; wait $pid 2>/dev/null || true
    trap - EXIT
    echo "$out: $(ls "$out" | wc -l) recordings"
done
