"""The HTTP API through FastAPI's TestClient: endpoints, limits, auth and errors."""

from __future__ import annotations

import json
import logging
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from assistant.api.logs import JsonFormatter, RequestIdFilter
from assistant.api.routes.documents import safe_filename
from assistant.llm.chat_model import OpenAIChatModel, ScriptedChatModel
from assistant.testing.openai_server import scripted_openai_server
from tests.test_api_harness import (
    GROUNDED_Q,
    UPLOAD_TEXT,
    build_base,
    check_citations,
    client_for,
    error_of,
    free_port,
    hydrogen_llm,
    make_services,
    parse_sse,
)


@pytest.fixture(scope="session")
def base_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_base(tmp_path_factory)


def ask(q: str = GROUNDED_Q, **extra: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": q}], **extra}


@pytest.fixture
def client(base_dir: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    with client_for(make_services(base_dir, tmp_path)) as c:
        yield c


# ---- health, root, docs ------------------------------------------------------------------------
def test_healthz_and_readyz(client: Any) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200
    body = r.json()
    assert body["ready"] is True
    assert body["checks"]["index"]["ok"] and body["checks"]["index"]["chunks"] > 0
    assert body["checks"]["generator"] == {"backend": "extractive", "ok": True}


def test_missing_index_starts_and_readyz_says_so(base_dir: Path, tmp_path: Path) -> None:
    with client_for(make_services(base_dir, tmp_path, with_index=False)) as c:
        assert c.get("/healthz").status_code == 200
        r = c.get("/readyz")
        assert r.status_code == 503
        assert r.json()["checks"]["index"]["ok"] is False
        assert "no index" in r.json()["checks"]["index"]["detail"]
        r = c.post("/api/chat", json=ask())
        assert r.status_code == 503 and error_of(r)["code"] == "index_not_ready"
        assert c.get("/api/documents").status_code == 503


def test_root_lists_endpoints_and_openapi_works(client: Any) -> None:
    body = client.get("/").json()
    assert "POST /api/chat" in body["endpoints"]
    spec = client.get("/openapi.json").json()
    for path in ("/api/chat", "/api/search", "/v1/chat/completions", "/api/documents", "/readyz"):
        assert path in spec["paths"]
    html = client.get("/docs").text
    assert "swagger-ui" in html.lower()


def test_docs_are_served_without_a_cdn(client: Any) -> None:
    pytest.importorskip("fastapi_offline")
    html = client.get("/docs").text
    assert "cdn.jsdelivr" not in html and "unpkg" not in html
    js = client.get("/docs-static/swagger-ui-bundle.js")
    assert js.status_code == 200 and len(js.content) > 100_000


def test_ui_hook_mounts_and_root_redirects(
    base_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Any] = []
    web = types.ModuleType("ui.web")

    def mount(app: Any, services: Any) -> None:
        seen.append(services)

        @app.get("/ui/")
        def page() -> dict[str, str]:
            return {"page": "fake"}

    web.mount = mount  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "ui.web", web)
    services = make_services(base_dir, tmp_path, ui_enabled=True)
    with client_for(services) as c:
        assert seen == [services]
        r = c.get("/", follow_redirects=False)
        assert r.status_code in (302, 307) and r.headers["location"] == "/ui/"


# ---- chat ----------------------------------------------------------------------------------------
def test_chat_answer_json_with_citations(client: Any) -> None:
    r = client.post("/api/chat", json=ask(mode="chat", top_k=3))
    assert r.status_code == 200, r.text
    a = r.json()
    for key in ("id", "question", "answer", "grounded", "citations", "removed", "backend"):
        assert key in a
    assert a["grounded"] is True and a["citations"], a
    assert a["mode"] == "chat" and a["degraded"] is False
    check_citations(a)
    assert a["citations"][0]["doc_id"] == "hydrogen-note"


def test_chat_with_history_and_modes(client: Any) -> None:
    body = {
        "messages": [
            {"role": "user", "content": "水素について"},
            {"role": "assistant", "content": "はい。"},
            {"role": "user", "content": GROUNDED_Q},
        ],
        "mode": "draft",
    }
    r = client.post("/api/chat", json=body)
    assert r.status_code == 200 and r.json()["mode"] == "draft"
    r = client.post("/api/chat", json=ask("水素ステーション", mode="support"))
    assert r.status_code == 200 and r.json()["mode"] == "support"


def test_chat_stream_deltas_then_final(client: Any) -> None:
    with client.stream("POST", "/api/chat", json=ask(stream=True)) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = parse_sse(r.iter_lines())
    kinds = [e for e, _ in events]
    assert kinds[-1] == "final" and set(kinds[:-1]) == {"delta"}, kinds
    text = "".join(json.loads(d)["text"] for e, d in events if e == "delta")
    final = json.loads(events[-1][1])
    assert text == final["answer"]  # exactly: no extra newline at either end
    assert final["grounded"] and "removed" in final
    check_citations(final)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (ask(""), 400, "bad_request"),
        (ask("   \n "), 400, "bad_request"),
        (ask("あ" * 2001), 400, "bad_request"),
        (ask(mode="poem"), 422, "invalid_request"),
        (ask(top_k=0), 422, "invalid_request"),
        (ask(top_k="many"), 422, "invalid_request"),
        ({"messages": "hello"}, 422, "invalid_request"),
        ({"messages": []}, 422, "invalid_request"),
        ({"messages": [{"role": "robot", "content": "x"}]}, 422, "invalid_request"),
        ({"messages": [{"role": "user", "content": 5}]}, 422, "invalid_request"),
        ({"question": "old shape"}, 422, "invalid_request"),
        ({"messages": [{"role": "assistant", "content": "hi"}]}, 400, "bad_request"),
        (ask("\u200b\u200b\ufeff"), 400, "bad_request"),
        (ask(top_k="5"), 422, "invalid_request"),
        (ask(top_k=True), 422, "invalid_request"),
        (ask(top_k=5.0), 422, "invalid_request"),
        (ask(stream="yes"), 422, "invalid_request"),
        (ask(stream=1), 422, "invalid_request"),
    ],
)
def test_chat_bad_inputs_are_clear_4xx(client: Any, body: Any, status: int, code: str) -> None:
    r = client.post("/api/chat", json=body)
    assert r.status_code == status, r.text
    assert error_of(r)["code"] == code


def test_malformed_json_and_wrong_content(client: Any) -> None:
    for path in ("/api/chat", "/api/search", "/v1/chat/completions", "/api/feedback"):
        r = client.post(
            path, content=b'{"messages": [', headers={"content-type": "application/json"}
        )
        assert r.status_code == 400 and error_of(r)["code"] == "malformed_json", path
    r = client.post("/api/chat", content=b"just text", headers={"content-type": "text/plain"})
    assert 400 <= r.status_code < 500
    error_of(r)
    r = client.get("/api/nothing-here")
    assert r.status_code == 404 and error_of(r)["code"] == "not_found"
    r = client.get("/api/chat")
    assert r.status_code == 405 and error_of(r)


# ---- search, documents, feedback ----------------------------------------------------------------
def test_search_shape_and_errors(client: Any) -> None:
    r = client.post("/api/search", json={"query": "蓄電池人材", "top_k": 2})
    assert r.status_code == 200
    body = r.json()
    assert body["query"] == "蓄電池人材" and 1 <= len(body["results"]) <= 2
    first = body["results"][0]
    assert set(first) == {
        "id",
        "doc_id",
        "title",
        "label",
        "version",
        "section",
        "position",
        "text",
        "score",
    }
    assert first["doc_id"] == "battery-memo"
    assert client.post("/api/search", json={"query": "  "}).status_code == 400
    assert client.post("/api/search", json={"query": "x", "top_k": 500}).status_code == 422
    assert client.post("/api/search", json={"top_k": 2}).status_code == 422


def test_search_and_chat_documents_filter(client: Any) -> None:
    r = client.post(
        "/api/search", json={"query": "蓄電池人材", "top_k": 3, "documents": ["hydrogen-note"]}
    )
    assert r.status_code == 200, r.text
    assert r.json()["results"] and {x["doc_id"] for x in r.json()["results"]} == {"hydrogen-note"}
    r = client.post("/api/search", json={"query": "蓄電池人材", "documents": ["no-such-doc"]})
    assert r.status_code == 400 and "no-such-doc" in r.json()["error"]["message"]
    r = client.post("/api/chat", json=ask(mode="chat", top_k=3) | {"documents": ["battery-memo"]})
    assert r.status_code == 200, r.text
    assert {c["doc_id"] for c in r.json()["citations"] + r.json()["nearest"]} <= {"battery-memo"}


def test_documents_list(client: Any) -> None:
    body = client.get("/api/documents").json()
    assert body["generation"].startswith("gen-") and body["chunks"] > 0
    assert body["embedder"].startswith("hashing") and body["tokenizer"]
    ids = {d["doc_id"]: d for d in body["documents"]}
    assert set(ids) == {"hydrogen-note", "battery-memo"}
    assert ids["hydrogen-note"]["file"] == "hydrogen-note.md"
    assert not ids["hydrogen-note"]["uploaded"]
    assert "/" not in json.dumps([d["file"] for d in body["documents"]])


def test_feedback_is_appended(client: Any) -> None:
    answer = client.post("/api/chat", json=ask()).json()
    fb = {
        "answer_id": answer["id"],
        "rating": "up",
        "comment": "役に立った",
        "question": GROUNDED_Q,
    }
    r = client.post("/api/feedback", json=fb)
    assert r.status_code == 201 and r.json()["ok"] is True
    stored = client.app.state.services.feedback.all()
    assert stored[-1]["answer_id"] == answer["id"] and stored[-1]["comment"] == "役に立った"
    assert client.post("/api/feedback", json={**fb, "rating": "meh"}).status_code == 422
    assert client.post("/api/feedback", json={**fb, "answer_id": ""}).status_code == 422
    r = client.post("/api/feedback", json={**fb, "comment": "x" * 5000})
    assert r.status_code == 400 and "too long" in error_of(r)["message"]


# ---- auth ----------------------------------------------------------------------------------------
def test_api_key_bearer_or_x_api_key(base_dir: Path, tmp_path: Path) -> None:
    with client_for(make_services(base_dir, tmp_path, api_key="s3cret-key")) as c:
        for path, body in (("/api/chat", ask()), ("/api/search", {"query": "水素"})):
            r = c.post(path, json=body)
            assert r.status_code == 401 and error_of(r)["code"] == "unauthorized"
            assert "s3cret" not in r.text
            r = c.post(path, json=body, headers={"Authorization": "Bearer wrong"})
            assert r.status_code == 401
            assert c.post(
                path, json=body, headers={"Authorization": "Bearer s3cret-key"}
            ).is_success
            assert c.post(path, json=body, headers={"X-API-Key": "s3cret-key"}).is_success
        assert c.get("/v1/models").status_code == 401
        assert c.get("/api/documents").status_code == 401
        assert c.get("/healthz").status_code == 200 and c.get("/readyz").status_code == 200


def test_admin_disabled_without_token(client: Any) -> None:
    for method, path in (
        ("POST", "/api/documents"),
        ("DELETE", "/api/documents/hydrogen-note"),
        ("POST", "/api/reindex"),
    ):
        r = client.request(method, path, headers={"Authorization": "Bearer anything"})
        assert r.status_code == 403, (path, r.text)
        err = error_of(r)
        assert err["code"] == "admin_disabled" and "disabled" in err["message"]


def test_admin_token_required(base_dir: Path, tmp_path: Path) -> None:
    with client_for(make_services(base_dir, tmp_path, admin_token="adm1n")) as c:
        assert c.post("/api/reindex").status_code == 401
        assert c.post("/api/reindex", headers={"Authorization": "Bearer nope"}).status_code == 401
        assert c.post("/api/reindex", headers={"X-API-Key": "adm1n"}).status_code == 401
        r = c.post(
            "/api/reindex?wait=60",
            headers={"Authorization": "Bearer adm1n"},
            json={"rebuild": False},
        )
        assert r.status_code == 200, r.text
        assert r.json()["up_to_date"] is True and r.json()["job"]["state"] == "done"


# ---- uploads ------------------------------------------------------------------------------------
ADMIN = {"Authorization": "Bearer adm1n"}


@pytest.fixture
def admin_client(base_dir: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    services = make_services(base_dir, tmp_path, admin_token="adm1n", max_upload_bytes=4096)
    with client_for(services) as c:
        yield c


def test_upload_search_delete(admin_client: Any) -> None:
    c = admin_client
    files = {"file": ("robot-memo.md", UPLOAD_TEXT.encode(), "text/markdown")}
    r = c.post("/api/documents?wait=60", files=files, headers=ADMIN)
    assert r.status_code == 201, r.text
    up = r.json()
    assert up["doc_id"] == "robot-memo" and up["chunks"] >= 1 and up["file"] == "robot-memo.md"
    hits = c.post("/api/search", json={"query": "ロボット実証フィールド"}).json()["results"]
    assert hits[0]["doc_id"] == "robot-memo"
    listed = {d["doc_id"]: d for d in c.get("/api/documents").json()["documents"]}
    assert listed["robot-memo"]["uploaded"] is True
    uploads = Path(c.app.state.services.settings.index_dir).parent / "uploads"
    assert (uploads / "robot-memo.md").exists()

    r = c.delete("/api/documents/robot-memo", headers=ADMIN)
    assert r.status_code == 200 and r.json()["removed"] == ["robot-memo"]
    hits = c.post("/api/search", json={"query": "ロボット実証フィールド"}).json()["results"]
    assert all(h["doc_id"] != "robot-memo" for h in hits)
    assert not (uploads / "robot-memo.md").exists()
    r = c.delete("/api/documents/robot-memo", headers=ADMIN)
    assert r.status_code == 404 and error_of(r)["code"] == "not_found"


def test_upload_path_traversal_is_neutralised(admin_client: Any, tmp_path: Path) -> None:
    c = admin_client
    for evil in ("../../evil.md", "..\\..\\evil.md", "/etc/evil.md"):
        files = {"file": (evil, UPLOAD_TEXT.encode(), "text/markdown")}
        r = c.post("/api/documents?wait=60&replace=true", files=files, headers=ADMIN)
        assert r.status_code == 201, r.text
        assert r.json()["file"] == "evil.md"
    uploads = Path(c.app.state.services.settings.index_dir).parent / "uploads"
    assert (uploads / "evil.md").exists()
    assert list(tmp_path.rglob("evil.md")) != [] and all(
        p.parent == uploads for p in tmp_path.rglob("evil.md")
    )


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("../../a.md", "a.md"),
        ("..\\x\\b.PDF", "b.pdf"),
        (".hidden.md", "hidden.md"),
        ("報告 書(案).md", "報告_書_案.md"),
        ("a\x00b.md", "ab.md"),
        ("", "upload"),
        ("..", "upload"),
    ],
)
def test_safe_filename(raw: str, safe: str) -> None:
    assert safe_filename(raw) == safe


def test_upload_limits_and_types(admin_client: Any) -> None:
    c = admin_client
    big = {"file": ("big.md", b"# big\n\n" + "あ".encode() * 3000, "text/markdown")}
    r = c.post("/api/documents", files=big, headers=ADMIN)
    assert r.status_code == 413 and error_of(r)["code"] == "payload_too_large"
    exe = {"file": ("tool.exe", b"MZ....", "application/octet-stream")}
    r = c.post("/api/documents", files=exe, headers=ADMIN)
    assert r.status_code == 415 and ".exe" in error_of(r)["message"]
    r = c.post("/api/documents", json={"file": "x"}, headers=ADMIN)
    assert r.status_code == 415
    r = c.post("/api/documents", data={"other": "x"}, files={"nope": ("a.md", b"x")}, headers=ADMIN)
    assert r.status_code == 400 and "'file'" in error_of(r)["message"]
    empty = {"file": ("empty.md", b"  \n", "text/markdown")}
    assert c.post("/api/documents", files=empty, headers=ADMIN).status_code == 400
    clash = {"file": ("hydrogen-note.md", UPLOAD_TEXT.encode(), "text/markdown")}
    r = c.post("/api/documents", files=clash, headers=ADMIN)
    assert r.status_code == 409 and error_of(r)["code"] == "conflict"
    bad_pdf = {"file": ("broken.pdf", b"%PDF-1.4 not really", "application/pdf")}
    r = c.post("/api/documents?wait=60", files=bad_pdf, headers=ADMIN)
    assert r.status_code == 400 and "could not be indexed" in error_of(r)["message"]
    assert error_of(r)["hint"] and r.json()["job"]["state"] == "failed"
    uploads = Path(c.app.state.services.settings.index_dir).parent / "uploads"
    assert not (uploads / "broken.pdf").exists()


# ---- rate limit, request ids, 500s, logs ---------------------------------------------------------
def test_rate_limit_429_with_retry_after(base_dir: Path, tmp_path: Path) -> None:
    with client_for(make_services(base_dir, tmp_path, rate_limit_per_minute=2)) as c:
        assert c.post("/api/search", json={"query": "水素"}).status_code == 200
        assert c.post("/api/chat", json=ask()).status_code == 200
        r = c.post("/api/search", json={"query": "水素"})
        assert r.status_code == 429 and error_of(r)["code"] == "rate_limited"
        assert 1 <= int(r.headers["Retry-After"]) <= 60
        assert c.get("/healthz").status_code == 200  # health checks are not limited


def test_request_id_echoed_or_generated(client: Any) -> None:
    r = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    generated = client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert len(generated.headers["x-request-id"]) == 32


def test_unexpected_error_is_a_json_500_without_details(
    client: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    searcher = client.app.state.services.engine.searcher

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(searcher, "search", boom)
    with caplog.at_level(logging.ERROR):
        for path, body in (("/api/search", {"query": "水素"}), ("/api/chat", ask())):
            r = client.post(path, json=body)
            assert r.status_code == 500, r.text
            assert error_of(r)["code"] == "internal_error"
            assert "secret" not in r.text and "RuntimeError" not in r.text
            assert r.headers["x-request-id"]
    assert "secret internal detail" in caplog.text  # the traceback is in the server log


def test_logs_hide_questions_unless_asked(
    base_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO), client_for(make_services(base_dir, tmp_path)) as c:
        c.post("/api/chat", json=ask(), headers={"Authorization": "Bearer tok-XYZ"})
    assert GROUNDED_Q not in caplog.text and "tok-XYZ" not in caplog.text
    assert "POST /api/chat 200" in caplog.text
    caplog.clear()
    with (
        caplog.at_level(logging.INFO),
        client_for(make_services(base_dir, tmp_path / "b", log_questions=True)) as c,
    ):
        c.post("/api/chat", json=ask())
    assert GROUNDED_Q in caplog.text


def test_json_log_lines_carry_the_request_id() -> None:
    record = logging.LogRecord("assistant.api.access", logging.INFO, "", 0, "GET / 200", (), None)
    record.status = 200
    RequestIdFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "GET / 200" and line["status"] == 200 and "request_id" in line


# ---- the language model failing ------------------------------------------------------------------
def _closed_port_model(timeout: float = 2.0) -> OpenAIChatModel:
    return OpenAIChatModel(
        base_url=f"http://127.0.0.1:{free_port()}/v1", model="m", timeout=timeout
    )


def test_llm_down_falls_back_to_extractive(base_dir: Path, tmp_path: Path) -> None:
    services = make_services(base_dir, tmp_path, chat_model=_closed_port_model())
    with client_for(services) as c:
        r = c.post("/api/chat", json=ask())
        assert r.status_code == 200
        a = r.json()
        assert a["degraded"] is True and "reach" in a["degraded_reason"]
        assert a["backend"] == "extractive" and a["grounded"] is True
        check_citations(a)
        ready = c.get("/readyz")
        assert ready.status_code == 503
        gen = ready.json()["checks"]["generator"]
        assert gen["ok"] is False and "cannot reach" in gen["detail"]
        assert ready.json()["checks"]["index"]["ok"] is True


def test_llm_down_without_fallback_is_502(base_dir: Path, tmp_path: Path) -> None:
    services = make_services(
        base_dir, tmp_path, chat_model=_closed_port_model(), fallback_to_extractive=False
    )
    with client_for(services) as c:
        r = c.post("/api/chat", json=ask())
        assert r.status_code == 502 and error_of(r)["code"] == "upstream_model_error"
        r = c.post("/api/chat", json=ask(stream=True))
        assert r.status_code == 502 and error_of(r)["code"] == "upstream_model_error"
        r = c.post("/v1/chat/completions", json={"model": "kansai-vision-assistant", **ask()})
        assert r.status_code == 502


def test_llm_timeout_without_fallback_is_504(base_dir: Path, tmp_path: Path) -> None:
    with scripted_openai_server(fn=hydrogen_llm, delay_s=3.0) as srv:
        model = OpenAIChatModel(base_url=srv.base_url, model="m", timeout=0.5)
        services = make_services(base_dir, tmp_path, chat_model=model, fallback_to_extractive=False)
        with client_for(services) as c:
            r = c.post("/api/chat", json=ask())
            assert r.status_code == 504 and error_of(r)["code"] == "upstream_timeout"


def test_llm_http_500_with_fallback_is_degraded(base_dir: Path, tmp_path: Path) -> None:
    with scripted_openai_server(status=500) as srv:
        model = OpenAIChatModel(base_url=srv.base_url, model="m", timeout=5)
        with client_for(make_services(base_dir, tmp_path, chat_model=model)) as c:
            a = c.post("/api/chat", json=ask()).json()
            assert a["degraded"] and "HTTP 500" in a["degraded_reason"]


def test_scripted_llm_answers_through_the_api(base_dir: Path, tmp_path: Path) -> None:
    with scripted_openai_server(fn=hydrogen_llm) as srv:
        model = OpenAIChatModel(base_url=srv.base_url, model="", timeout=5)
        with client_for(make_services(base_dir, tmp_path, chat_model=model)) as c:
            ready = c.get("/readyz")
            assert ready.status_code == 200 and ready.json()["checks"]["generator"]["ok"]
            a = c.post("/api/chat", json=ask()).json()
            assert a["degraded"] is False and a["grounded"] is True, a
            assert "水素ステーション" in a["answer"]
            check_citations(a)


def test_stream_error_after_first_delta_is_an_error_event(base_dir: Path, tmp_path: Path) -> None:
    from assistant.errors import UpstreamModelError

    def two_sentences(messages: list[dict[str, Any]]) -> str:
        return hydrogen_llm(messages) + "関西は蓄電池産業の集積地です。" * 3

    model = ScriptedChatModel(
        fn=two_sentences, fail=UpstreamModelError("the model died"), fail_after_chars=32
    )
    services = make_services(base_dir, tmp_path, chat_model=model, fallback_to_extractive=False)
    with client_for(services) as c, c.stream("POST", "/api/chat", json=ask(stream=True)) as r:
        assert r.status_code == 200
        events = parse_sse(r.iter_lines())
    assert events[0][0] == "delta" and events[-1][0] == "error", events
    assert json.loads(events[-1][1])["error"]["code"] == "upstream_model_error"
