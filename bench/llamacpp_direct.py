#!/usr/bin/env python3
"""The direct client of bench/llamacpp.sh: sends promptlab's own request bodies (captured by
bench/capture_bodies.py) to a llama-server, one worker per slot so that every slot is always
busy, and prints what it got as one JSON object.

    bench/llamacpp_direct.py URL BODIES_FILE

Each body is sent as captured except "stream": false (generation is the same; the client reads
one body). Standard library only: http.client keep-alive connections, one thread per slot, a
shared queue in body order. Output: {"requests", "items", "answered_items", "wall_seconds",
"items_per_second", "prompt_tokens", "cached_tokens", "completion_tokens", "slots"}: items are
the data points sent (one '#' each in the user message), answered items the entries that came
back with 8 numbers; cached tokens are llama.cpp's `timings.cache_n` (prompt tokens taken from
the slot's cache)."""
import http.client
import json
import queue
import sys
import threading
import time
import urllib.parse

EMOTIONS = ["angry", "sad", "disgust", "contempt", "fear", "neutral", "surprise", "happy"]
url = urllib.parse.urlsplit(sys.argv[1])
bodies = [json.loads(line) for line in open(sys.argv[2]) if line.strip()]

props = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
props.request("GET", "/props")
slots = json.loads(props.getresponse().read()).get("total_slots", 1)
props.close()

work = queue.Queue()
for body in bodies:
    body["stream"] = False
    work.put(json.dumps(body).encode())
lock = threading.Lock()
totals = {"requests": 0, "items": 0, "answered_items": 0, "prompt_tokens": 0, "cached_tokens": 0, "completion_tokens": 0}


def worker():
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=900)
    while True:
        try:
            body = work.get_nowait()
        except queue.Empty:
            return
        conn.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
        answer = json.loads(conn.getresponse().read())
        asked = json.loads(body)["messages"][-1]["content"].count("#")
        answered = 0
        try:
            for entry in json.loads(answer["choices"][0]["message"]["content"]).get("items", []):
                if all(isinstance(entry.get(e), (int, float)) for e in EMOTIONS):
                    answered += 1
        except (ValueError, AttributeError, KeyError, IndexError, TypeError):
            pass
        usage = answer.get("usage", {})
        timings = answer.get("timings", {})
        with lock:
            totals["requests"] += 1
            totals["items"] += asked
            totals["answered_items"] += min(answered, asked)
            totals["prompt_tokens"] += usage.get("prompt_tokens", 0)
            totals["cached_tokens"] += timings.get("cache_n", 0)
            totals["completion_tokens"] += usage.get("completion_tokens", 0)


started = time.monotonic()
threads = [threading.Thread(target=worker) for _ in range(slots)]
for t in threads:
    t.start()
for t in threads:
    t.join()
wall = time.monotonic() - started
totals.update(wall_seconds=round(wall, 2), items_per_second=round(totals["items"] / wall, 4), slots=slots)
print(json.dumps(totals))
