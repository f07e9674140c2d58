"""A small HTTP server on 127.0.0.1 that answers like the Mistral API, for record-mode tests.

It serves POST /v1/conversations (JSON, or server-sent events when the body says
``"stream": true``) and GET /v1/connectors, and remembers every request it saw.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

CREATED = "2026-11-25T10:00:00Z"


def conversation_response(text: str, conversation_id: str = "conv_fake_0001") -> dict:
    return {
        "object": "conversation.response",
        "conversation_id": conversation_id,
        "outputs": [
            {
                "object": "entry",
                "type": "message.output",
                "created_at": CREATED,
                "completed_at": CREATED,
                "id": "msg_fake_0001",
                "model": "mistral-small-latest",
                "role": "assistant",
                "content": text,
            }
        ],
        "usage": {"prompt_tokens": 9, "completion_tokens": 7, "total_tokens": 16},
    }


def stream_events(text: str) -> list[tuple[str, dict]]:
    half = len(text) // 2
    delta = {"id": "msg_fake_0001", "model": "mistral-small-latest", "role": "assistant", "output_index": 0,
             "content_index": 0, "created_at": CREATED, "type": "message.output.delta"}
    return [
        ("conversation.response.started",
         {"type": "conversation.response.started", "conversation_id": "conv_fake_0002", "created_at": CREATED}),
        ("message.output.delta", {**delta, "content": text[:half]}),
        ("message.output.delta", {**delta, "content": text[half:]}),
        ("conversation.response.done",
         {"type": "conversation.response.done", "created_at": CREATED,
          "usage": {"prompt_tokens": 9, "completion_tokens": 7, "total_tokens": 16}}),
    ]


class FakeMistralAPI:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.answer = "The capital of France is Paris."
        self.connector_pages: list[list[dict]] = []  # GET /v1/connectors pages; page N+1 has the cursor "pN"
        self.connector: dict = {}  # what PATCH /v1/connectors/<id> answers, under the fields sent
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def _reply(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Set-Cookie", "session=server-cookie-value")
                self.end_headers()
                self.wfile.write(body)

            def _record(self) -> dict:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                seen = {"method": self.command, "path": self.path, "headers": dict(self.headers),
                        "json": json.loads(raw) if raw else None}
                owner.requests.append(seen)
                return seen

            def do_POST(self):
                seen = self._record()
                if not self.path.startswith("/v1/conversations"):
                    return self._reply(404, b'{"object":"error","message":"Not found"}', "application/json")
                if (seen["json"] or {}).get("stream"):
                    body = "".join(f"event: {e}\ndata: {json.dumps(d)}\n\n" for e, d in stream_events(owner.answer))
                    return self._reply(200, body.encode(), "text/event-stream")
                return self._reply(200, json.dumps(conversation_response(owner.answer)).encode(), "application/json")

            def do_GET(self):
                self._record()
                cursor = parse_qs(urlsplit(self.path).query).get("cursor", ["p0"])[0]
                index, pages = int(cursor[1:]), owner.connector_pages
                following = f"p{index + 1}" if index + 1 < len(pages) else None
                body = {"items": pages[index] if index < len(pages) else [],
                        "pagination": {"page_size": 100, "next_cursor": following}}
                return self._reply(200, json.dumps(body).encode(), "application/json")

            def do_PATCH(self):  # a connector update: the connector, as sent (``owner.connector`` beneath)
                seen = self._record()
                body = {**owner.connector, "id": self.path.rsplit("/", 1)[-1], **(seen["json"] or {})}
                return self._reply(200, json.dumps(body).encode(), "application/json")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
