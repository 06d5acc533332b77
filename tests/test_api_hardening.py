"""The outside probe's findings (issue 13), as tests: hostile text, strict types, long
conversations, background uploads and their jobs, the only document, log forging, bounded
latency for short questions while long ones wait."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assistant.api.errors import Busy
from assistant.api.inputs import BodyProblem, check_json_body, clean_question
from assistant.api.jobs import Job, JobStore
from assistant.api.slots import AnswerSlots
from assistant.embedding.fake import HashingEmbedder
from assistant.errors import BadRequest
from assistant.feedback import Feedback, FeedbackStore
from assistant.services import build_services
from tests.test_api_harness import (
    GROUNDED_Q,
    UPLOAD_TEXT,
    build_base,
    check_citations,
    client_for,
    error_of,
    make_services,
    parse_sse,
    settings_for,
    workspace,
)

ADMIN = {"Authorization": "Bearer adm1n"}
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="session")
def base_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_base(tmp_path_factory)


@pytest.fixture
def client(base_dir: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    with client_for(make_services(base_dir, tmp_path, admin_token="adm1n")) as c:
        yield c


def ask(q: str = GROUNDED_Q, **extra: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": q}], **extra}


# ---- lone surrogates and invalid UTF-8 (the probe's cases) -----------------------------------------
ESCAPED = b"GRP\\ud800"  # a JSON escape of a lone surrogate
RAW = b"GRP\xed\xa0\x80"  # the same as raw bytes: not UTF-8


def _bodies(text: bytes) -> list[tuple[str, bytes]]:
    msg = b'{"role": "user", "content": "' + text + b'"}'
    return [
        ("/api/chat", b'{"messages": [' + msg + b"]}"),
        ("/api/chat", b'{"messages": [' + msg + b'], "stream": true}'),
        ("/api/chat", b'{"messages": [' + msg + b'], "mode": "support"}'),
        (
            "/api/chat",
            b'{"messages": [' + msg + b', {"role": "assistant", "content": "x"},'
            b' {"role": "user", "content": "\\u6c34\\u7d20"}]}',
        ),
        ("/api/search", b'{"query": "' + text + b'"}'),
        ("/v1/chat/completions", b'{"messages": [' + msg + b"]}"),
        ("/v1/chat/completions", b'{"messages": [' + msg + b'], "stream": true}'),
        ("/api/feedback", b'{"answer_id": "a1", "rating": "up", "comment": "' + text + b'"}'),
        ("/api/reindex", b'{"rebuild": false, "x": "' + text + b'"}'),
    ]


@pytest.mark.parametrize("text", [ESCAPED, RAW], ids=["escaped", "raw-bytes"])
def test_lone_surrogates_and_invalid_utf8_are_400_everywhere(client: Any, text: bytes) -> None:
    for path, body in _bodies(text):
        r = client.post(path, content=body, headers={**JSON, **ADMIN})
        assert r.status_code == 400, (path, r.text)
        err = error_of(r)
        assert err["code"] == "malformed_json", (path, err)
        assert ("surrogate" if text == ESCAPED else "UTF-8") in err["message"], err
        assert err["hint"]
    assert client.post("/api/chat", json=ask()).status_code == 200  # and the service lives
    assert client.app.state.services.feedback.all() == []


def test_a_valid_surrogate_pair_is_a_character(client: Any) -> None:
    body = b'{"messages": [{"role": "user", "content": "\\u6c34\\u7d20 \\ud83d\\ude00"}]}'
    r = client.post("/api/chat", content=body, headers=JSON)
    assert r.status_code == 200 and r.json()["question"] == "水素 😀"


def test_deep_nesting_and_bad_json_are_malformed_json(client: Any) -> None:
    for body in (b"[" * 100_000, b'{"messages": ' + b"[" * 40 + b"]" * 40 + b"}", b'{"a": 1,}'):
        r = client.post("/api/chat", content=body, headers=JSON)
        assert r.status_code == 400 and error_of(r)["code"] == "malformed_json", r.text
    r = client.post("/api/chat", content=b"[" * 100_000, headers=JSON)
    assert "nested too deeply" in error_of(r)["message"]


def test_json_body_over_the_limit_is_413(base_dir: Path, tmp_path: Path) -> None:
    with client_for(make_services(base_dir, tmp_path, max_json_bytes=2048)) as c:
        r = c.post("/api/chat", json=ask("あ" * 1000))
        assert r.status_code == 413 and error_of(r)["code"] == "payload_too_large"
        assert "KANSAI_MAX_JSON_BYTES" in error_of(r)["hint"]


def test_body_check_unit() -> None:
    check_json_body(b'{"a": ["\\ud83d\\ude00", {"b": 1}]}')  # a pair is fine
    for bad, words in (
        (b'{"a": "\\udc00"}', "lone surrogate"),
        (b'{"\\ud800": 1}', "lone surrogate"),
        (b"\xff", "UTF-8"),
        (b"[" * 33 + b"]" * 33, "nested too deeply"),
    ):
        with pytest.raises(BodyProblem, match=words):
            check_json_body(bad)


def test_the_embedders_and_the_feedback_store_never_crash_on_a_surrogate(tmp_path: Path) -> None:
    vec = HashingEmbedder().embed_query("GRP\ud800")
    assert vec.shape == (256,) and np.isfinite(vec).all()
    store = FeedbackStore(tmp_path / "fb.jsonl")
    with pytest.raises(BadRequest, match="surrogate"):
        store.add(Feedback(answer_id="a", rating="up", comment="x\udfff"))
    assert store.all() == []


# ---- empty, zero-width, strict types ---------------------------------------------------------------
@pytest.mark.parametrize("q", ["\u200b", "\u200b\u200c\u200d\ufeff", " \u3000\u2060\u00ad "])
def test_a_zero_width_only_question_counts_as_empty(client: Any, q: str) -> None:
    for path, body in (
        ("/api/chat", ask(q)),
        ("/v1/chat/completions", ask(q)),
        ("/api/search", {"query": q}),
    ):
        r = client.post(path, json=body)
        assert r.status_code == 400, (path, r.text)
        assert "empty" in error_of(r)["message"]


def test_zero_width_characters_inside_a_question_are_removed(client: Any) -> None:
    a = client.post("/api/chat", json=ask("水素\u200bステーション\u00adの整備は？")).json()
    assert a["question"] == "水素ステーションの整備は？" and a["grounded"]
    assert clean_question("\ufeff 関西 \u200b") == "関西"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/chat", ask(top_k="5")),
        ("/api/chat", ask(top_k=True)),
        ("/api/chat", ask(stream="yes")),
        ("/api/search", {"query": "水素", "top_k": "3"}),
        ("/api/search", {"query": 5}),
        ("/v1/chat/completions", ask(stream="yes")),
        ("/v1/chat/completions", ask(top_k="5")),
        ("/v1/chat/completions", ask(max_tokens="10")),
        ("/api/feedback", {"answer_id": 1, "rating": "up"}),
        ("/api/reindex", {"rebuild": "yes"}),
        ("/api/reindex", {"rebuild": 1}),
    ],
)
def test_strict_types(client: Any, path: str, body: dict[str, Any]) -> None:
    r = client.post(path, json=body, headers=ADMIN)
    assert r.status_code == 422, (path, r.text)
    err = error_of(r)
    assert err["code"] == "invalid_request" and err["details"], err
    assert client.app.state.jobs.store.all() == []  # "rebuild": "yes" re-embedded nothing


# ---- long conversations -------------------------------------------------------------------------
def _conversation(turns: int, question: str = GROUNDED_Q) -> list[dict[str, str]]:
    msgs = []
    for i in range(turns):
        msgs += [
            {"role": "user", "content": f"質問{i}"},
            {"role": "assistant", "content": f"回答{i}"},
        ]
    return [*msgs, {"role": "user", "content": question}]


def test_a_long_conversation_keeps_the_newest_turns_and_says_so(client: Any) -> None:
    msgs = _conversation(15)  # 31 messages; the limit is 20
    r = client.post("/api/chat", json={"messages": msgs})
    assert r.status_code == 200, r.text
    assert r.headers["x-kansai-history-dropped"] == "11"
    assert r.json()["history_dropped"] == 11 and r.json()["grounded"]
    with client.stream("POST", "/api/chat", json={"messages": msgs, "stream": True}) as s:
        assert s.headers["x-kansai-history-dropped"] == "11"
        final = json.loads(parse_sse(s.iter_lines())[-1][1])
    assert final["history_dropped"] == 11
    short = client.post("/api/chat", json=ask())
    assert short.headers["x-kansai-history-dropped"] == "0"


def test_a_too_long_old_message_ends_the_history_instead_of_failing(client: Any) -> None:
    msgs = _conversation(3)
    msgs[0]["content"] = "あ" * 9000  # over 4 × the question limit
    r = client.post("/api/chat", json={"messages": msgs})
    assert r.status_code == 200 and r.json()["history_dropped"] == 1


# ---- uploads and reindex are background jobs ----------------------------------------------------------
class PausedEmbedder(HashingEmbedder):
    """In the jobs thread, embeds passages only once ``go`` is set (to watch a running job)."""

    def __init__(self) -> None:
        super().__init__()
        self.go = threading.Event()
        self.waiting = threading.Event()

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if threading.current_thread().name == "jobs":  # not the warm-up thread
            self.waiting.set()
            assert self.go.wait(60), "the test never let the job go on"
        return super().embed_passages(texts)


@pytest.fixture
def paused(base_dir: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    emb = PausedEmbedder()
    root = workspace(base_dir, tmp_path)
    services = build_services(settings_for(root, admin_token="adm1n"), embedder=emb)
    with client_for(services) as c:
        yield c, emb
    emb.go.set()


def test_an_upload_is_a_job_with_progress_and_the_list_shows_its_state(paused: Any) -> None:
    c, emb = paused
    files = {"file": ("robot-memo.md", UPLOAD_TEXT.encode(), "text/markdown")}
    r = c.post("/api/documents", files=files, headers=ADMIN)
    assert r.status_code == 202, r.text
    job = r.json()["job"]
    assert r.headers["location"] == f"/api/jobs/{job['id']}" and r.json()["doc_id"] == "robot-memo"
    assert emb.waiting.wait(30)
    listed = c.get("/api/documents").json()
    pending = {d["doc_id"]: d for d in listed["documents"]}["robot-memo"]
    assert pending["state"] == "indexing" and pending["job"] == job["id"]
    assert [j["id"] for j in listed["jobs"]] == [job["id"]]
    running = c.get(f"/api/jobs/{job['id']}", headers=ADMIN).json()
    assert running["state"] == "running" and running["started"]
    assert running["progress"]["stage"] in ("read", "tokenize"), running  # embedding is next
    # meanwhile questions are answered, and index changes wait their turn
    assert c.post("/api/chat", json=ask()).json()["grounded"] is True
    r = c.delete("/api/documents/hydrogen-note", headers=ADMIN)
    assert r.status_code == 409 and error_of(r)["code"] == "ingest_busy"
    again = c.post("/api/documents", files=files, headers=ADMIN)
    assert again.status_code == 409 and "already being indexed" in error_of(again)["message"]
    emb.go.set()
    done = c.get(f"/api/jobs/{job['id']}?wait=60", headers=ADMIN).json()
    assert done["state"] == "done" and done["result"]["chunks"] >= 1, done
    assert done["progress"]["stage"] == "bm25" and done["finished"]  # the last stage
    states = {d["doc_id"]: d["state"] for d in c.get("/api/documents").json()["documents"]}
    assert states == {
        "hydrogen-note": "indexed",
        "battery-memo": "indexed",
        "robot-memo": "indexed",
    }
    hits = c.post("/api/search", json={"query": "ロボット実証フィールド"}).json()["results"]
    assert hits[0]["doc_id"] == "robot-memo"
    assert [j["id"] for j in c.get("/api/jobs", headers=ADMIN).json()["jobs"]] == [job["id"]]


def test_reindex_is_a_job_and_the_same_reindex_is_not_queued_twice(paused: Any) -> None:
    c, emb = paused
    first = c.post("/api/reindex", json={"rebuild": True}, headers=ADMIN)
    assert first.status_code == 202, first.text
    assert emb.waiting.wait(30)
    second = c.post("/api/reindex", json={"rebuild": True}, headers=ADMIN)
    assert second.json()["job"]["id"] == first.json()["job"]["id"]
    emb.go.set()
    done = c.get(f"/api/jobs/{first.json()['job']['id']}?wait=60", headers=ADMIN).json()
    assert done["state"] == "done" and done["result"]["rebuilt_reason"], done


def test_reupload_is_409_unless_replace_true(client: Any) -> None:
    files = {"file": ("robot-memo.md", UPLOAD_TEXT.encode(), "text/markdown")}
    assert client.post("/api/documents?wait=60", files=files, headers=ADMIN).status_code == 201
    r = client.post("/api/documents?wait=60", files=files, headers=ADMIN)
    assert r.status_code == 409 and error_of(r)["code"] == "conflict"
    assert "replace=true" in error_of(r)["hint"]
    new = UPLOAD_TEXT.replace("大阪湾岸", "琵琶湖畔")
    files = {"file": ("robot-memo.md", new.encode(), "text/markdown")}
    r = client.post("/api/documents?wait=60&replace=true", files=files, headers=ADMIN)
    assert r.status_code == 201 and r.json()["replaced"] is True, r.text
    hit = client.post("/api/search", json={"query": "ロボット実証フィールド"}).json()["results"][0]
    assert "琵琶湖畔" in hit["text"] and "大阪湾岸" not in hit["text"]
    r = client.post("/api/documents?replace=yes", files=files, headers=ADMIN)
    assert r.status_code == 422  # strict: only "true" or "false"
    corpus = {"file": ("hydrogen-note.md", new.encode(), "text/markdown")}
    r = client.post("/api/documents?replace=true", files=corpus, headers=ADMIN)
    assert r.status_code == 409 and "not an upload" in error_of(r)["message"]


def test_a_failed_replace_keeps_the_previous_version(client: Any) -> None:
    files = {"file": ("report.pdf", b"%PDF-1.4 not really", "application/pdf")}
    r = client.post("/api/documents?wait=60", files=files, headers=ADMIN)
    assert r.status_code == 400 and r.json()["job"]["state"] == "failed"
    uploads = Path(client.app.state.services.settings.index_dir).parent / "uploads"
    assert not (uploads / "report.pdf").exists() and not list(uploads.glob(".*"))


def test_upload_400s_say_what_to_do(client: Any) -> None:
    for kwargs in (
        {"files": {"nope": ("a.md", b"x")}},
        {"files": {"file": ("empty.md", b" \n", "text/markdown")}},
    ):
        r = client.post("/api/documents", headers=ADMIN, **kwargs)
        assert r.status_code == 400, r.text
        assert error_of(r)["hint"], r.text


def test_deleting_the_only_document_is_409_with_the_reason(client: Any) -> None:
    assert client.delete("/api/documents/battery-memo", headers=ADMIN).status_code == 200
    r = client.delete("/api/documents/hydrogen-note", headers=ADMIN)
    assert r.status_code == 409, r.text
    err = error_of(r)
    assert err["code"] == "conflict" and "only document" in err["message"] and err["hint"]
    assert client.post("/api/search", json={"query": "水素"}).json()["results"]


def test_jobs_are_visible_to_other_workers_and_a_lost_job_is_reported(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs")
    other_worker = JobStore(tmp_path / "jobs")
    job = Job(kind="upload", doc_id="x", file="x.md")
    store.save(job)
    assert other_worker.get(job.id) is not None and other_worker.get(job.id).state == "queued"  # type: ignore[union-attr]
    dead = Job(kind="reindex", state="running", pid=2**22 + 12345)
    store.save(dead)
    seen = other_worker.get(dead.id)
    assert seen is not None and seen.state == "failed" and seen.error["code"] == "job_lost"  # type: ignore[index]
    assert other_worker.get("../../etc/passwd") is None


def test_finished_jobs_are_pruned(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs", keep=10)
    for i in range(25):
        store.save(Job(kind="reindex", state="done", created=float(i)))
    store.save(Job(kind="reindex", state="running"))
    store.prune()
    left = store.all()
    assert len(left) == 11 and any(j.active for j in left)
    assert min(j.created for j in left if not j.active) == 15.0


# ---- logs -------------------------------------------------------------------------------------
def test_access_log_lines_cannot_be_forged(client: Any, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="assistant.api.access"):
        client.get("/api/x%0A2026-01-01 INFO forged line%0D%00end")
    lines = [r.getMessage() for r in caplog.records if r.name == "assistant.api.access"]
    assert lines and all("\n" not in m and "\r" not in m and "\x00" not in m for m in lines)
    assert "%0A2026-01-01 INFO forged line%0D%00end" in lines[-1]


def test_question_logs_are_escaped(
    base_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.INFO),
        client_for(make_services(base_dir, tmp_path, log_questions=True)) as c,
    ):
        c.post("/api/chat", json=ask("水素\nINFO forged"))
    assert "水素%0AINFO forged" in caplog.text and "\nINFO forged" not in caplog.text


# ---- long questions: bounded admission ----------------------------------------------------------------
def test_long_questions_wait_for_a_slot_and_short_ones_never_do() -> None:
    async def scenario() -> None:
        slots = AnswerSlots(long_chars=100, slots=1, wait_s=0.2)
        first = await slots.acquire(500)
        for _ in range(20):  # short questions pass while the slot is taken
            (await slots.acquire(50)).release()
        with pytest.raises(Busy) as busy:
            await slots.acquire(500)
        assert busy.value.retry_after >= 1 and "long questions" in busy.value.message
        waiter = asyncio.ensure_future(slots.acquire(500))
        await asyncio.sleep(0.05)
        assert not waiter.done()
        first.release()
        first.release()  # twice is harmless
        (await asyncio.wait_for(waiter, 1)).release()

    asyncio.run(scenario())


def test_busy_is_a_503_with_retry_after(base_dir: Path, tmp_path: Path) -> None:
    services = make_services(base_dir, tmp_path, long_question_chars=50, long_question_wait_s=0.2)
    with client_for(services) as c:
        slots = c.app.state.answer_slots
        ticket = c.portal.call(slots.acquire, 500)  # a long question is running
        try:
            long_q = GROUNDED_Q + "。" + "詳しく" * 30
            r = c.post("/api/chat", json=ask(long_q))
            assert r.status_code == 503 and error_of(r)["code"] == "busy", r.text
            assert int(r.headers["retry-after"]) >= 1
            r = c.post("/v1/chat/completions", json=ask(long_q, stream=True))
            assert r.status_code == 503
            assert c.post("/api/chat", json=ask()).status_code == 200  # a short one goes
        finally:
            ticket.release()
        assert c.post("/api/chat", json=ask(long_q)).status_code == 200


# ---- start-up ---------------------------------------------------------------------------------------
def test_the_support_finder_is_warm_when_the_service_starts(base_dir: Path, tmp_path: Path) -> None:
    services = make_services(base_dir, tmp_path)
    services.settings.corpus_dir.joinpath("support-catalogue.json").write_text(
        json.dumps({"entries": [{"id": "e1", "name": "水素", "quote": "水素ステーション"}]}),
        encoding="utf-8",
    )
    assert services.answers.support._entries is None
    with client_for(services):
        assert services.answers.support._entries is not None  # embedded before serving
        assert services.answers.support._vectors is not None


def test_stream_and_answer_agree_exactly_over_many_questions(client: Any) -> None:
    for q in (GROUNDED_Q, "蓄電池人材の育成は？", "九州の予算は？", "水素ステーション"):
        plain = client.post("/api/chat", json=ask(q)).json()
        with client.stream("POST", "/api/chat", json=ask(q, stream=True)) as r:
            events = parse_sse(r.iter_lines())
        text = "".join(json.loads(d)["text"] for e, d in events if e == "delta")
        final = json.loads(events[-1][1])
        assert text == final["answer"] == plain["answer"], q
        if final["grounded"]:
            check_citations(final)


# ---- memory -----------------------------------------------------------------------------------------
def test_retired_generations_release_their_chroma_index(tmp_path: Path) -> None:
    import shutil

    import chromadb
    from chromadb.api.shared_system_client import SharedSystemClient
    from chromadb.config import Settings as ChromaSettings

    from assistant.api.memory import release_retired_chroma

    index = tmp_path / "index"
    old, new = index / "gen-1" / "chroma", index / "gen-2" / "chroma"
    for path in (old, new):
        client = chromadb.PersistentClient(
            path=str(path), settings=ChromaSettings(anonymized_telemetry=False)
        )
        client.get_or_create_collection("kva").add(ids=["a"], embeddings=[[1.0, 0.0]])
    outside = tmp_path / "elsewhere" / "chroma"
    chromadb.PersistentClient(
        path=str(outside), settings=ChromaSettings(anonymized_telemetry=False)
    )
    shutil.rmtree(index / "gen-1")
    shutil.rmtree(tmp_path / "elsewhere")
    assert release_retired_chroma(index) == 1
    cached = set(SharedSystemClient._identifier_to_system)
    assert str(old) not in cached and str(new) in cached and str(outside) in cached
    assert release_retired_chroma(index) == 0


def test_uploads_do_not_pile_up_open_indexes(client: Any) -> None:
    from chromadb.api.shared_system_client import SharedSystemClient

    index = Path(client.app.state.services.settings.index_dir).resolve()
    for i in range(4):
        text = UPLOAD_TEXT.replace("大阪湾岸", f"第{i}埠頭")
        files = {"file": ("robot-memo.md", text.encode(), "text/markdown")}
        r = client.post("/api/documents?wait=60&replace=true", files=files, headers=ADMIN)
        assert r.status_code == 201, r.text
    ours = [p for p in SharedSystemClient._identifier_to_system if index in Path(p).parents]
    assert all(Path(p).exists() for p in ours)
    assert len(ours) <= 3, ours  # the generations kept on disk, not one per upload


def test_job_embedding_is_background_work_and_requests_are_not(tmp_path: Path) -> None:
    from assistant.api.jobs import JobRunner
    from assistant.embedding.gate import background_work

    runner = JobRunner(JobStore(tmp_path / "jobs"))
    job = runner.submit(Job(kind="reindex"), lambda progress: {"bulk": background_work.get()})
    done = runner.wait(job.id, 30)
    runner.stop()
    assert done is not None and done.result == {"bulk": True}
    assert background_work.get() is False  # this thread (a request's) is not background work
