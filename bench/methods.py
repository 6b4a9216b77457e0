#!/usr/bin/env python3
"""Scores relabeled outputs against a gold relabeling (EMO-SUPERB CSV with GPT-4's relabels):
per output, the mean JS divergence (natural log) to the gold, the argmax agreement (any shared
maximal class, 1e-9 tolerance), the share changed from the reference (max |p - r| > 1e-6), the
share marked no_evidence and the share failed; overall and on the items the gold changed.
Usage: methods.py GOLD.csv LABEL=OUT.jsonl [LABEL=OUT.jsonl ...] (a 'reference' row, the votes unchanged, comes first)"""
import csv, json, math, sys

EMOTIONS = ["angry", "sad", "disgust", "contempt", "fear", "neutral", "surprise", "happy"]

def jsd(p, q):
    m = [(a + b) / 2 for a, b in zip(p, q)]
    kl = lambda x: sum(a * math.log(a / c) for a, c in zip(x, m) if a > 0)
    return 0.5 * kl(p) + 0.5 * kl(q)

def argmax_set(p):
    top = max(p)
    return {i for i, v in enumerate(p) if v >= top - 1e-9}

def gold_rows(path):
    with open(path, newline="") as f:
        rows = csv.reader(f)
        header = next(rows)
        index = [header.index(e) for e in EMOTIONS]
        out = {}
        for row in rows:
            values = [float(row[i]) for i in index]
            total = sum(values)
            out[row[0]] = [v / total for v in values] if total > 0 else None
        return out

def main():
    gold = gold_rows(sys.argv[1])
    print(f"{'method':<20} {'subset':<13} {'n':>5} {'JS to gold':>10} {'argmax':>7} {'changed':>8} {'no evid.':>8} {'failed':>7}")
    specs = [s.split("=", 1) for s in sys.argv[2:]]
    ties_report(gold, specs[0][1])
    def load(path):
        with open(path) as f:
            return [r for r in map(json.loads, f) if "journal" not in r]
    # The unchanged reference, from the first output's reference fields.
    first = load(specs[0][1])
    reference = [{"id": r["id"], "status": "relabeled", "reference": r["reference"], "adjusted": r["reference"]} for r in first]
    for label, records in [("reference", reference)] + [(label, load(path)) for label, path in specs]:
        for subset in ("all", "gold changed", "tied reference"):
            n = js = agree = changed = none = failed = 0
            for r in records:
                g = gold.get(r["id"])
                if g is None: continue
                ref = [r["reference"][e] for e in EMOTIONS]
                if subset == "gold changed" and max(abs(a - b) for a, b in zip(g, ref)) <= 1e-6: continue
                if subset == "tied reference" and len(argmax_set(ref)) < 2: continue
                n += 1
                if r["status"] != "relabeled":
                    failed += 1
                    p = ref  # a failed item keeps its reference for the comparison
                else:
                    p = [r["adjusted"][e] for e in EMOTIONS]
                    if r.get("no_evidence"): none += 1
                    if max(abs(a - b) for a, b in zip(p, ref)) > 1e-6: changed += 1
                js += jsd(p, g)
                agree += bool(argmax_set(p) & argmax_set(g))
            if n:
                print(f"{label:<20} {subset:<13} {n:>5} {js / n:>10.4f} {agree / n:>7.3f} {changed / n:>8.3f} {none / n:>8.3f} {failed / n:>7.3f}")

def ties_report(gold, path):
    """How GPT-4 treats a tie among the reference's maximal classes."""
    kept_all = kept_some = broke = n = 0
    with open(path) as f:
        for r in map(json.loads, f):
            if "journal" in r or r["id"] not in gold or gold[r["id"]] is None: continue
            ref = [r["reference"][e] for e in EMOTIONS]
            tied = argmax_set(ref)
            if len(tied) < 2: continue
            n += 1
            g = argmax_set(gold[r["id"]])
            if tied <= g: kept_all += 1
            elif tied & g: kept_some += 1
            else: broke += 1
    print(f"references with tied maxima: {n}; GPT-4 keeps the whole tie on {kept_all} ({100 * kept_all / max(n, 1):.1f}%), "
          f"narrows it to some of the tied classes on {kept_some} ({100 * kept_some / max(n, 1):.1f}%), moves the maximum elsewhere on {broke}")

if __name__ == "__main__":
    main()
