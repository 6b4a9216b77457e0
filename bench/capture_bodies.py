#!/usr/bin/env python3
"""A one-shot loopback listener that records request bodies: bench/client.sh points promptlab
at it for the first few batches of the corpus, so the Python baseline can take the system
text, the response schema and the sampling settings from a real promptlab request and prove
that it renders the same bodies.

    bench/capture_bodies.py PORT_FILE BODIES_OUT ANSWER_FILE [UPSTREAM]

Listens on 127.0.0.1 (a free port, written to PORT_FILE), answers every POST with the bytes
of ANSWER_FILE (a chat completion), appends each request body as one line to BODIES_OUT, and
exits on SIGTERM/SIGINT or after 10 minutes. With UPSTREAM (http://host:port), GET requests
are forwarded there (a llama-server's /health and /props, which promptlab reads first)."""
import http.server
import signal
import sys
import threading

import http.client
import urllib.parse

port_file, bodies_out, answer_file = sys.argv[1:4]
upstream = urllib.parse.urlsplit(sys.argv[4]) if len(sys.argv) > 4 else None
answer = open(answer_file, "rb").read()
out = open(bodies_out, "wb")
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with lock:
            out.write(body.replace(b"\n", b" ") + b"\n")
            out.flush()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def do_GET(self):
        if upstream is None:
            self.send_error(404)
            return
        conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=30)
        conn.request("GET", self.path)
        response = conn.getresponse()
        body = response.read()
        self.send_response(response.status)
        self.send_header("Content-Type", response.getheader("Content-Type", "application/json"))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        conn.close()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os  # noqa: E402

os.replace(port_file + ".tmp", port_file)
signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
threading.Timer(600, server.shutdown).start()
try:
    server.serve_forever()
except KeyboardInterrupt:
    pass
out.close()
os._exit(0)
