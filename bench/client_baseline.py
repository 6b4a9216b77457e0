#!/usr/bin/env python3
"""The Python baseline of bench/client.sh: openai-python's AsyncOpenAI relabelling the same
corpus with the same request bodies as `promptlab relabel --items-per-request 30`, at the same
concurrency, each answer checked by a compiled JSON Schema validator and renormalised, one
JSON line written per item (the same fields as promptlab's output line).

    client_baseline.py --base-url URL --corpus corpus.jsonl --template captured.jsonl \
        --concurrency 16 --out out.jsonl [--batch-size 30] [--check-bodies N] [--print-body]

The bodies are rendered here from the corpus, as promptlab renders them (numbered data points
`N. descriptions#d1,...,d8` joined by " | ", descriptions sanitised, reference values at 4
decimals); the system text, the response schema, the user text around the data points, the
model, temperature, seed and max_completion_tokens are taken from the recorded request of the
corpus's first batch in `--template` (real promptlab requests, one JSON body a line, recorded by
bench/capture_bodies.py). Every batch must be full (the nginx answer has 30 items). `--check-bodies N`
renders the first N batches, compares them with the N recorded bodies (as JSON values) and
exits: 0 when all are equal. Prints a one-line JSON summary.
"""
import argparse
import asyncio
import json
import sys
import time
import unicodedata

EMOTIONS = ["angry", "sad", "disgust", "contempt", "fear", "neutral", "surprise", "happy"]
CODES = {"A": 0, "S": 1, "D": 2, "C": 3, "F": 4, "N": 5, "U": 6, "H": 7}
NAMES = {name: i for i, name in enumerate(EMOTIONS)}
SEPARATOR = " | "
DECIMALS = 4
TOLERANCE = 0.02

p = argparse.ArgumentParser()
p.add_argument("--base-url")
p.add_argument("--corpus", required=True)
p.add_argument("--template", required=True)
p.add_argument("--concurrency", type=int, default=16)
p.add_argument("--batch-size", type=int, default=30)
p.add_argument("--out")
p.add_argument("--check-bodies", type=int, default=0)
p.add_argument("--print-body", action="store_true", help="print the first rendered body and exit")
args = p.parse_args()


def reference(item):
    """The reference distribution: `reference` if given, else the vote share (other/X excluded)."""
    if "reference" in item:
        ref = item["reference"]
        values = [float(ref.get(name, 0)) for name in EMOTIONS] if isinstance(ref, dict) else [float(v) for v in ref]
        total = sum(values)
        return values if abs(total - 1) <= 1e-12 else [v / total for v in values]
    counts = [0.0] * 8
    for vote in item["votes"]:
        v = vote.strip()
        i = CODES.get(v.upper()) if len(v) == 1 else NAMES.get(v.lower())
        if i is not None:
            counts[i] += 1
    total = sum(counts)
    return [c / total for c in counts]


def sanitize(text):
    out = []
    for ch in text:
        if ch == "#":
            out.append(" ")
        elif ch in "{[":
            out.append("(")
        elif ch in "}]":
            out.append(")")
        elif ch == '"':
            out.append("'")
        elif ch.isspace() or unicodedata.category(ch) in ("Cc", "Zl", "Zp"):
            out.append(" ")
        else:
            out.append(ch)
    text = "".join(out).replace(SEPARATOR.strip(), " ")
    text = " ".join(t for t in text.split(" ") if t)
    return text if len(text) <= 300 else text[:299] + "\u2026"


def value_text(v):
    text = f"{v:.{DECIMALS}f}"
    while text.endswith("0") and not text.endswith(".0"):
        text = text[:-1]
    return text


def data_point(number, item, ref):
    descriptions = item.get("descriptions") or []
    if isinstance(descriptions, str):
        descriptions = [descriptions]
    words = ",".join(w for w in (sanitize(d) for d in descriptions) if w)
    return f"{number}. {words or '(none)'}#{','.join(value_text(v) for v in ref)}"


recorded_bodies = [json.loads(line) for line in open(args.template) if line.strip()]


def read_batches():
    """The corpus in batches, read as they are needed (promptlab streams its dataset too)."""
    batch = []
    for line in open(args.corpus):
        if line.strip():
            item = json.loads(line)
            batch.append((str(item["id"]), item, reference(item)))
            if len(batch) == args.batch_size:
                yield batch
                batch = []
    if batch:
        sys.exit(f"the corpus ends with a batch of {len(batch)} items: the fixed answer has {args.batch_size}, use a multiple")


first_batches = []
for b in read_batches():
    first_batches.append(b)
    if len(first_batches) == max(1, args.check_bodies):
        break

# The user text around the data points, from the recorded request of the first batch.
first_data = SEPARATOR.join(data_point(n + 1, item, ref) for n, (_, item, ref) in enumerate(first_batches[0]))
template = next((b for b in recorded_bodies if b["messages"][1]["content"].endswith(first_data)), None)
if template is None:
    sys.exit("no recorded user message ends with the first batch's data points as rendered here: rendering differs from promptlab's")
template_user = template["messages"][1]["content"]
user_prefix = template_user[: len(template_user) - len(first_data)]


def body(batch):
    data = SEPARATOR.join(data_point(n + 1, item, ref) for n, (_, item, ref) in enumerate(batch))
    out = {}
    for key, value in template.items():
        if key == "messages":
            value = [template["messages"][0], {"role": "user", "content": user_prefix + data}]
        out[key] = value
    return out


if args.print_body:
    print(json.dumps(body(first_batches[0]), separators=(",", ":")))
    sys.exit(0)

if args.check_bodies:
    recorded = recorded_bodies[: args.check_bodies]
    rendered = [body(b) for b in first_batches[: len(recorded)]]
    key = lambda b: json.dumps(b, sort_keys=True)  # noqa: E731 (order-insensitive: promptlab may send batches out of order)
    equal = sum(a == b for a, b in zip(sorted(map(key, recorded)), sorted(map(key, rendered))))
    print(json.dumps({"recorded": len(recorded), "equal": equal}))
    sys.exit(0 if recorded and equal == len(recorded) else 1)


async def main():
    import jsonschema
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=args.base_url, api_key="bench", max_retries=2)
    validators = {}  # one compiled validator per distinct schema object
    out = open(args.out, "w")
    counts = {"requests": 0, "items": 0, "relabeled": 0, "invalid": 0}
    pending = read_batches()

    async def worker():
        for batch in pending:
            request = body(batch)
            request_schema = request["response_format"]["json_schema"]["schema"]
            validator = validators.get(id(request_schema))
            if validator is None:
                validator = validators[id(request_schema)] = jsonschema.Draft202012Validator(request_schema)
            response = await client.chat.completions.create(**request)
            counts["requests"] += 1
            document = json.loads(response.choices[0].message.content)
            valid = validator.is_valid(document)
            entries = {e.get("index"): e for e in document.get("items", [])} if valid else {}
            for position, (item_id, _, ref) in enumerate(batch, start=1):
                counts["items"] += 1
                entry = entries.get(position)
                line = {"id": item_id}
                if entry is None:
                    counts["invalid"] += 1
                    line.update(status="failed", reference=dict(zip(EMOTIONS, ref)))
                else:
                    raw = [entry[name] for name in EMOTIONS]
                    total = sum(raw)
                    adjusted = raw if abs(total - 1) <= 1e-12 else [v / total for v in raw]
                    counts["relabeled"] += 1
                    line.update(status="relabeled", reference=dict(zip(EMOTIONS, ref)), adjusted=dict(zip(EMOTIONS, adjusted)),
                                raw=dict(zip(EMOTIONS, raw)), reason=entry["reason"], sum_off=abs(total - 1) > TOLERANCE)
                line.update(prompt="paper-reason", provider="openai-python", model=request["model"])
                out.write(json.dumps(line, separators=(",", ":")) + "\n")

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    out.close()
    await client.close()
    counts["wall_seconds"] = round(time.monotonic() - started, 3)
    counts["validators"] = len(validators)
    print(json.dumps(counts))


asyncio.run(main())
