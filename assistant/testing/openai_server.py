"""A real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions protocol.

It answers from a script (a queue of answers, or a function of the messages), streams with
Server-Sent Events like OpenAI does, and can be told to stall or die mid-stream: tests use it
with the real ``openai`` client instead of mocking it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Script = Callable[[list[dict[str, Any]]], str]


class ScriptedOpenAIServer:
    def __init__(
        self,
        answers: list[str] | None = None,
        fn: Script | None = None,
        model: str = "scripted-model",
        delay_s: float = 0.0,
        die_after_chars: int | None = None,
        status: int = 200,
    ) -> None:
        self.answers = list(answers or [])
        self.fn = fn
        self.model = model
        self.delay_s = delay_s
        self.die_after_chars = die_after_chars
        self.status = status
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._httpd is not None
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def next_answer(self, messages: list[dict[str, Any]]) -> str:
        with self._lock:
            if self.fn is not None:
                return self.fn(messages)
            return self.answers.pop(0) if self.answers else "資料には記載がありません。"

    def start(self) -> ScriptedOpenAIServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _json(self, code: int, obj: Any) -> None:
                body = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    self._json(
                        200,
                        {
                            "object": "list",
                            "data": [{"id": server.model, "object": "model", "owned_by": "test"}],
                        },
                    )
                else:
                    self._json(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                try:
                    self._post()
                except (BrokenPipeError, ConnectionResetError):
                    return  # the client gave up (a timeout test): nothing to answer

            def _post(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                payload = json.loads(self.rfile.read(length) or b"{}")
                server.requests.append(payload)
                if server.status != 200:
                    self._json(
                        server.status,
                        {"error": {"message": "scripted failure", "type": "server_error"}},
                    )
                    return
                if server.delay_s:
                    time.sleep(server.delay_s)
                text = server.next_answer(payload.get("messages", []))
                if payload.get("stream"):
                    self._stream(text)
                else:
                    self._json(200, _completion(server.model, text))

            def _stream(self, text: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                sent = 0
                for piece in _pieces(text):
                    if server.die_after_chars is not None and sent >= server.die_after_chars:
                        self.wfile.flush()
                        self.close_connection = True
                        self.connection.shutdown(2)  # the server "dies" mid-stream
                        return
                    chunk = _chunk(server.model, {"content": piece})
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                    sent += len(piece)
                final = _chunk(server.model, {}, finish="stop")
                self.wfile.write(f"data: {json.dumps(final)}\n\ndata: [DONE]\n\n".encode())
                self.wfile.flush()
                self.close_connection = True

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None


def _pieces(text: str, size: int = 5) -> Iterator[str]:
    for i in range(0, len(text), size):
        yield text[i : i + size]


def _completion(model: str, text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


@contextmanager
def scripted_openai_server(**kwargs: Any) -> Iterator[ScriptedOpenAIServer]:
    server = ScriptedOpenAIServer(**kwargs).start()
    try:
        yield server
    finally:
        server.stop()
