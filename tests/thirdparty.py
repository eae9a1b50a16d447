"""A loopback "third party": an HTTP server that records every byte it receives."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Handler(BaseHTTPRequestHandler):
    server: Any

    def log_message(self, format: str, *args: Any) -> None:
        """Silence: the test reads what was received, not access logs."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        raw = self.requestline.encode() + b"\r\n" + bytes(self.headers) + body
        self.server.received.append(raw)
        self.server.bodies.append(body)
        try:
            doc = json.loads(body)
        except ValueError:
            doc = {}
        if doc.get("stream") == "tokens":  # OpenAI-style: a few characters per event
            said = f"You said: {doc['messages'][-1]['content']}"
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for i in range(0, len(said), 3):
                chunk = {"choices": [{"index": 0, "delta": {"content": said[i : i + 3]}}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
            self.wfile.write(b"data: [DONE]\n\n")
            return
        if doc.get("stream"):
            text = json.dumps(doc)
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            event = f"data: {json.dumps({'delta': text})}\n\ndata: [DONE]\n\n".encode()
            for i in range(0, len(event), 7):  # 7-byte writes: placeholders get split
                self.wfile.write(event[i : i + 7])
                self.wfile.flush()
            return
        if self.path.endswith("/chat/completions") and "messages" in doc:
            said = doc["messages"][-1]["content"]
            reply = json.dumps(
                {
                    "id": "chatcmpl-1",
                    "object": "chat.completion",
                    "created": 0,
                    "model": doc.get("model", "m"),
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": f"You said: {said}"},
                        }
                    ],
                }
            ).encode()
        else:
            reply = json.dumps({"echo": doc, "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    do_PUT = do_POST


@contextmanager
def third_party() -> Iterator[Any]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.received = []
    server.bodies = []
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
