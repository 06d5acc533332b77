"""Scale-out on real engines: a real Chroma server (``chroma run`` on 127.0.0.1), the service
in front of it, ingests while queries run, a Chroma restart, and ``serve --workers 2``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.embedding.fake import HashingEmbedder
from assistant.engine import Engine
from assistant.index.layout import IndexLayout
from assistant.services import Services, build_services
from tests.chroma_server import CHROMA_EXE, ChromaServer
from tests.test_api_harness import (
    GROUNDED_Q,
    UPLOAD_TEXT,
    build_base,
    check_citations,
    client_for,
    error_of,
    free_port,
    parse_sse,
    settings_for,
    workspace,
)

pytestmark = pytest.mark.skipif(not CHROMA_EXE.exists(), reason="no `chroma` executable")
ADMIN = {"Authorization": "Bearer scale-admin"}


@pytest.fixture(scope="session")
def base_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_base(tmp_path_factory)


@pytest.fixture(scope="module")
def chroma(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path_factory.mktemp("chroma") / "data").start()
    try:
        yield server
    finally:
        server.stop()


def ask(q: str = GROUNDED_Q, **extra: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": q}], **extra}


def server_services(base_dir: Path, tmp_path: Path, chroma: ChromaServer, **kw: Any) -> Services:
    """A workspace (corpus copy, no index) whose index lives on the Chroma server."""
    root = workspace(base_dir, tmp_path, with_index=False)
    settings = settings_for(root, chroma_host=chroma.host, chroma_port=chroma.port, **kw)
    services = build_services(settings, embedder=HashingEmbedder())
    assert services.engine.ensure_index()
    return services


def chunk_ids(index_dir: Path) -> set[str]:
    gen = IndexLayout(index_dir).current_generation()
    assert gen is not None
    return {json.loads(x)["id"] for x in (gen / "chunks.jsonl").read_text().splitlines() if x}


def test_the_service_runs_on_the_chroma_server(
    base_dir: Path, tmp_path: Path, chroma: ChromaServer
) -> None:
    services = server_services(base_dir, tmp_path, chroma, admin_token="scale-admin")
    layout = IndexLayout(services.settings.index_dir)
    manifest = layout.read_manifest()
    assert manifest.chroma["mode"] == "server"
    gen = layout.current_generation()
    assert gen is not None and not (gen / "chroma").exists()  # vectors live on the server
    names = httpx.get(
        f"{chroma.url}/api/v2/tenants/default_tenant/databases/default_database/collections",
        timeout=10,
    ).json()
    assert manifest.chroma["collection"] in {c["name"] for c in names}
    with client_for(services) as c:
        assert c.get("/readyz").status_code == 200
        hits = c.post("/api/search", json={"query": "水素ステーション", "method": "dense"})
        assert hits.status_code == 200 and hits.json()["results"]
        a = c.post("/api/chat", json=ask()).json()
        assert a["grounded"] is True
        check_citations(a)
        files = {"file": ("robot-memo.md", UPLOAD_TEXT.encode(), "text/markdown")}
        assert c.post("/api/documents?wait=60", files=files, headers=ADMIN).status_code == 201
        hits = c.post("/api/search", json={"query": "ロボット実証フィールド"}).json()["results"]
        assert hits[0]["doc_id"] == "robot-memo"
        assert c.delete("/api/documents/robot-memo", headers=ADMIN).status_code == 200


def test_ingest_while_queries_run_sees_old_or_new_never_half_built(
    base_dir: Path, tmp_path: Path, chroma: ChromaServer
) -> None:
    services = server_services(base_dir, tmp_path, chroma)
    s = services.settings
    known = set(chunk_ids(s.index_dir))  # chunk ids of every published generation
    problems: list[str] = []
    counts = {"search": 0, "chat": 0}
    stop = threading.Event()

    with client_for(services) as c:

        def query(n: int) -> None:
            while not stop.is_set():
                if n % 2:
                    r = c.post("/api/search", json={"query": "関西 水素 蓄電池 特区", "top_k": 8})
                    if r.status_code != 200 or not r.json()["results"]:
                        problems.append(f"search {r.status_code} {r.text[:200]}")
                        continue
                    ids = {h["id"] for h in r.json()["results"]}
                    if not ids <= known:
                        problems.append(f"unknown chunks {ids - known}")
                    counts["search"] += 1
                else:
                    r = c.post("/api/chat", json=ask())
                    if r.status_code != 200:
                        problems.append(f"chat {r.status_code} {r.text[:200]}")
                        continue
                    check_citations(r.json())
                    counts["chat"] += 1

        threads = [threading.Thread(target=query, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        try:
            writer = Engine(s, embedder_override=HashingEmbedder())  # a separate "process"
            corpus = Path(s.corpus_dir)
            for i in range(3):
                body = "\n\n".join(
                    f"## 特区{i}-{k}\n\n関西の特区{i}-{k}で水素と蓄電池の実証を行います。"
                    for k in range(60)
                )
                (corpus / f"zone-{i}.md").write_text(f"# 特区メモ{i}\n\n{body}\n", "utf-8")
                before = IndexLayout(s.index_dir).current_marker()
                # the new generation's chunk ids are "known" from the moment it is published
                report = writer.ingestor().ingest([corpus])
                known |= chunk_ids(s.index_dir)
                assert report.generation != before and report.added == [f"zone-{i}"]
                time.sleep(0.5)
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=60)
        assert not problems, problems[:5]
        assert counts["search"] >= 5 and counts["chat"] >= 5, counts
        hits = c.post("/api/search", json={"query": "特区2-59"}).json()["results"]
        assert hits[0]["doc_id"] == "zone-2"  # the service moved to the last generation


def test_chroma_restart_fails_clearly_then_recovers_without_a_service_restart(
    base_dir: Path, tmp_path: Path
) -> None:
    chroma = ChromaServer(tmp_path / "chroma-data").start()
    try:
        services = server_services(base_dir, tmp_path, chroma)
        with client_for(services) as c:
            assert c.post("/api/search", json={"query": "水素"}).status_code == 200
            chroma.stop()
            for _ in range(3):  # first the loaded index fails, then the reload does
                for path, body in (("/api/search", {"query": "水素"}), ("/api/chat", ask())):
                    r = c.post(path, json=body)
                    assert r.status_code == 503, r.text
                    err = error_of(r)
                    assert err["code"] == "index_not_ready", err
                    assert "chroma" in (err["message"] + err["hint"]).lower(), err
            ready = c.get("/readyz")
            assert ready.status_code == 503 and "Chroma" in json.dumps(ready.json())
            assert c.get("/healthz").status_code == 200
            chroma.start()  # same port, same data folder
            r = c.post("/api/search", json={"query": "水素ステーション"})
            assert r.status_code == 200 and r.json()["results"][0]["doc_id"] == "hydrogen-note"
            a = c.post("/api/chat", json=ask()).json()
            assert a["grounded"] is True
            assert c.get("/readyz").status_code == 200
    finally:
        chroma.stop()


# ---- several worker processes -----------------------------------------------------------------------
def _serve(root: Path, chroma: ChromaServer, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    """``kansai-assistant serve`` in the background; its log goes to ``root/server.log`` (a
    pipe nobody reads would fill up and block the workers' logging)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KANSAI_")}
    env.update(
        chroma.env(),
        KANSAI_CORPUS_DIR=str(root / "corpus"),
        KANSAI_FEEDBACK_PATH=str(root / "var" / "feedback.jsonl"),
        KANSAI_LOG_JSON="true",
    )
    exe = str(Path(sys.executable).parent / "kansai-assistant")
    cmd = [exe, "serve", "--index", str(root / "var" / "index"), "--embedder", "fake"]
    with open(root / "server.log", "wb") as log:
        proc = subprocess.Popen(
            [*cmd, "--port", str(port), "--workers", str(workers), "--no-ui"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        assert proc.poll() is None, (root / "server.log").read_text()
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the server did not become ready"
        time.sleep(0.3)


def _hit(url: str, i: int) -> str:
    """One request of a mix; returns "" when fine, else what went wrong."""
    with httpx.Client(base_url=url, timeout=60) as c:
        kind = i % 4
        if kind == 0:
            r = c.post("/api/search", json={"query": "水素ステーション"})
            ok = r.status_code == 200 and bool(r.json()["results"])
        elif kind == 1:
            r = c.post("/api/chat", json=ask())
            ok = r.status_code == 200 and r.json()["grounded"] is True
        elif kind == 2:
            with c.stream("POST", "/api/chat", json=ask(stream=True)) as s:
                events = parse_sse(s.iter_lines())
            ok = s.status_code == 200 and events[-1][0] == "final"
            return "" if ok else f"stream {events[-1:]}"
        else:
            r = c.post("/api/feedback", json={"answer_id": f"a{i}", "rating": "up"})
            ok = r.status_code == 201
        return "" if ok else f"{r.status_code} {r.text[:200]}"


@pytest.mark.slow
def test_serve_with_two_workers_on_the_chroma_server(
    base_dir: Path, tmp_path: Path, chroma: ChromaServer
) -> None:
    root = workspace(base_dir, tmp_path, with_index=False)
    proc, url = _serve(root, chroma, workers=2)
    try:
        with ThreadPoolExecutor(16) as pool:
            failures = [f for f in pool.map(lambda i: _hit(url, i), range(80)) if f]
        assert not failures, failures[:5]
        lines = (root / "var" / "feedback.jsonl").read_text().splitlines()
        assert len(lines) == 20 and all(json.loads(x)["rating"] == "up" for x in lines)

        # an ingest by another process: every worker moves to the new generation
        (root / "corpus" / "robot-memo.md").write_text(UPLOAD_TEXT, encoding="utf-8")
        settings = settings_for(root, chroma_host=chroma.host, chroma_port=chroma.port)
        Engine(settings, embedder_override=HashingEmbedder()).ingestor().ingest([root / "corpus"])

        def robot(_: int) -> bool:
            r = httpx.post(
                f"{url}/api/search", json={"query": "ロボット実証フィールド"}, timeout=30
            )
            return r.status_code == 200 and r.json()["results"][0]["doc_id"] == "robot-memo"

        with ThreadPoolExecutor(8) as pool:
            assert all(pool.map(robot, range(32)))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    out = (root / "server.log").read_text()
    assert "starting 2 workers" in out and "Chroma server" in out
    started = [
        json.loads(x)
        for x in out.splitlines()
        if x.startswith("{") and "Started server process" in x
    ]
    assert len({s["msg"] for s in started}) == 2, out[-3000:]  # two worker processes served


def test_two_workers_without_a_chroma_server_is_refused_clearly(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KANSAI_")}
    exe = str(Path(sys.executable).parent / "kansai-assistant")
    done = subprocess.run(
        [exe, "serve", "--workers", "2", "--index", str(tmp_path / "ix"), "--embedder", "fake"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "KANSAI_CHROMA_HOST" in done.stderr.strip().splitlines()[-1]
