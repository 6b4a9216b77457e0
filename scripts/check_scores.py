#!/usr/bin/env python3
"""Independent check of `promptlab score` (numpy/scipy, written apart from the Swift code).

    scripts/check_scores.py INPUT.csv OUTPUT.csv SCORES.json [--prompt Prompt.txt|X.prompt] [--batch-size 30]
    scripts/check_scores.py --alpha RUNS.json      # Krippendorff's alpha of runs[coder][unit] (null = missing)

Recomputes every metric of REFERENCE.md section 3 on EMO-SUPERB's CSV layout and compares with
the first column of the JSON that `promptlab score --json` wrote (format llmkit-score/2):
point values to 1e-9, Wilson intervals to 1e-9, failure counts and the argmax transition
matrix exactly (bootstrap intervals use another generator and are not compared). Every
non-null metric in the JSON must be recomputed here: a metric this script does not know is a
failure, so a new metric cannot go unchecked. Prints a table; exits 1 on any mismatch.

Definitions (the same as the Swift code, implemented separately):
- sums are math.fsum (exact, so independent of the order of the 8 values); a distribution is
  renormalised by dividing by its fsum unless that is within 1e-12 of 1;
- every threshold tolerates 1e-9: within tau is max|p-r| <= tau + 1e-9, above 1/C is
  x > 1/8 + 1e-9, maximal is within 1e-9 of the maximum;
- "unchanged (as shown)": the answer equals, within 1e-9, the reference rendered at the
  prompt's decimals ('%.{d}f' with trailing zeros dropped), read back and renormalised; the
  decimals come from the `decimals:` header of a .prompt file, else 4;
- the JS divergence is summed per class in a form that stays accurate when p and r are almost
  equal, and every term is clipped at 0 before the square root (scipy's jensenshannon can
  return NaN when rounding leaves the divergence a hair below 0).
Reads the data where it lies (e.g. ../shared); copies nothing.
"""
import argparse
import csv
import json
import math
import re
import sys

import numpy as np
from scipy.special import rel_entr

EMOTIONS = ["angry", "sad", "disgust", "contempt", "fear", "neutral", "surprise", "happy"]
CLASSES = EMOTIONS + ["tie"]
Z = 1.959963984540054
TOL = 1e-9
TAUS = {"1e-06": 1e-6, "0.01": 0.01, "0.05": 0.05}


def read(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    ids = [r[0].strip() for r in rows[1:]]
    values = [[float(x) for x in r[1:9]] for r in rows[1:]]
    texts = [r[9] if len(r) > 9 else "" for r in rows[1:]]
    return ids, values, texts


def normalise(v):
    s = math.fsum(v)
    return list(v) if abs(s - 1) <= 1e-12 else [x / s for x in v]


def failure_kind(v):
    if any(not math.isfinite(x) for x in v):
        return "non_finite_value"
    if any(x < 0 for x in v):
        return "value_out_of_range"
    if math.fsum(v) <= 0:
        return "zero_sum"
    return None


def wilson(k, n):
    if n == 0:
        return (None, None, None)
    p = k / n
    center = p + Z * Z / (2 * n)
    spread = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    d = 1 + Z * Z / n
    return p, max(0.0, (center - spread) / d), min(1.0, (center + spread) / d)


def argmax_set(v):
    top = max(v)
    return frozenset(i for i, x in enumerate(v) if x >= top - TOL)


def argmax_class(v):
    s = argmax_set(v)
    return EMOTIONS[next(iter(s))] if len(s) == 1 else "tie"


def maxdiff(a, b):
    return max(abs(x - y) for x, y in zip(a, b))


def jsd(p, q):
    """0.5 KL(p||m) + 0.5 KL(q||m). Where both sides have mass, the two rel_entr terms of a class
    are taken together in the form m [(1+d) log1p(d) + (1-d) log1p(-d)], d = (a-b)/(a+b), whose
    rounding error shrinks with d (distributions equal up to the last bit give ~1e-32, not
    rounding noise whose square root would be ~3e-9); where one side is 0, rel_entr of the
    other. Each class term is clipped at 0, so the distance is never NaN."""
    p, q = np.array(p, dtype=float), np.array(q, dtype=float)
    m = (p + q) / 2
    both = (p > 0) & (q > 0)
    d = np.where(both, (p - q) / np.where(both, p + q, 1), 0)
    paired = np.where(both, m * ((1 + d) * np.log1p(d) + (1 - d) * np.log1p(-d)), 0)
    single = np.where(both, 0, rel_entr(p, m) + rel_entr(q, m))
    return 0.5 * math.fsum(np.maximum(0, paired + single))


def macro_f1(P, R):
    f1 = []
    for c in range(8):
        a = [p[c] > 1 / 8 + TOL for p in P]
        b = [r[c] > 1 / 8 + TOL for r in R]
        tp = sum(x and y for x, y in zip(a, b))
        fp = sum(x and not y for x, y in zip(a, b))
        fn = sum(y and not x for x, y in zip(a, b))
        den = 2 * tp + fp + fn
        f1.append(0.0 if den == 0 else 2 * tp / den)
    return math.fsum(f1) / 8


def distinct(answers):
    """Groups of answers linked by 'every value within 1e-9' (connected components)."""
    groups = []
    for a in answers:
        hits = [g for g in groups if any(maxdiff(a, b) <= TOL for b in g)]
        merged = [a] + [b for g in hits for b in g]
        groups = [g for g in groups if g not in hits] + [merged]
    return len(groups)


def prompt_facts(path):
    text = open(path, encoding="utf-8").read()
    decimals, batch = 4, 30
    if path.endswith(".prompt") and text.startswith("---"):
        header = text.split("---", 2)[1]
        for line in header.splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "decimals":
                decimals = int(value)
            if key.strip() == "batch_size":
                batch = int(value)
    pattern = r"\s*,\s*".join(r"[\"']%s[\"']\s*:\s*([0-9]*\.?[0-9]+)" % e for e in EMOTIONS)
    match = re.search(pattern, text)
    example = normalise([float(x) for x in match.groups()]) if match else None
    return decimals, batch, example


def shown(r, decimals):
    def fmt(x):
        t = "%.*f" % (decimals, x)
        while t.endswith("0") and not t.endswith(".0"):
            t = t[:-1]
        return float(t)
    return normalise([fmt(x) for x in r])


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


def expected_metrics(args):
    ids, refs, _ = read(args.input)
    out_ids, outs, _ = read(args.output)
    answers = dict(zip(out_ids, outs))
    R = [normalise(r) for r in refs]
    n = len(ids)
    P, failures = [], {}
    for i in ids:
        if i not in answers:
            P.append(None)
            failures["missing_from_output"] = failures.get("missing_from_output", 0) + 1
            continue
        kind = failure_kind(answers[i])
        if kind:
            failures[kind] = failures.get(kind, 0) + 1
        P.append(None if kind else normalise(answers[i]))
    rel = [k for k in range(n) if P[k] is not None]
    p, r = [P[k] for k in rel], [R[k] for k in rel]
    m = len(rel)
    diffs = [maxdiff(a, b) for a, b in zip(p, r)]
    js = [jsd(a, b) for a, b in zip(p, r)]
    valid = sum(1 for k in rel if abs(math.fsum(answers[ids[k]]) - 1) <= args.tolerance)
    e = {
        "items": (n, None, None),
        "relabeled": wilson(m, n),
        "valid": wilson(valid, n),
        "argmax_unchanged": wilson(sum(argmax_set(a) == argmax_set(b) for a, b in zip(p, r)), m),
        "mean_total_variation": (math.fsum(0.5 * math.fsum(abs(x - y) for x, y in zip(a, b)) for a, b in zip(p, r)) / m, None, None),
        "argmax_agreement": wilson(sum(bool(argmax_set(a) & argmax_set(b)) for a, b in zip(p, r)), m),
        "mean_js_divergence": (math.fsum(js) / m, None, None),
        "mean_js_distance": (math.fsum(math.sqrt(x) for x in js) / m, None, None),
        "macro_f1": (macro_f1(p, r), None, None),
    }
    for name, tau in TAUS.items():
        e["unchanged." + name] = wilson(sum(d <= tau + TOL for d in diffs), m)
    for c in CLASSES:
        group = [d for d, b in zip(diffs, r) if argmax_class(b) == c]
        e["unchanged_by_class." + c] = wilson(sum(d <= 0.01 + TOL for d in group), len(group))
    for kind, count in failures.items():
        e["failures." + kind] = (count, None, None)
    batch = args.batch_size
    example = None
    if args.prompt:
        decimals, prompt_batch, example = prompt_facts(args.prompt)
        batch = batch or prompt_batch
        e["unchanged.as_shown"] = wilson(sum(maxdiff(a, shown(b, decimals)) <= TOL for a, b in zip(p, r)), m)
        if example is not None:
            e["echo_rate"] = wilson(sum(maxdiff(a, example) <= 1e-6 + TOL for a in p), m)
    batch = batch or 30
    shares = []
    for start in range(0, n, batch):
        answers_in_batch = [P[k] for k in range(start, min(n, start + batch)) if P[k] is not None]
        if answers_in_batch:
            shares.append(distinct(answers_in_batch) / len(answers_in_batch))
    e["diversity"] = (math.fsum(shares) / len(shares), None, None)
    transitions = [[0] * 9 for _ in range(9)]
    for a, b in zip(p, r):
        transitions[CLASSES.index(argmax_class(b))][CLASSES.index(argmax_class(a))] += 1
    return e, transitions


def lookup(column, key):
    group, _, member = key.partition(".")
    node = column.get(group)
    if member:
        node = None if node is None else node.get(member)
    return node


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("input", nargs="?")
    ap.add_argument("output", nargs="?")
    ap.add_argument("scores", nargs="?")
    ap.add_argument("--prompt")
    ap.add_argument("--batch-size", type=int)
    ap.add_argument("--tolerance", type=float, default=0.02)
    ap.add_argument("--alpha")
    args = ap.parse_args()
    if args.alpha:
        runs = json.load(open(args.alpha))
        print(json.dumps({"nominal": alpha_pairwise(runs, "nominal"), "interval": alpha_pairwise(runs, "interval")}))
        return 0

    expected, transitions = expected_metrics(args)
    scores = json.load(open(args.scores))
    column = scores["columns"][0]
    failures = 0
    print(f"{'metric':<32}{'numpy/scipy':>22}{'promptlab':>22}{'|diff|':>12}")
    for meta in scores["metrics"]:
        key = meta["key"]
        node = lookup(column, key)
        value, low, high = expected.get(key, (0, None, None) if key.startswith("failures.") else (None, None, None))
        if node is None and value is None:
            continue
        if node is None or value is None:
            print(f"{key:<32}{str(value):>22}{str(node):>22}{'':>12}  {'NOT RECOMPUTED' if value is None else 'MISSING'}")
            failures += 1
            continue
        got = node if isinstance(node, (int, float)) else node["value"]
        if got is None:
            diffs = [0.0 if value is None else math.inf]
        else:
            diffs = [abs(value - got)]
        if low is not None and isinstance(node, dict):
            diffs += [abs(low - node["low"]), abs(high - node["high"])]
        worst = max(diffs)
        flag = "" if worst <= 1e-9 else "  MISMATCH"
        failures += worst > 1e-9
        if key.startswith("failures.") and value == 0 and worst == 0:
            continue  # checked; zero counts of the other failure kinds are not worth a line
        print(f"{key:<32}{value:>22.15g}{got:>22.15g}{worst:>12.1e}{flag}")
    if column["transitions"]["counts"] != transitions:
        print("transitions: MISMATCH", column["transitions"]["counts"], transitions)
        failures += 1
    else:
        print("transitions (9 x 9 counts)                    equal")
    print("all metrics agree to 1e-9" if failures == 0 else f"{failures} metrics differ")
    return 1 if failures else 0


sys.exit(main())
