"""A busy language model: a further question gets ModelBusy at once, and the extractive answer.

Everything talks to the real OpenAI-compatible test server (``assistant.testing``) through the
real ``openai`` client; "at once" is shown by order (the second question is answered while
the first is still being written), not by timing.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.errors import ModelBusy, UpstreamModelError
from assistant.llm.bounded import BoundedChatModel
from assistant.llm.chat_model import ChatModel, OpenAIChatModel
from assistant.llm.factory import bounded, chat_model_from_settings, is_loopback, max_in_flight
from assistant.settings import Settings
from assistant.testing.openai_server import ScriptedOpenAIServer, scripted_openai_server

QUESTION = [{"role": "user", "content": "質問"}]


class Gate:
    """A scripted answer that waits until the test opens the gate: 'the model is writing'."""

    def __init__(self, answer: Callable[[list[dict[str, Any]]], str] | None = None) -> None:
        self.answer = answer or (lambda messages: "一つ目の回答です。")
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, messages: list[dict[str, Any]]) -> str:
        self.entered.set()
        assert self.release.wait(30), "the test never released the first answer"
        return self.answer(messages)


@pytest.fixture
def gated() -> Iterator[tuple[ScriptedOpenAIServer, Gate]]:
    gate = Gate()
    with scripted_openai_server(fn=gate) as srv:
        try:
            yield srv, gate
        finally:
            gate.release.set()


def _model(srv: ScriptedOpenAIServer) -> OpenAIChatModel:
    return OpenAIChatModel(base_url=srv.base_url, model="m", timeout=30)


def _start_first(model: ChatModel, gate: Gate) -> tuple[ThreadPoolExecutor, Future[str]]:
    pool = ThreadPoolExecutor(1)
    first = pool.submit(model.complete, QUESTION)
    assert gate.entered.wait(10), "the first request never reached the server"
    return pool, first


def test_second_concurrent_question_is_refused_while_the_first_is_written(
    gated: tuple[ScriptedOpenAIServer, Gate],
) -> None:
    srv, gate = gated
    model = BoundedChatModel(_model(srv), max_in_flight=1, wait_s=0.2)
    pool, first = _start_first(model, gate)
    with pytest.raises(ModelBusy) as info:
        model.complete(QUESTION)
    assert not first.done(), "the busy error came only after the first answer finished"
    assert isinstance(info.value, UpstreamModelError)
    assert "busy" in info.value.message and "KANSAI_LLM_MAX_IN_FLIGHT" in info.value.hint
    assert len(srv.requests) == 1, "the refused question must not reach the model server"
    gate.release.set()
    assert first.result(30) == "一つ目の回答です。"
    pool.shutdown()
    # the slot is free again: the next question is answered by the model
    assert model.complete(QUESTION) == "一つ目の回答です。"
    assert model.in_flight == 0


def test_two_slots_let_two_questions_through_and_refuse_the_third(
    gated: tuple[ScriptedOpenAIServer, Gate],
) -> None:
    srv, gate = gated
    model = BoundedChatModel(_model(srv), max_in_flight=2, wait_s=0.1)
    pool = ThreadPoolExecutor(2)
    futures = [pool.submit(model.complete, QUESTION) for _ in range(2)]
    while len(srv.requests) < 2:  # both reached the server and are being "written"
        assert not any(f.done() for f in futures)
        threading.Event().wait(0.01)
    with pytest.raises(ModelBusy, match=r"\(2 answer"):
        model.complete(QUESTION)
    gate.release.set()
    assert [f.result(30) for f in futures] == ["一つ目の回答です。"] * 2
    pool.shutdown()


def test_a_short_wait_catches_a_slot_that_frees_up(
    gated: tuple[ScriptedOpenAIServer, Gate],
) -> None:
    srv, gate = gated
    model = BoundedChatModel(_model(srv), max_in_flight=1, wait_s=20.0)
    pool, first = _start_first(model, gate)
    second = pool.submit(model.complete, QUESTION)
    gate.release.set()  # the first finishes while the second waits for its slot
    assert first.result(30) == second.result(30) == "一つ目の回答です。"
    pool.shutdown()


def test_a_failed_or_abandoned_stream_gives_its_slot_back() -> None:
    with scripted_openai_server(status=500) as srv:
        model = BoundedChatModel(_model(srv), max_in_flight=1, wait_s=0.1)
        for _ in range(3):  # a busy error here would mean the slot leaked
            with pytest.raises(UpstreamModelError) as info:
                model.complete(QUESTION)
            assert not isinstance(info.value, ModelBusy)
        assert model.in_flight == 0
    with scripted_openai_server(answers=["長い回答" * 50] * 3) as srv:
        model = BoundedChatModel(_model(srv), max_in_flight=1, wait_s=0.1)
        stream = model.stream(QUESTION)
        assert next(stream)
        assert model.in_flight == 1
        stream.close()  # the reader went away mid-answer
        assert model.in_flight == 0
        assert model.complete(QUESTION).startswith("長い回答")


def test_the_wrapper_passes_ping_and_name_through() -> None:
    with scripted_openai_server() as srv:
        model = BoundedChatModel(_model(srv), max_in_flight=1)
        model.ping()
        assert model.name == "openai" and model.base_url == srv.base_url
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    down = BoundedChatModel(OpenAIChatModel(base_url=dead, model="m", timeout=2), 1)
    with pytest.raises(UpstreamModelError, match="cannot reach"):
        down.ping()


# ---- settings and the factory -------------------------------------------------------------------
def _openai(url: str, **extra: Any) -> Settings:
    return Settings(generator="openai", llm_base_url=url, **extra)


def test_the_bound_follows_the_local_server_slots_or_the_setting() -> None:
    assert is_loopback("http://127.0.0.1:8090/v1") and is_loopback("http://localhost:1/v1")
    assert not is_loopback("https://api.openai.com/v1")
    assert max_in_flight(_openai("http://127.0.0.1:8090/v1")) == 1
    assert max_in_flight(_openai("http://127.0.0.1:8090/v1", local_llm_parallel=2)) == 2
    assert max_in_flight(_openai("https://api.openai.com/v1")) == 8
    assert max_in_flight(_openai("https://api.openai.com/v1", llm_max_in_flight=3)) == 3
    built = chat_model_from_settings(_openai("http://127.0.0.1:8090/v1", llm_busy_wait_s=0.25))
    assert isinstance(built, BoundedChatModel)
    assert (built.max_in_flight, built.wait_s) == (1, 0.25)
    assert isinstance(built.inner, OpenAIChatModel)
    unbounded = chat_model_from_settings(_openai("http://127.0.0.1:1/v1", llm_max_in_flight=0))
    assert isinstance(unbounded, OpenAIChatModel)
    assert chat_model_from_settings(Settings()) is None  # extractive: no model at all
    assert bounded(built, Settings()) is built  # never wrapped twice


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KANSAI_LLM_MAX_IN_FLIGHT", "4")
    monkeypatch.setenv("KANSAI_LLM_BUSY_WAIT_S", "0")
    monkeypatch.setenv("KANSAI_LOCAL_LLM_THREADS", "2")
    monkeypatch.setenv("KANSAI_LOCAL_LLM_CTX", "8192")
    s = Settings()
    assert (s.llm_max_in_flight, s.llm_busy_wait_s) == (4, 0.0)
    assert (s.local_llm_threads, s.local_llm_ctx) == (2, 8192)
    monkeypatch.setenv("KANSAI_LOCAL_LLM_CTX", "100")
    with pytest.raises(ValueError, match="local_llm_ctx"):
        Settings()


# ---- through the service: the extractive answer, marked degraded, while the model is busy ----------
@pytest.mark.parametrize("fallback", [True, False])
def test_busy_model_gives_the_extractive_answer_through_the_api(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, fallback: bool
) -> None:
    from assistant.api.app import create_app
    from tests.test_api_harness import (
        GROUNDED_Q,
        build_base,
        check_citations,
        hydrogen_llm,
        live_server,
        make_services,
    )

    gate = Gate(hydrogen_llm)
    with scripted_openai_server(fn=gate) as srv:
        try:
            settings = _openai(srv.base_url, llm_busy_wait_s=0.2)
            model = chat_model_from_settings(settings)
            assert isinstance(model, BoundedChatModel) and model.max_in_flight == 1
            services = make_services(
                build_base(tmp_path_factory),
                tmp_path,
                chat_model=model,
                fallback_to_extractive=fallback,
            )
            body = {"messages": [{"role": "user", "content": GROUNDED_Q}]}
            with live_server(create_app(services)) as url, ThreadPoolExecutor(1) as pool:
                first = pool.submit(httpx.post, f"{url}/api/chat", json=body, timeout=60)
                assert gate.entered.wait(30), "the first question never reached the model"
                second = httpx.post(f"{url}/api/chat", json=body, timeout=60)
                assert not first.done(), "the second question waited for the first"
                if fallback:
                    assert second.status_code == 200, second.text
                    answer = second.json()
                    assert answer["degraded"] is True
                    assert "busy" in answer["degraded_reason"]
                    assert answer["answer"] and answer["citations"]
                    check_citations(answer)
                else:  # no fallback wanted: a clear 503 that says what to do
                    assert second.status_code == 503, second.text
                    err = second.json()["error"]
                    assert err["code"] == "model_busy" and "KANSAI_LLM_MAX_IN_FLIGHT" in err["hint"]
                gate.release.set()
                done = first.result(60)
        finally:
            gate.release.set()
    assert done.status_code == 200, done.text
    assert done.json()["degraded"] is False, done.json()
    assert "水素ステーション" in done.json()["answer"]
    assert len(srv.requests) == 1, "the busy question must not reach the model server"
