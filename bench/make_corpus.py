#!/usr/bin/env python3
"""Writes a synthetic corpus of N items in the project JSONL (made-up ids and descriptions)."""
import json
import random
import sys

n, path = int(sys.argv[1]), sys.argv[2]
rng = random.Random(n)
words = ["calm", "Annoyed", "happy!!", "tired", "Concerned", "bored", "excited", "sarcastic", "worried", "amused", "lonley", "proud"]
codes = "ASDCFNUH"
with open(path, "w") as f:
    for i in range(n):
        votes = [rng.choice(codes) for _ in range(rng.randint(5, 9))]
        f.write(json.dumps({"id": f"syn{i:07d}", "descriptions": rng.sample(words, rng.randint(0, 3)), "votes": votes}) + "\n")
