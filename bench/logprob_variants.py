#!/usr/bin/env python3
"""Two choices of the logprob method, measured on the EMO-SUPERB dev split against GPT-4's relabels:

(a) grammar: the next token under a llama.cpp grammar that allows only the 8 words (post-sampling
    probabilities: temperature 1, top_k/top_p/min_p off, n_probs 20) against the top 20 tokens of
    the free distribution mapped to the 8 words (what the method does);
(b) per description: one request per description (the words column split on ',') averaged over
    the item's descriptions, against the whole string in one request (what the method does).

The free whole-string evidence is read from a logprob run's output (its lines' `evidence`), the
others are asked from a running llama-server (answers kept in CACHE, so a rerun asks nothing).
Every variant is mixed at each w of WEIGHTS with T = 1 and scored like bench/methods.py: mean JS
divergence and argmax agreement with GPT-4's relabels, and how often the evidence's argmax is
the class GPT-4 raised most (items GPT-4 changed).

Usage: logprob_variants.py PORT INPUT.csv GOLD.csv RUN.jsonl PROMPT_FILE CACHE.json [LIMIT]"""
import csv, json, math, os, sys, threading, time, urllib.request, concurrent.futures as cf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from methods import EMOTIONS, argmax_set, jsd  # noqa: E402

FORMS = {"angry": ["angry", "anger", "angered", "angrily"], "sad": ["sad", "sadness", "saddened"],
         "disgust": ["disgust", "disgusted", "disgusting"], "contempt": ["contempt", "contemptuous"],
         "fear": ["fear", "fearful", "feared"], "neutral": ["neutral", "neutrality"],
         "surprise": ["surprise", "surprised", "surprising"], "happy": ["happy", "happiness", "happily"]}
EXACT = {f: e for e, fs in FORMS.items() for f in fs}
WEIGHTS = [0.05, 0.25]
GRAMMAR = 'root ::= " " ("angry" | "sad" | "disgust" | "contempt" | "fear" | "neutral" | "surprise" | "happy")'

def emotion(token):
    """LogProbMethod.emotion(forToken:) in Python."""
    t = token.lstrip(" \t\n\u2581\u0120")
    while t and not t[0].isalpha(): t = t[1:]
    while t and not t[-1].isalpha(): t = t[:-1]
    if not t or not all(c.isascii() and c.isalpha() for c in t): return None
    w = t.lower()
    if w in EXACT: return EXACT[w]
    if len(w) < 3: return None
    hits = {e for e, fs in FORMS.items() if any(f.startswith(w) for f in fs)}
    return hits.pop() if len(hits) == 1 else None

def evidence(candidates):
    sums = [0.0] * 8
    for c in candidates:
        p = c["prob"] if "prob" in c else math.exp(c["logprob"])
        e = emotion(c["token"])
        if e: sums[EMOTIONS.index(e)] += p
    return sums

def save(cache, path, lock):
    """Writes the answers kept so far whole (a temporary file renamed over the old one)."""
    with lock: snapshot = dict(cache)
    with open(path + ".tmp", "w") as f: json.dump(snapshot, f)
    os.replace(path + ".tmp", path)

def main():
    port, input_csv, gold_csv, run, prompt_file, cache_path = sys.argv[1:7]
    limit = int(sys.argv[7]) if len(sys.argv) > 7 else None
    text = open(prompt_file).read()
    header = text.split("=== system ===\n")[1].split("=== user ===")[0].rstrip("\n")
    rows = list(csv.DictReader(open(input_csv)))[:limit]
    gold = {r[""]: [float(r[e]) for e in EMOTIONS] for r in csv.DictReader(open(gold_csv))}
    whole = {}
    for line in open(run):
        r = json.loads(line)
        if "journal" in r: continue
        whole[r["id"]] = ([r["evidence"][e] * r["mass"] for e in EMOTIONS] if r["status"] == "relabeled" and "evidence" in r else None)
    try: cache = json.load(open(cache_path))
    except (OSError, ValueError): cache = {}
    lock = threading.Lock()
    clean = lambda s: " ".join(s.replace("#", " ").replace("{", "(").replace("[", "(").replace("}", ")").replace("]", ")").replace('"', "'").split())

    def ask(kind, words):
        key = kind + "\t" + words
        with lock:
            if key in cache: return cache[key]
        body = {"prompt": header + "\nWord: " + words + " -> Emotion:", "n_predict": 1, "n_probs": 20, "cache_prompt": True}
        if kind == "grammar":
            body.update({"grammar": GRAMMAR, "post_sampling_probs": True, "temperature": 1, "top_k": 0, "top_p": 1, "min_p": 0})
        else:
            body["temperature"] = 0
        req = urllib.request.Request(f"http://127.0.0.1:{port}/completion", json.dumps(body).encode(), {"Content-Type": "application/json"})
        answer = json.loads(urllib.request.urlopen(req, timeout=300).read())
        first = answer["completion_probabilities"][0]
        candidates = first.get("top_probs") or first.get("top_logprobs")
        with lock: cache[key] = candidates
        return candidates

    jobs = set()
    for r in rows:
        if not r["words"].strip(): continue
        jobs.add(("grammar", clean(r["words"])))
        for d in r["words"].split(","):
            if clean(d): jobs.add(("free", clean(d)))
    todo = [j for j in jobs if j[0] + "\t" + j[1] not in cache]
    started = time.time()
    with cf.ThreadPoolExecutor(2) as pool:
        for i, _ in enumerate(pool.map(lambda j: ask(*j), todo)):
            if i % 25 == 24:
                save(cache, cache_path, lock)
                print(f"  {i + 1}/{len(todo)} asked, {time.time() - started:.0f} s", file=sys.stderr)
    save(cache, cache_path, lock)

    variants = {"whole string, top 20 mapped (the method)": {}, "whole string, grammar (post-sampling)": {}, "per description averaged": {}}
    masses = {k: [] for k in variants}
    for r in rows:
        i = r[""]
        if not r["words"].strip() or i not in gold: continue
        w = whole.get(i)
        if w is not None: variants["whole string, top 20 mapped (the method)"][i] = w
        variants["whole string, grammar (post-sampling)"][i] = evidence(ask("grammar", clean(r["words"])))
        parts = [evidence(ask("free", clean(d))) for d in r["words"].split(",") if clean(d)]
        parts = [p for p in parts if sum(p) >= 0.1]  # a description the model cannot place is left out
        if parts:
            variants["per description averaged"][i] = [sum(p[k] / sum(p) for p in parts) / len(parts) * 1.0 for k in range(8)]
    print(f"{'variant':<44} {'n':>5} {'mass med':>8} {'w':>5} {'JS to GPT-4':>11} {'argmax':>7} {'JS (changed)':>12} {'evidence argmax = GPT-4 raised most':>36}")
    common = set.intersection(*(set(v) for v in variants.values()))
    refs = {r[""]: [float(r[e]) for e in EMOTIONS] for r in rows}
    for name, ev in variants.items():
        ms = sorted(sum(ev[i]) for i in common)
        for wt in WEIGHTS:
            js = jsc = agree = hit = n = nc = 0
            for i in common:
                ref, g = refs[i], gold[i]
                tot, gt = sum(ref), sum(g)
                ref, g = [x / tot for x in ref], [x / gt for x in g]
                e = [x / sum(ev[i]) for x in ev[i]]
                p = [(1 - wt) * a + wt * b for a, b in zip(ref, e)]
                n += 1; js += jsd(p, g); agree += bool(argmax_set(p) & argmax_set(g))
                if max(abs(a - b) for a, b in zip(g, ref)) > 1e-6:
                    nc += 1; jsc += jsd(p, g)
                    raised = [a - b for a, b in zip(g, ref)]
                    hit += e.index(max(e)) in argmax_set(raised)
            print(f"{name:<44} {n:>5} {ms[len(ms) // 2]:>8.2f} {wt:>5.2f} {js / n:>11.4f} {agree / n:>7.3f} {jsc / max(nc, 1):>12.4f} {hit / max(nc, 1):>36.3f}")
    print(f"(on the {len(common)} items every variant could answer; per description: {len(variants['per description averaged'])} items, "
          f"{sum(1 for j in jobs if j[0] == 'free')} distinct descriptions asked; grammar: {sum(1 for j in jobs if j[0] == 'grammar')} distinct strings)")

main()
