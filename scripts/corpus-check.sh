#!/usr/bin/env bash
# Your corpus in, your labels out, through the installed promptlab (issue 22): `make install`
# into a temporary prefix; in a scratch folder outside the checkout, write a 40-row table in
# the layout labs keep (utterance_id, speaker, transcript, vote counts under Anger ...
# Happiness, descriptions joined by ';' in notes); `promptlab inspect` it and run the relabel
# command line it prints, as printed, against the project's fault server (OpenAI-compatible;
# a new corpus has no recordings); export, and check that speaker, transcript and reason are
# in the export under the lab's column names, for every utterance.
set -euo pipefail
cd "$(dirname "$0")/.."
CHECKOUT=$PWD
PREFIX=$(mktemp -d /tmp/llmkit-corpus-install.XXXXXX)
SCRATCH=$(mktemp -d /tmp/llmkit-corpus.XXXXXX)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$PREFIX" "$SCRATCH"
}
trap cleanup EXIT
make -s install PREFIX="$PREFIX" >/dev/null
swift build --product fault-server >/dev/null
FAULT_SERVER="$(swift build --show-bin-path)/fault-server"
PROMPTLAB="$PREFIX/bin/promptlab"

cd "$SCRATCH"
"$FAULT_SERVER" --counts counts.json >server.out 2>server.err &
SERVER_PID=$!
for _ in $(seq 1 100); do grep -q "listening on" server.out 2>/dev/null && break; sleep 0.1; done
BASE_URL=$(sed -n 's/^listening on //p' server.out)
[ -n "$BASE_URL" ] || { echo "corpus-check: the fault server did not start" >&2; cat server.err >&2; exit 1; }

python3 - <<'EOF'
import csv, random
random.seed(22)
names = ["Anger", "Sadness", "Disgust", "Contempt", "Fear", "Neutral", "Surprise", "Happiness"]
words = ["slightly angry", "calm", "Haaapy", "Concerned", "bored", "joyful", "tense", "annoyed"]
with open("corpus.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["utterance_id", "speaker", "transcript"] + names + ["notes"])
    for i in range(40):
        counts = [0] * 8
        for _ in range(random.randint(3, 7)):
            counts[random.randrange(8)] += 1
        notes = ";".join(random.sample(words, random.randint(0, 3)))
        w.writerow([f"MSP-PODCAST_{i:04d}.wav", f"speaker{i % 6}", f'so I told him, "take {i}", right'] + counts + [notes])
EOF

"$PROMPTLAB" inspect corpus.csv >inspect.txt
COMMAND=$(sed -n 's/^  promptlab relabel /relabel /p' inspect.txt)
[ -n "$COMMAND" ] || { echo "corpus-check: inspect proposed no mapping:" >&2; cat inspect.txt >&2; exit 1; }
# The printed line, as printed (its quoting is the shell's), plus where the requests go.
eval "\"\$PROMPTLAB\" $COMMAND --provider openai --base-url \"\$BASE_URL\" --model fault --out out/corpus.jsonl --quiet >relabel.txt"
"$PROMPTLAB" export out/corpus.jsonl --out labels.csv >/dev/null

python3 - <<'EOF'
import csv, sys
rows = list(csv.reader(open("labels.csv", newline="")))
table = {r[0]: r for r in list(csv.reader(open("corpus.csv", newline="")))[1:]}
header = rows[0]
expected = ["utterance_id", "speaker", "transcript", "Anger", "Sadness", "Disgust", "Contempt", "Fear", "Neutral", "Surprise", "Happiness", "reason", "method", "prompt"]
if header != expected:
    sys.exit(f"corpus-check: export header {header}, expected {expected}")
if len(rows) != 41:
    sys.exit(f"corpus-check: {len(rows) - 1} exported rows, expected 40")
for row in rows[1:]:
    source = table.get(row[0])
    if source is None or row[1] != source[1] or row[2] != source[2]:
        sys.exit(f"corpus-check: row {row[0]}: speaker/transcript {row[1:3]} do not match the corpus")
    if not row[11] or row[12] != "adjust" or not row[13].startswith("paper-reason@"):
        sys.exit(f"corpus-check: row {row[0]}: reason/method/prompt {row[11:14]}")
    if abs(sum(float(v) for v in row[3:11]) - 1) > 1e-9:
        sys.exit(f"corpus-check: row {row[0]}: the 8 values do not sum to 1")
EOF
echo "corpus-check: the installed promptlab relabeled a 40-row lab table by the mapping inspect proposed, from $SCRATCH; the export has speaker, transcript and reason under the lab's names"
