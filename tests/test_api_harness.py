"""Shared helpers for the API tests (imported by tests/test_api_*.py; holds no tests).

A two-document corpus indexed once per session with the hashing embedder, copied per test;
a real uvicorn server in a thread; a Server-Sent Events parser that reads like a client.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from assistant.api.app import create_app
from assistant.embedding.fake import HashingEmbedder
from assistant.llm.chat_model import ChatModel
from assistant.services import Services, build_services
from assistant.settings import Settings

HYDROGEN = """# 関西水素ノート

## 水素ステーション

関西広域連合は水素ステーションの整備を進めます。

## 蓄電池

関西は蓄電池産業の集積地です。
"""
BATTERY = """# 関西蓄電池メモ

## 人材

蓄電池人材の育成講座を関西の大学と共同で開講します。
"""
# Near-verbatim questions: the hashing embedder is only close for shared characters.
GROUNDED_Q = "関西広域連合は水素ステーションの整備を進めますか？"
UPLOAD_TEXT = "# ロボット実証メモ\n\n## 実証フィールド\n\n関西ロボット実証フィールドは大阪湾岸に設置されます。\n"


_BASE: dict[str, Path] = {}


def build_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """corpus/ + var/index/ built once per session; tests copy it with :func:`workspace`."""
    if "root" in _BASE:
        return _BASE["root"]
    root = tmp_path_factory.mktemp("api-base")
    (root / "corpus").mkdir()
    (root / "corpus" / "hydrogen-note.md").write_text(HYDROGEN, encoding="utf-8")
    (root / "corpus" / "battery-memo.md").write_text(BATTERY, encoding="utf-8")
    services = build_services(settings_for(root), embedder=HashingEmbedder())
    assert services.engine.ensure_index()
    _BASE["root"] = root
    return root


def settings_for(root: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "index_dir": root / "var" / "index",
        "corpus_dir": root / "corpus",
        "feedback_path": root / "var" / "feedback.jsonl",
        "embedder": "fake",
        "ui_enabled": False,
    }
    values.update(overrides)
    return Settings(**values)


def workspace(base_dir: Path, tmp_path: Path, with_index: bool = True) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(base_dir / "corpus", root / "corpus")
    if with_index:
        shutil.copytree(base_dir / "var", root / "var")
    return root


def make_services(
    base_dir: Path,
    tmp_path: Path,
    chat_model: ChatModel | None = None,
    with_index: bool = True,
    **overrides: Any,
) -> Services:
    root = workspace(base_dir, tmp_path, with_index)
    return build_services(
        settings_for(root, **overrides), chat_model=chat_model, embedder=HashingEmbedder()
    )


@contextmanager
def client_for(services: Services, **kwargs: Any) -> Iterator[TestClient]:
    with TestClient(create_app(services), **kwargs) as c:
        yield c


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_server(app: FastAPI) -> Iterator[str]:
    """A real uvicorn server on 127.0.0.1 in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def parse_sse(lines: Iterator[str]) -> list[tuple[str, str]]:
    """(event, data) pairs, as an EventSource would dispatch them ("message" by default)."""
    out: list[tuple[str, str]] = []
    event, data = "", []
    for line in lines:
        if line == "":
            if data:
                out.append((event or "message", "\n".join(data)))
            event, data = "", []
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                event = value
            elif field == "data":
                data.append(value)
    if data:
        out.append((event or "message", "\n".join(data)))
    return out


def check_citations(answer: dict[str, Any]) -> None:
    """Every [n] in the answer text has a citation numbered n, and vice versa."""
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer["answer"])}
    numbers = {c["n"] for c in answer["citations"]}
    assert markers == numbers, (markers, numbers, answer["answer"])
    for c in answer["citations"]:
        assert {"n", "doc_id", "title", "section", "position", "text", "score", "quote"} <= set(c)


def hydrogen_llm(messages: list[dict[str, Any]]) -> str:
    """A scripted model that answers from the passage about hydrogen stations, citing it."""
    prompt = "\n".join(str(m.get("content", "")) for m in messages)
    m = re.search(r'<passage n="(\d+)"[^>]*>\n[^<]*水素ステーション', prompt)
    n = m.group(1) if m else "1"
    return f"関西広域連合は水素ステーションの整備を進めます。[{n}]"


def error_of(resp: Any) -> dict[str, Any]:
    body = resp.json()
    assert set(body) >= {"error"}, body
    err: dict[str, Any] = body["error"]
    assert err["message"] and err["code"], err
    assert "Traceback" not in json.dumps(body)
    return err
