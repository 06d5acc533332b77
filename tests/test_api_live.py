"""The API over real HTTP: uvicorn on 127.0.0.1, the official openai client, curl, the CLI."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from assistant.api.app import create_app
from tests.test_api_harness import (
    GROUNDED_Q,
    UPLOAD_TEXT,
    build_base,
    check_citations,
    free_port,
    live_server,
    make_services,
    parse_sse,
    workspace,
)


@pytest.fixture(scope="session")
def base_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_base(tmp_path_factory)


PROJECT = Path(__file__).resolve().parent.parent
API_KEY, ADMIN_TOKEN = "test-api-key", "test-admin-token"


@pytest.fixture
def server(base_dir: Path, tmp_path: Path) -> Iterator[str]:
    services = make_services(
        base_dir, tmp_path, api_key=API_KEY, admin_token=ADMIN_TOKEN, max_upload_bytes=8192
    )
    with live_server(create_app(services)) as url:
        yield url


def test_openai_client_plain_and_streaming(server: str) -> None:
    client = openai.OpenAI(base_url=f"{server}/v1", api_key=API_KEY, max_retries=0)
    assert [m.id for m in client.models.list()] == ["kansai-vision-assistant"]
    messages: Any = [{"role": "user", "content": GROUNDED_Q}]
    resp = client.chat.completions.create(model="kansai-vision-assistant", messages=messages)
    text = resp.choices[0].message.content or ""
    extra = resp.model_extra or {}
    check_citations({"answer": text, "citations": extra["citations"]})
    assert extra["kansai"]["grounded"] is True and extra["kansai"]["mode"] == "chat"
    assert "removed" in extra["kansai"] and "[1]" in text

    deltas, last = [], None
    for chunk in client.chat.completions.create(
        model="kansai-vision-assistant",
        messages=messages,
        stream=True,
        extra_body={"mode": "chat", "top_k": 3},
    ):
        if chunk.choices and chunk.choices[0].delta.content:
            deltas.append(chunk.choices[0].delta.content)
        last = chunk
    assert last is not None and last.choices[0].finish_reason == "stop"
    streamed = "".join(deltas)
    check_citations({"answer": streamed, "citations": (last.model_extra or {})["citations"]})
    assert streamed == text  # exactly, not after a strip()


def test_openai_client_errors(server: str) -> None:
    bad = openai.OpenAI(base_url=f"{server}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()
    client = openai.OpenAI(base_url=f"{server}/v1", api_key=API_KEY, max_retries=0)
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(
            model="kansai-vision-assistant", messages=[{"role": "user", "content": " "}]
        )
    assert "empty" in str(err.value)


def test_sse_over_http(server: str) -> None:
    body = {"messages": [{"role": "user", "content": GROUNDED_Q}], "stream": True}
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.stream("POST", f"{server}/api/chat", json=body, headers=headers) as r:
        assert r.status_code == 200 and r.headers["x-request-id"]
        events = parse_sse(r.iter_lines())
    assert [e for e, _ in events][-1] == "final"
    final = json.loads(events[-1][1])
    assert "".join(json.loads(d)["text"] for e, d in events if e == "delta") == final["answer"]
    check_citations(final)


def test_upload_limits_over_http(server: str) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    big = {"file": ("big.md", b"x" * 200_000, "text/markdown")}
    r = httpx.post(f"{server}/api/documents", files=big, headers=admin)
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    ok = {"file": ("robot-memo.md", UPLOAD_TEXT.encode(), "text/markdown")}
    r = httpx.post(f"{server}/api/documents", files=ok, headers=admin)
    assert r.status_code == 202, r.text  # indexed in the background
    job = r.json()["job"]
    assert r.headers["location"] == job["url"] and job["state"] in ("queued", "running", "done")
    r = httpx.get(f"{server}{job['url']}?wait=60", headers=admin)
    assert r.status_code == 200 and r.json()["state"] == "done", r.text
    assert r.json()["result"]["doc_id"] == "robot-memo"
    r = httpx.post(
        f"{server}/api/search",
        json={"query": "ロボット実証フィールド"},
        headers={"X-API-Key": API_KEY},
    )
    assert r.json()["results"][0]["doc_id"] == "robot-memo"


def _doc_blocks() -> list[tuple[str, str]]:
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    text = readme.split("\n## HTTP API\n", 1)[1].split("\n## ", 1)[0]  # the README's API section
    return [
        (m.group(1), m.group(2)) for m in re.finditer(r"```(bash|python)\n(.*?)```", text, re.S)
    ]


def test_docs_examples_run_against_a_live_server(server: str, tmp_path: Path) -> None:
    """Every ```bash and ```python block of the README's API section, in order, against a real server."""
    blocks = _doc_blocks()
    assert len(blocks) >= 6 and any(lang == "python" for lang, _ in blocks)
    assert shutil.which("curl"), "the docs use curl"
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    (cwd / "notes.md").write_text(UPLOAD_TEXT.replace("ロボット", "ドローン"), encoding="utf-8")
    env = {**os.environ, "KANSAI_API_KEY": API_KEY, "KANSAI_ADMIN_TOKEN": ADMIN_TOKEN}
    outputs = []
    for lang, code in blocks:
        code = code.replace("http://127.0.0.1:8000", server)
        cmd = (
            ["bash", "-euo", "pipefail", "-c", code]
            if lang == "bash"
            else [sys.executable, "-c", code]
        )
        done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, (code, done.stdout, done.stderr)
        outputs.append(done.stdout)
    joined = "\n".join(outputs)
    assert re.search(r'"grounded":\s*true', joined) and "event: final" in joined
    assert re.search(r'"doc_id":\s*"notes"', joined), joined
    assert re.search(r'"removed":\s*\["notes"\]', joined), joined
    assert "grounded: True" in joined  # the openai example


def test_serve_command_builds_the_index_and_serves(base_dir: Path, tmp_path: Path) -> None:
    root = workspace(base_dir, tmp_path, with_index=False)
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KANSAI_")},
        "KANSAI_CORPUS_DIR": str(root / "corpus"),
        "KANSAI_FEEDBACK_PATH": str(root / "feedback.jsonl"),
        "KANSAI_LOG_JSON": "true",
    }
    exe = str(Path(sys.executable).parent / "kansai-assistant")
    cmd = [exe, "serve", "--index", str(root / "var" / "index"), "--embedder", "fake"]
    proc = subprocess.Popen(
        [*cmd, "--port", str(port), "--no-ui"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not become ready"
            time.sleep(0.3)
        r = httpx.post(
            f"{url}/api/chat",
            json={"messages": [{"role": "user", "content": GROUNDED_Q}]},
            headers={"X-Request-ID": "req-42"},
        )
        assert r.status_code == 200 and r.json()["grounded"] is True
        assert (root / "var" / "index" / "CURRENT").exists()
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    assert "built the index" in out and "serving on" in out
    access = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    chat = [a for a in access if a.get("path") == "/api/chat"]
    assert chat and chat[0]["request_id"] == "req-42" and chat[0]["status"] == 200
    assert GROUNDED_Q not in out
