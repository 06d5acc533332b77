"""Faults: the language model failing in every way, ingests and feedback writers SIGKILLed,
damaged index files, and a short soak. After each fault the service must still answer.

tests/test_api.py and tests/test_answer.py already check the status codes and fallbacks of a
failing model; here each fault is followed by "is the service healthy and answering?" and the
streams are read to their end over HTTP.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.api.app import create_app
from assistant.embedding.fake import HashingEmbedder
from assistant.feedback import Feedback, FeedbackStore
from assistant.index.layout import IndexLayout
from assistant.llm.chat_model import OpenAIChatModel
from assistant.services import build_services
from assistant.testing.openai_server import scripted_openai_server
from tests.test_api_harness import (
    GROUNDED_Q,
    build_base,
    check_citations,
    client_for,
    error_of,
    free_port,
    hydrogen_llm,
    live_server,
    make_services,
    parse_sse,
    settings_for,
    workspace,
)

PROJECT = Path(__file__).resolve().parent.parent
EXE = str(Path(sys.executable).parent / "kansai-assistant")


@pytest.fixture(scope="session")
def base_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_base(tmp_path_factory)


def ask(q: str = GROUNDED_Q, **extra: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": q}], **extra}


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("KANSAI_")}


# ---- the language model failing ---------------------------------------------------------------------
def long_hydrogen(messages: list[dict[str, Any]]) -> str:
    return hydrogen_llm(messages) + "関西は蓄電池産業の集積地です。" * 20


@contextmanager
def llm_fault(kind: str) -> Iterator[OpenAIChatModel]:
    """An OpenAI-compatible model that is down, slow, dying mid-stream or answering 500."""
    if kind == "down":
        yield OpenAIChatModel(base_url=f"http://127.0.0.1:{free_port()}/v1", model="m", timeout=2)
        return
    table: dict[str, dict[str, Any]] = {
        "slow": {"fn": hydrogen_llm, "delay_s": 3.0},
        "dies-mid-stream": {"fn": long_hydrogen, "die_after_chars": 40},
        "http-500": {"status": 500},
    }
    with scripted_openai_server(**table[kind]) as srv:
        yield OpenAIChatModel(base_url=srv.base_url, model="m", timeout=1.0)


def assert_healthy_and_answering(base_url: str) -> None:
    """What a monitor and a user see right after a fault."""
    assert httpx.get(f"{base_url}/healthz", timeout=10).json() == {"status": "ok"}
    r = httpx.post(f"{base_url}/api/search", json={"query": "水素ステーション"}, timeout=30)
    assert r.status_code == 200 and r.json()["results"]
    r = httpx.post(f"{base_url}/api/chat", json=ask(), timeout=30)
    assert r.status_code in (200, 502, 504), r.text
    if r.status_code == 200:
        check_citations(r.json())


def read_sse(base_url: str, path: str, body: dict[str, Any]) -> tuple[int, list[tuple[str, str]]]:
    """The whole stream, as a client reads it; returns when the server closes it."""
    with httpx.stream("POST", f"{base_url}{path}", json=body, timeout=30) as r:
        if r.headers.get("content-type", "").startswith("application/json"):
            r.read()
            return r.status_code, [("json", r.text)]
        return r.status_code, parse_sse(r.iter_lines())


@pytest.mark.parametrize("fallback", [True, False])
@pytest.mark.parametrize("kind", ["down", "slow", "dies-mid-stream", "http-500"])
def test_llm_fault_then_the_service_is_healthy(
    base_dir: Path, tmp_path: Path, kind: str, fallback: bool
) -> None:
    with llm_fault(kind) as model:
        services = make_services(
            base_dir, tmp_path, chat_model=model, fallback_to_extractive=fallback
        )
        with live_server(create_app(services)) as url:
            # plain JSON
            r = httpx.post(f"{url}/api/chat", json=ask(), timeout=30)
            if fallback:
                assert r.status_code == 200 and r.json()["degraded"] is True, r.text
                check_citations(r.json())
            else:
                assert r.status_code in (502, 504) and error_of(r)["hint"], r.text
            # our SSE: ends with a final answer or an error event, then the server closes it
            status, events = read_sse(url, "/api/chat", ask(stream=True))
            if status == 200:
                kinds = [e for e, _ in events]
                assert kinds and kinds[-1] in ("final", "error"), events
                assert all(k in ("delta", "final", "error") for k in kinds)
                if kinds[-1] == "final":
                    check_citations(json.loads(events[-1][1]))
            else:
                assert status in (502, 504) and not fallback
            # the OpenAI protocol: always closed with [DONE] once streaming started
            status, events = read_sse(url, "/v1/chat/completions", ask(stream=True))
            if status == 200:
                assert events[-1] == ("message", "[DONE]"), events[-3:]
            assert_healthy_and_answering(url)


# ---- SIGKILL during ingest ---------------------------------------------------------------------------
def _write_docs(folder: Path, round_no: int) -> None:
    for d in range(2):
        sections = "\n\n".join(
            f"## 第{d}章 第{s}節\n\n関西の産業{round_no}-{d}-{s}に関する説明文です。" * 1
            + "関西の成長を支える取組を進めます。" * 8
            for s in range(120)
        )
        (folder / f"round{round_no}-{d}.md").write_text(
            f"# 第{round_no}回 文書{d}\n\n{sections}\n", encoding="utf-8"
        )


def _search_ok(index_dir: Path) -> list[str]:
    """Search the index in service in a fresh process-like Searcher; returns the doc ids."""
    from assistant.retrieval.searcher import Searcher
    from assistant.settings import EmbedderKind, Settings
    from assistant.text.tokenizer import get_tokenizer

    searcher = Searcher(
        Settings(index_dir=index_dir, embedder=EmbedderKind.fake),
        HashingEmbedder(),
        get_tokenizer("sudachi"),
    )
    hits = searcher.search("水素ステーション", k=3)
    assert hits, "the index in service answers nothing"
    return [h.doc_id for h in hits]


def _ingest_cmd(docs: Path, index_dir: Path) -> list[str]:
    return [EXE, "ingest", str(docs), "--index", str(index_dir), "--embedder", "fake", "--json"]


@pytest.mark.slow
def test_sigkill_during_ingest_at_random_points_keeps_the_index_serving(
    base_dir: Path, tmp_path: Path
) -> None:
    """5 seeded runs: a real ``kansai-assistant ingest`` SIGKILLed at a random moment of its
    run (start-up, chunking, embedding, writing the generation or publishing)."""
    root = workspace(base_dir, tmp_path)
    index_dir, docs = root / "var" / "index", root / "corpus"
    layout = IndexLayout(index_dir)
    _write_docs(docs, 99)  # a full run first: how long does an ingest take here?
    t0 = time.monotonic()
    subprocess.run(_ingest_cmd(docs, index_dir), env=clean_env(), capture_output=True, check=True)
    full_s = time.monotonic() - t0
    rng = random.Random(8)
    killed = 0
    for run in range(5):
        before = layout.current_marker()
        _write_docs(docs, run)
        proc = subprocess.Popen(
            _ingest_cmd(docs, index_dir),
            env=clean_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.3, full_s * 1.05))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            killed += 1
        proc.wait(timeout=30)
        after = layout.current_marker()
        # the old generation, or a complete new one (a kill just after the switch leaves the
        # new one in service with a -9 exit code): never a half-written one
        assert after == before or (index_dir / after / "COMPLETE").exists()
        assert (index_dir / after / "COMPLETE").exists()
        assert "hydrogen-note" in _search_ok(index_dir)
    assert killed >= 3, f"only {killed} of 5 runs were killed (a full ingest takes {full_s:.1f} s)"
    report = subprocess.run(
        _ingest_cmd(docs, index_dir), env=clean_env(), capture_output=True, text=True, timeout=300
    )
    assert report.returncode == 0, report.stderr
    final = json.loads(report.stdout)
    assert final["chunks"] > 0 and layout.current_marker() == final["generation"]
    assert all((g / "COMPLETE").exists() for g in index_dir.glob("gen-*"))  # debris cleaned
    assert "hydrogen-note" in _search_ok(index_dir)
    assert _search_ok_query(index_dir, "関西の産業4-1-119") == "round4-1"


def _search_ok_query(index_dir: Path, query: str) -> str:
    from assistant.retrieval.searcher import Searcher
    from assistant.settings import EmbedderKind, Settings
    from assistant.text.tokenizer import get_tokenizer

    searcher = Searcher(
        Settings(index_dir=index_dir, embedder=EmbedderKind.fake),
        HashingEmbedder(),
        get_tokenizer("sudachi"),
    )
    return searcher.search(query, k=1, method="bm25")[0].doc_id


# ---- SIGKILL while appending feedback ----------------------------------------------------------------
_FEEDBACK_WRITER = """
import sys
from pathlib import Path
from assistant.feedback import Feedback, FeedbackStore
store = FeedbackStore(Path(sys.argv[1]))
for i in range(100000):
    store.add(Feedback(answer_id=f"a{i}", rating="up", comment="とても良い" * 20))
    print(i, flush=True)  # acknowledged only after the fsync in add()
"""


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_feedback_written_before_a_sigkill_is_kept(tmp_path: Path, seed: int) -> None:
    path = tmp_path / "feedback.jsonl"
    FeedbackStore(path).add(Feedback(answer_id="before", rating="down"))
    proc = subprocess.Popen(
        [sys.executable, "-c", _FEEDBACK_WRITER, str(path)],
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    acked = -1
    stop_after = random.Random(seed).randint(20, 400)
    for line in proc.stdout:
        acked = int(line)
        if acked >= stop_after:
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=30)
    proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    ids = [r["answer_id"] for r in FeedbackStore(path).all()]
    assert ids[0] == "before"
    assert {f"a{i}" for i in range(acked + 1)} <= set(ids)  # every acknowledged record is there
    FeedbackStore(path).add(Feedback(answer_id="after", rating="up"))  # and the file still works
    assert FeedbackStore(path).all()[-1]["answer_id"] == "after"


# ---- damaged index files -------------------------------------------------------------------------------
def _damage(index_dir: Path, kind: str) -> None:
    gen = index_dir / (index_dir / "CURRENT").read_text(encoding="utf-8").strip()
    if kind == "chunks-truncated":
        data = (gen / "chunks.jsonl").read_bytes()
        (gen / "chunks.jsonl").write_bytes(data[: len(data) // 2])
    elif kind == "chunks-missing":
        (gen / "chunks.jsonl").unlink()
    elif kind == "bm25-deleted":
        shutil.rmtree(gen / "bm25")
    elif kind == "chroma-deleted":
        shutil.rmtree(gen / "chroma")
    elif kind == "current-to-missing-generation":
        (index_dir / "CURRENT").write_text("gen-20000101T000000-gone", encoding="utf-8")
    elif kind == "current-empty":
        (index_dir / "CURRENT").write_text("", encoding="utf-8")
    else:
        raise AssertionError(kind)


DAMAGE = [
    "chunks-truncated",
    "chunks-missing",
    "bm25-deleted",
    "chroma-deleted",
    "current-to-missing-generation",
    "current-empty",
]


@pytest.mark.parametrize("kind", DAMAGE)
def test_damaged_index_is_a_clear_message_in_cli_and_api_and_the_fix_works(
    base_dir: Path, tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from assistant.cli import main

    root = workspace(base_dir, tmp_path)
    index_dir = root / "var" / "index"
    _damage(index_dir, kind)
    search = ["search", "水素ステーション", "--index", str(index_dir), "--embedder", "fake"]
    assert main(search) == 1
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "kansai-assistant ingest" in lines[0] and "Traceback" not in err

    services = build_services(settings_for(root), embedder=HashingEmbedder())
    with client_for(services) as c:
        for path, body in (
            ("/api/search", {"query": "水素"}),
            ("/api/chat", ask()),
            ("/v1/chat/completions", ask()),
        ):
            r = c.post(path, json=body)
            assert r.status_code == 503, (path, r.text)
            e = error_of(r)
            assert e["code"] == "index_not_ready" and "kansai-assistant ingest" in e["hint"]
        ready = c.get("/readyz")
        assert ready.status_code == 503
        assert "kansai-assistant ingest" in ready.json()["checks"]["index"]["detail"]
        assert c.get("/healthz").status_code == 200

        # the fix named in the message works, and the running service picks it up
        fix = ["ingest", str(root / "corpus"), "--rebuild", "--index", str(index_dir)]
        assert main([*fix, "--embedder", "fake"]) == 0, capsys.readouterr().err
        r = c.post("/api/search", json={"query": "水素ステーション"})
        assert r.status_code == 200 and r.json()["results"][0]["doc_id"] == "hydrogen-note"
    capsys.readouterr()
    assert main(search) == 0 and "水素" in capsys.readouterr().out


# ---- soak (short) ---------------------------------------------------------------------------------------
def test_soak_smoke_has_no_errors_and_reports_memory(base_dir: Path, tmp_path: Path) -> None:
    from eval.soak import run_soak

    services = make_services(base_dir, tmp_path)
    with live_server(create_app(services)) as url:
        stats = run_soak(url, duration_s=10, concurrency=8, pid=os.getpid())
    assert stats.requests > 20 and stats.errors == 0, stats.summary()
    assert {"chat", "search", "stream"} <= set(stats.by_kind)
    assert stats.rss_before_mb > 0 and stats.rss_after_mb > 0 and stats.rss_samples_mb
    assert "RSS" in stats.summary()


def test_long_question_soak_smoke_reports_both_phases(base_dir: Path, tmp_path: Path) -> None:
    from eval.soak import ADMIN_TOKEN, run_long_soak

    services = make_services(base_dir, tmp_path, admin_token=ADMIN_TOKEN)
    with live_server(create_app(services)) as url:
        result = run_long_soak(url, 4, 4, long_clients=2, pid=os.getpid(), uploads=1, upload_kb=4)
    assert result.baseline.errors == 0 and result.mixed.errors == 0, result.summary()
    assert result.long_errors == [] and result.upload_errors == [], result.summary()
    assert result.long_ms and result.uploads_done == 1
    assert len(result.thirds()) == 3 and result.rss_timeline_mb
    text = result.summary()
    assert "ratio with/alone" in text and "long questions:" in text and "by thirds" in text
