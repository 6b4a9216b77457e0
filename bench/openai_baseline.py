#!/usr/bin/env python3
"""Baseline for the scale benchmark: openai-python's AsyncOpenAI sending the same request
bodies (as the fault server logged them from a promptlab run) with the same concurrency,
parsing each answer with json + jsonschema against the schema the request carried, and
writing one JSON line per item. Prints a one-line JSON summary."""
import argparse
import asyncio
import json
import time

import jsonschema
from openai import AsyncOpenAI

p = argparse.ArgumentParser()
p.add_argument("--base-url", required=True)
p.add_argument("--bodies", required=True)
p.add_argument("--concurrency", type=int, default=16)
p.add_argument("--out", required=True)
args = p.parse_args()


async def main():
    client = AsyncOpenAI(base_url=args.base_url, api_key="bench", max_retries=2)
    bodies = [json.loads(line) for line in open(args.bodies)]
    semaphore = asyncio.Semaphore(args.concurrency)
    out = open(args.out, "w")
    counts = {"requests": 0, "items": 0, "valid": 0, "invalid": 0}

    async def one(body):
        async with semaphore:
            schema = body["response_format"]["json_schema"]["schema"]
            response = await client.chat.completions.create(**body)
            counts["requests"] += 1
            document = json.loads(response.choices[0].message.content)
            try:
                jsonschema.validate(document, schema)
                valid = True
            except jsonschema.ValidationError:
                valid = False
            for entry in document.get("items", []):
                counts["items"] += 1
                counts["valid" if valid else "invalid"] += 1
                out.write(json.dumps({"index": entry["index"], "adjusted": {k: v for k, v in entry.items() if k not in ("index", "reason")},
                                      "reason": entry.get("reason")}) + "\n")

    started = time.monotonic()
    await asyncio.gather(*(one(b) for b in bodies))
    out.close()
    counts["wall_seconds"] = time.monotonic() - started
    print(json.dumps(counts))


asyncio.run(main())
