#!/bin/sh
# Checks wire samples against the official SDKs (PyPI anthropic, google-genai), read in a
# scratch virtual environment built here at run time: scripts/sdk-check.sh DIR (see
# scripts/sdk_check.py for what DIR holds). The SDK versions are pinned to the ones the
# providers were written from; SDK_CHECK_VENV reuses a venv (default: $TMPDIR/llmkit-sdk-venv).
# Exits 77 (skip) when the venv cannot be built, e.g. PyPI is unreachable.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
venv=${SDK_CHECK_VENV:-${TMPDIR:-/tmp}/llmkit-sdk-venv}
pins="anthropic==2.17.0 google-genai==3.6.1"
if ! "$venv/bin/python" -c 'import anthropic, google.genai, sys; sys.exit(0 if (anthropic.__version__, google.genai.__version__) == ("2.17.0", "3.6.1") else 1)' 2>/dev/null; then
    if ! { python3 -m venv "$venv" && "$venv/bin/pip" install --quiet --disable-pip-version-check $pins; } >"$venv.log" 2>&1; then
        echo "sdk-check: skipped: cannot build the SDK venv at $venv (is PyPI reachable?): see $venv.log" >&2
        exit 77
    fi
fi
exec "$venv/bin/python" "$here/sdk_check.py" "$@"
