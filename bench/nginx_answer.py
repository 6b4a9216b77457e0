#!/usr/bin/env python3
"""Writes what bench/nginx.sh serves: one fixed, valid chat completion whose content is a
30-item answer of the project's output contract, and an nginx configuration that returns it
for `POST /v1/chat/completions` from memory (no file, no upstream).

    bench/nginx_answer.py DIR PORT [ITEMS=30]

writes DIR/answer.json (the HTTP body, for checks), DIR/content.json (the answer itself) and
DIR/nginx.conf (prefix DIR, 127.0.0.1:PORT, one worker, keepalive, no access log).

The answer: {"items": [{"index": 1..N, "angry": ..., ..., "happy": ..., "reason": "..."}]},
8 values written with 4 decimals that sum to exactly 1.0000, a reason of 15 to 20 words and
under 160 characters per item (the contract's default reason limit).

nginx pitfalls this file works around (nginx 1.22, Debian bookworm):
- a config token is limited to the 4 KB config buffer ("too long parameter"), and the answer
  is ~9 KB: the body is split into `set $b0 '...'; set $b1 '...'; ...` chunks under 3 KB and
  returned as `return 200 '$b0$b1...'`;
- inside a quoted token nginx turns \\n, \\t, \\r into control characters and drops the
  backslash before ' " and \\: every backslash of the JSON is doubled and every ' escaped;
- `$` starts a variable in `return`/`set` text and cannot be escaped: the answer has none;
- `return` discards the request body, so POST works (a static file answers POST with 405).
"""
import json
import os
import random
import sys

EMOTIONS = ["angry", "sad", "disgust", "contempt", "fear", "neutral", "surprise", "happy"]
WORDS = ["calm", "tone", "annoyed", "voice", "slightly", "tired", "sounds", "concern", "mild", "frustration",
         "steady", "neutral", "amused", "laughter", "worried", "pitch", "description", "supports", "reference",
         "shifts", "mass", "toward", "sadness", "surprise", "little", "anger", "bored", "flat", "delivery"]


def answer_items(count, seed=30):
    rng = random.Random(seed)
    items = []
    for index in range(1, count + 1):
        # 8 values in ten-thousandths summing to exactly 10000.
        cuts = sorted(rng.sample(range(1, 10000), 7))
        parts = [b - a for a, b in zip([0] + cuts, cuts + [10000])]
        while True:
            words = [rng.choice(WORDS) for _ in range(rng.randint(15, 20))]
            reason = " ".join(words).capitalize() + "."
            if len(reason) < 160:
                break
        entry = {"index": index}
        for name, value in zip(EMOTIONS, parts):
            entry[name] = f"{value / 10000:.4f}"  # kept as text: written as a JSON number with 4 decimals
        entry["reason"] = reason
        items.append(entry)
    return items


def content_text(items):
    # json.dumps would print 0.125 for 0.1250: write the numbers ourselves, 4 decimals each.
    out = []
    for entry in items:
        fields = [f'"index":{entry["index"]}'] + [f'"{name}":{entry[name]}' for name in EMOTIONS]
        fields.append('"reason":' + json.dumps(entry["reason"]))
        out.append("{" + ",".join(fields) + "}")
    return '{"items":[' + ",".join(out) + "]}"


def completion_body(content):
    body = {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1764380000,
        "model": "bench",
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                     "message": {"role": "assistant", "content": content, "refusal": None}}],
        "usage": {"prompt_tokens": 1350, "completion_tokens": 2600, "total_tokens": 3950,
                  "prompt_tokens_details": {"cached_tokens": 0}},
        "system_fingerprint": "fp_bench",
    }
    return json.dumps(body, separators=(",", ":"))


def nginx_quote(text):
    assert "$" not in text, "nginx would read $ as a variable"
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def chunks(text, size=2500):
    # Cut between characters whose quoted form stays under the 4 KB config buffer.
    return [text[i:i + size] for i in range(0, len(text), size)]


def synthetic_request(count=30):
    """A request body shaped like promptlab's (system text of the bundled prompt, 30 data
    points, the contract's schema), for wrk when no recorded request is at hand."""
    here = os.path.dirname(os.path.abspath(__file__))
    text = open(os.path.join(here, "..", "prompts", "paper-reason.prompt")).read()
    system = text.split("=== system ===\n", 1)[1].split("=== user ===", 1)[0].strip()
    system = system.replace("{{emotions}}", ", ".join(EMOTIONS)).replace("{{separator}}", " | ")
    rng = random.Random(7)
    points = [f"{n}. {rng.choice(WORDS)},{rng.choice(WORDS)}#0.4,0.4,0.0,0.0,0.0,0.2,0.0,0.0" for n in range(1, count + 1)]
    item = {"type": "object", "properties": {"index": {"type": "integer", "minimum": 1, "maximum": count}},
            "required": ["index"] + EMOTIONS + ["reason"], "additionalProperties": False}
    for name in EMOTIONS:
        item["properties"][name] = {"type": "number", "minimum": 0, "maximum": 1}
    item["properties"]["reason"] = {"type": "string"}
    schema = {"type": "object", "properties": {"items": {"type": "array", "items": item, "minItems": count, "maxItems": count}},
              "required": ["items"], "additionalProperties": False}
    return json.dumps({"model": "bench", "messages": [{"role": "system", "content": system},
                                                      {"role": "user", "content": f"Relabel these {count} data points:\n" + " | ".join(points)}],
                       "response_format": {"type": "json_schema", "json_schema": {"name": "emotion_relabel_batch", "strict": True, "schema": schema}},
                       "temperature": 0, "seed": 42, "max_completion_tokens": 4000}, separators=(",", ":"))


def main():
    directory, port = sys.argv[1], int(sys.argv[2])
    with open(os.path.join(directory, "request.json"), "w") as f:
        f.write(synthetic_request())
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    items = answer_items(count)
    content = content_text(items)
    document = json.loads(content)
    assert [e["index"] for e in document["items"]] == list(range(1, count + 1))
    for e in document["items"]:
        assert abs(sum(e[n] for n in EMOTIONS) - 1) < 1e-9 and 15 <= len(e["reason"].split()) <= 20 and len(e["reason"]) < 160
    body = completion_body(content)
    json.loads(body)
    with open(os.path.join(directory, "content.json"), "w") as f:
        f.write(content)
    with open(os.path.join(directory, "answer.json"), "w") as f:
        f.write(body)

    parts = chunks(body)
    sets = "\n".join(f"            set $b{i} {nginx_quote(part)};" for i, part in enumerate(parts))
    for part in parts:
        assert len(nginx_quote(part)) < 4000
    joined = "".join(f"$b{i}" for i in range(len(parts)))
    d = os.path.abspath(directory)
    conf = f"""# Written by bench/nginx_answer.py: a fixed chat completion for the client benchmark.
worker_processes 1;
daemon off;
master_process on;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{
    worker_connections 1024;
}}
http {{
    access_log off;
    default_type application/json;
    keepalive_timeout 75s;
    keepalive_requests 1000000;
    client_body_buffer_size 64k;
    client_max_body_size 1m;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    server {{
        listen 127.0.0.1:{port} backlog=1024;
        server_name bench;
        location = /v1/chat/completions {{
            if ($request_method != POST) {{ return 405; }}
{sets}
            return 200 '{joined}';
        }}
        location = /nginx_status {{ stub_status; }}
        location / {{ return 404; }}
    }}
}}
"""
    os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
    with open(os.path.join(directory, "nginx.conf"), "w") as f:
        f.write(conf)


if __name__ == "__main__":
    main()
