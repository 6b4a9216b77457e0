#!/usr/bin/env python3
"""Checks a relabeled output against its dataset: every input id exactly once (of the first
--limit items), each line either relabeled (8 finite values >= 0 summing to 1) or failed with a
failure kind and message. Prints counts; exits 1 on any violation."""
import argparse
import collections
import json
import math
import sys

p = argparse.ArgumentParser()
p.add_argument("dataset")
p.add_argument("output")
p.add_argument("--limit", type=int)
args = p.parse_args()

ids = [json.loads(line)["id"] for line in open(args.dataset) if line.strip()]
if args.limit:
    ids = ids[: args.limit]
problems = []
seen = collections.Counter()
status = collections.Counter()
kinds = collections.Counter()
EMOTIONS = ["angry", "sad", "disgust", "contempt", "fear", "neutral", "surprise", "happy"]
headers = 0
for n, line in enumerate(open(args.output), 1):
    r = json.loads(line)
    if "journal" in r:  # the journal's header: what the run was made on
        headers += 1
        if "fingerprint" not in r:
            problems.append(f"line {n}: a journal header without a fingerprint")
        continue
    seen[r["id"]] += 1
    status[r["status"]] += 1
    if r["status"] == "relabeled":
        values = [r["adjusted"][e] for e in EMOTIONS]
        if not all(math.isfinite(v) and v >= 0 for v in values) or abs(sum(values) - 1) > 1e-9:
            problems.append(f"line {n}: adjusted is not a distribution: {values}")
    elif r["status"] == "failed":
        f = r.get("failure") or {}
        if not f.get("kind") or not f.get("message"):
            problems.append(f"line {n}: failed without a kind and message")
        kinds[f.get("kind")] += 1
    else:
        problems.append(f"line {n}: unknown status {r['status']}")
missing = [i for i in ids if seen[i] == 0]
twice = [i for i, c in seen.items() if c > 1]
extra = [i for i in seen if i not in set(ids)]
if missing: problems.append(f"missing ids: {missing}")
if twice: problems.append(f"ids written more than once: {twice}")
if extra: problems.append(f"ids not in the input: {extra}")
if headers == 0: problems.append("no journal header (the run's fingerprint) in the output")
print(f"checked {sum(seen.values())} lines for {len(ids)} input ids: {dict(status)}; failures by kind: {dict(kinds)}")
for problem in problems:
    print("PROBLEM:", problem, file=sys.stderr)
sys.exit(1 if problems else 0)
