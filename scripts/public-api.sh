#!/usr/bin/env bash
# Counts the public declarations of the libraries (lines declaring something `public` or
# `open`, in Sources/, per target), at the working tree or at a revision:
#   scripts/public-api.sh            the working tree
#   scripts/public-api.sh REV        git revision REV
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:-}
pattern='^[[:space:]]*(@[A-Za-z_]+(\([^)]*\))?[[:space:]]+)*(public|open)[[:space:]]+(\S+[[:space:]]+)*(func|var|let|init|struct|class|enum|protocol|actor|typealias|case|subscript|static|extension|final|convenience|mutating|nonisolated|required|indirect)\b'
count() {
  if [ -n "$rev" ]; then
    git grep -hE "$pattern" "$rev" -- "$1/*.swift" | wc -l
  else
    grep -rhE "$pattern" --include='*.swift' "$1" | wc -l
  fi
}
total=0
for target in LLMKit Providers PromptLabCLI; do
  n=$(count "Sources/$target")
  total=$((total + n))
  printf '%-14s %5d\n' "$target" "$n"
done
printf '%-14s %5d\n' total "$total"
