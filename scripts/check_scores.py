#!/usr/bin/env python3
"""Independent check of `promptlab score` (numpy/scipy, written apart from the Swift code).

    scripts/check_scores.py INPUT.csv OUTPUT.csv SCORES.json [--prompt Prompt.txt] [--batch-size 30]
    scripts/check_scores.py --alpha RUNS.json      # Krippendorff's alpha of runs[coder][unit] (null = missing)

Recomputes every metric of REFERENCE.md section 3 on EMO-SUPERB's CSV layout and compares
with the JSON `promptlab score --json` wrote: point values to 1e-9, Wilson intervals to 1e-9
(bootstrap intervals use another generator and are not compared). Prints a table; exits 1 on
any mismatch. Reads the data where it lies (e.g. ../shared); copies nothing.
"""
import argparse
import csv
import json
import math
import re
import sys

import numpy as np
from scipy.spatial.distance import jensenshannon

EMOTIONS = ["angry", "sad", "disgust", "contempt", "fear", "neutral", "surprise", "happy"]
Z = 1.959963984540054


def read(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return [r[0] for r in rows[1:]], np.array([[float(x) for x in r[1:9]] for r in rows[1:]]), [r[9] if len(r) > 9 else "" for r in rows[1:]]


def normalise(v):
    s = v.sum()
    return v if abs(s - 1) <= 1e-12 else v / s


def wilson(k, n):
    p = k / n
    center = p + Z * Z / (2 * n)
    spread = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    d = 1 + Z * Z / n
    return p, max(0.0, (center - spread) / d), min(1.0, (center + spread) / d)


def argmax_set(v):
    return frozenset(np.flatnonzero(v >= v.max() - 1e-9))


def macro_f1(P, R):
    a, b = P > 1 / 8, R > 1 / 8
    tp = (a & b).sum(0)
    fp = (a & ~b).sum(0)
    fn = (~a & b).sum(0)
    den = 2 * tp + fp + fn
    return float(np.where(den == 0, 0.0, 2 * tp / np.maximum(den, 1)).mean())


def alpha_pairwise(data, metric):
    """Krippendorff's alpha from pairable value pairs (a different route than coincidence matrices)."""
    units = list(zip(*data))
    pairs_within, values = [], []
    for unit in units:
        vals = [v for v in unit if v is not None]
        if len(vals) < 2:
            continue
        values.extend(vals)
        m = len(vals)
        for i in range(m):
            for j in range(m):
                if i != j:
                    pairs_within.append((vals[i], vals[j], 1 / (m - 1)))
    d = (lambda x, y: 0.0 if x == y else 1.0) if metric == "nominal" else (lambda x, y: (x - y) ** 2)
    n = len(values)
    do = sum(w * d(x, y) for x, y, w in pairs_within) / n
    de = sum(d(x, y) for i, x in enumerate(values) for j, y in enumerate(values) if i != j) / (n * (n - 1))
    return 1 - do / de


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("input", nargs="?")
    ap.add_argument("output", nargs="?")
    ap.add_argument("scores", nargs="?")
    ap.add_argument("--prompt")
    ap.add_argument("--batch-size", type=int, default=30)
    ap.add_argument("--alpha")
    args = ap.parse_args()
    if args.alpha:
        runs = json.load(open(args.alpha))
        print(json.dumps({"nominal": alpha_pairwise(runs, "nominal"), "interval": alpha_pairwise(runs, "interval")}))
        return 0

    ids, R, _ = read(args.input)
    out_ids, O, _ = read(args.output)
    assert ids == out_ids, "input and output rows must align"
    R = np.array([normalise(r) for r in R])
    sums = O.sum(1)
    ok = np.isfinite(O).all(1) & (O >= 0).all(1) & (sums > 0)
    P = np.array([normalise(o) if k else np.full(8, np.nan) for o, k in zip(O, ok)])
    n = len(ids)
    rel = np.flatnonzero(ok)
    p, r = P[rel], R[rel]
    m = len(rel)
    maxdiff = np.abs(p - r).max(1)
    js = np.array([jensenshannon(a, b) for a, b in zip(p, r)])  # natural log; the distance
    expected = {
        "items": (n, None, None),
        "relabeled": wilson(m, n),
        "valid": wilson(int((ok & (np.abs(sums - 1) <= 0.02)).sum()), n),
        "unchanged.1e-06": wilson(int((maxdiff <= 1e-6).sum()), m),
        "unchanged.0.01": wilson(int((maxdiff <= 0.01).sum()), m),
        "unchanged.0.05": wilson(int((maxdiff <= 0.05).sum()), m),
        "argmax_unchanged": wilson(sum(argmax_set(a) == argmax_set(b) for a, b in zip(p, r)), m),
        "mean_total_variation": (float((0.5 * np.abs(p - r).sum(1)).mean()), None, None),
        "argmax_agreement": wilson(sum(bool(argmax_set(a) & argmax_set(b)) for a, b in zip(p, r)), m),
        "mean_js_divergence": (float((js ** 2).mean()), None, None),
        "mean_js_distance": (float(js.mean()), None, None),
        "macro_f1": (macro_f1(p, r), None, None),
    }
    if args.prompt:
        text = open(args.prompt).read()
        pattern = r"\s*,\s*".join(r"[\"']%s[\"']\s*:\s*([0-9]*\.?[0-9]+)" % e for e in EMOTIONS)
        ex = np.array([float(x) for x in re.search(pattern, text).groups()])
        ex = normalise(ex)
        expected["echo_rate"] = wilson(int((np.abs(p - ex).max(1) <= 1e-6).sum()), m)
    shares = []
    for start in range(0, n, args.batch_size):
        batch = [tuple(P[i]) for i in range(start, min(n, start + args.batch_size)) if ok[i]]
        if batch:
            shares.append(len(set(batch)) / len(batch))
    expected["diversity"] = (float(np.mean(shares)), None, None)

    column = json.load(open(args.scores))["columns"][0]
    failures = 0
    print(f"{'metric':<24}{'numpy/scipy':>22}{'promptlab':>22}{'|diff|':>12}")
    for key, (value, low, high) in expected.items():
        node = column
        if key.startswith("unchanged."):
            node = column["unchanged"][key.split(".", 1)[1]]
        else:
            node = column[key]
        got = node if isinstance(node, (int, float)) else node["value"]
        diffs = [abs(value - got)]
        if low is not None and not isinstance(node, (int, float)):
            diffs += [abs(low - node["low"]), abs(high - node["high"])]
        worst = max(diffs)
        flag = "" if worst <= 1e-9 else "  MISMATCH"
        failures += worst > 1e-9
        print(f"{key:<24}{value:>22.15g}{got:>22.15g}{worst:>12.1e}{flag}")
    print("all metrics agree to 1e-9" if failures == 0 else f"{failures} metrics differ")
    return 1 if failures else 0


sys.exit(main())
