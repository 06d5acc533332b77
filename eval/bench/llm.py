"""The local LLM through the service: time to first token and tokens/s.

llama.cpp's OpenAI server (xllamacpp, ``assistant.llm.server``) runs the packaged Qwen2.5 GGUF on
127.0.0.1; ``kansai-assistant serve`` uses it with ``KANSAI_GENERATOR=openai`` and we stream
``/api/chat``. The same questions are also sent straight to the LLM server (the model alone),
so the service's share is visible. Skipped when ``xllamacpp`` is not importable.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from eval.bench.machine import latency_summary
from eval.bench.served import chat_body, free_port, serving

log = logging.getLogger(__name__)

SKIPPED = "skipped: local-llm extra not installed"


def available() -> bool:
    return importlib.util.find_spec("xllamacpp") is not None


def _sse(resp: httpx.Response) -> Iterator[tuple[str, str]]:
    """(event, data) pairs of a Server-Sent Events response."""
    event, data = "message", list[str]()
    for line in resp.iter_lines():
        if not line:
            if data:
                yield event, "\n".join(data)
            event, data = "message", list[str]()
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
    if data:
        yield event, "\n".join(data)


_PERF = re.compile(r"(prompt eval|eval|total) time =\s*([\d.]+) ms /\s*(\d+) (?:tokens|runs)")


class ServerLog:
    """llama.cpp's own per-request timings (``llama_perf_context_print``) from its log."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def skip(self) -> None:
        self.offset = self._size()

    def _size(self) -> int:
        return self.path.stat().st_size if self.path.exists() else 0

    def wait_requests(self, timeout_s: float) -> list[dict[str, float]]:
        """:meth:`new_requests`, waiting a little for the log to be written."""
        deadline = time.monotonic() + timeout_s
        found = self.new_requests()
        while not found and time.monotonic() < deadline:
            time.sleep(0.2)
            found = self.new_requests()
        return found

    def new_requests(self) -> list[dict[str, float]]:
        """Timings of the requests finished since the last call, oldest first."""
        with self.path.open("rb") as fh:
            fh.seek(self.offset)
            data = fh.read()
        self.offset += len(data)
        text = data.decode("utf-8", errors="replace")
        out: list[dict[str, float]] = []
        cur: dict[str, float] = {}
        for kind, ms, n in _PERF.findall(text):
            key = kind.replace(" ", "_")
            cur[f"{key}_ms"], cur[f"{key}_tokens"] = float(ms), float(n)
            if key == "total":
                for k in ("prompt_eval", "eval"):
                    if cur.get(f"{k}_ms"):
                        cur[f"{k}_tokens_per_s"] = round(
                            1000 * cur[f"{k}_tokens"] / cur[f"{k}_ms"], 2
                        )
                out.append(cur)
                cur = {}
        return out


def count_tokens(client: httpx.Client, base_url: str, text: str) -> int | None:
    """Tokens of ``text`` by the model's own tokenizer (llama.cpp server's /tokenize)."""
    root = base_url.removesuffix("/v1")
    try:
        resp = client.post(f"{root}/tokenize", json={"content": text})
        return len(resp.json()["tokens"]) if resp.status_code == 200 else None
    except (httpx.HTTPError, ValueError, KeyError):
        return None


def direct(
    client: httpx.Client, base_url: str, model: str, question: str, max_tokens: int
) -> dict[str, Any]:
    """The model alone: stream a chat completion; TTFT and decode tokens/s (chunks ≈ tokens)."""
    body = {
        "model": model,
        "messages": [{"role": "user", "content": question}],
        "stream": True,
        "max_tokens": max_tokens,
        "temperature": 0.0,
    }
    t0 = time.perf_counter()
    first, chunks = None, 0
    with client.stream("POST", f"{base_url}/chat/completions", json=body) as resp:
        for _, data in _sse(resp):
            if data == "[DONE]":
                break
            delta = json.loads(data)["choices"][0].get("delta", {}).get("content")
            if delta:
                chunks += 1
                first = first or time.perf_counter()
    end = time.perf_counter()
    ttft = (first or end) - t0
    return {
        "ttft_ms": round(ttft * 1000, 1),
        "tokens": chunks,
        "decode_tokens_per_s": round((chunks - 1) / (end - first), 2)
        if first and chunks > 1
        else 0.0,
        "seconds": round(end - t0, 2),
    }


def through_service(client: httpx.Client, url: str, question: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    first, final, errors = None, None, []
    with client.stream("POST", url, json=chat_body(question, stream=True)) as resp:
        if resp.status_code != 200:
            return {"error": f"HTTP {resp.status_code}"}
        for event, data in _sse(resp):
            if event == "delta" and first is None:
                first = time.perf_counter()
            elif event == "final":
                final = json.loads(data)
            elif event == "error":
                errors.append(data[:200])
    end = time.perf_counter()
    final = final or {}
    return {
        "first_delta_ms": round(((first or end) - t0) * 1000, 1),
        "seconds": round(end - t0, 2),
        "answer": final.get("answer", ""),
        "backend": final.get("backend"),
        "degraded": final.get("degraded", False),
        "degraded_reason": final.get("degraded_reason", ""),
        "grounded": final.get("grounded"),
        "server_timings_ms": final.get("timings_ms", {}),
        "errors": errors,
    }


def run(
    index: Path,
    work: Path,
    kind: str,
    qs: list[str],
    max_tokens: int,
    n_answers: int,
    budget_s: float = 900.0,
    timeout_s: float = 600.0,
) -> dict[str, Any]:
    """Questions through the service until ``n_answers`` of them reached the LLM (the engine
    abstains on some before generating), each then also sent to the model alone; no new
    question once ``budget_s`` is spent."""
    if not available():
        return {"skipped": SKIPPED}
    from assistant.llm.local_model import QWEN_CODER_1_5B
    from assistant.llm.server import LlamaServer, running
    from assistant.settings import Settings

    settings = Settings()
    t0 = time.perf_counter()
    model = QWEN_CODER_1_5B.ensure(settings.local_llm_cache)
    prepare_s = time.perf_counter() - t0
    server = LlamaServer(model=model, alias=QWEN_CODER_1_5B.name, port=free_port())
    t0 = time.perf_counter()
    with running(server.command(), server.base_url, work / "llm-server.log") as llm:
        llm_start_s = time.perf_counter() - t0
        env = {
            "KANSAI_GENERATOR": "openai",
            "KANSAI_LLM_BASE_URL": llm.base_url,
            "KANSAI_LLM_MODEL": llm.model_id,
            "KANSAI_LLM_MAX_TOKENS": str(max_tokens),
            "KANSAI_LLM_TIMEOUT_S": str(timeout_s),
        }
        deadline = time.monotonic() + budget_s
        perf = ServerLog(work / "llm-server.log")
        raw: list[dict[str, Any]] = []
        rows: list[dict[str, Any]] = []
        abstained: list[str] = []
        with (
            httpx.Client(timeout=timeout_s) as client,
            serving(index, work / "serve-llm", kind, env) as srv,
        ):
            for q in qs:
                if len(rows) >= n_answers or time.monotonic() > deadline:
                    break
                log.info("llm: answer %d/%d through the service", len(rows) + 1, n_answers)
                perf.skip()
                row = through_service(client, f"{srv.base_url}/api/chat", q)
                calls = perf.wait_requests(3.0)
                generate_ms = float(row.get("server_timings_ms", {}).get("generate", 0.0))
                if not calls and generate_ms < 100:  # abstained: the LLM was not called
                    abstained.append(q)
                    continue
                row["llm_calls"] = calls
                tokens = count_tokens(client, llm.base_url, row.get("answer", ""))
                row["answer_tokens"] = tokens
                if tokens and row.get("seconds"):
                    row["visible_tokens_per_s"] = round(tokens / row["seconds"], 2)
                row["answer"] = row.get("answer", "")[:160]
                rows.append(row)
                log.info("llm: the same question to the model alone")
                perf.skip()
                raw.append(direct(client, llm.base_url, llm.model_id, q, max_tokens))
                raw[-1]["llm_calls"] = perf.wait_requests(3.0)
    ttft = [r["first_delta_ms"] for r in rows if "first_delta_ms" in r]
    return {
        "model": llm.model_id,
        "n_threads": server.n_threads,
        "max_tokens": max_tokens,
        "budget_s": budget_s,
        "answers_wanted": n_answers,
        "abstained_without_llm": len(abstained),
        "model_prepare_s": round(prepare_s, 2),
        "llm_server_start_s": round(llm_start_s, 2),
        "direct": raw,
        "direct_ttft": latency_summary([r["ttft_ms"] for r in raw]),
        "direct_decode_tokens_per_s_median": _median([r["decode_tokens_per_s"] for r in raw]),
        "service": rows,
        "service_first_delta": latency_summary(ttft),
        "service_visible_tokens_per_s_median": _median(
            [r.get("visible_tokens_per_s", 0.0) for r in rows]
        ),
        "note": "service first delta = retrieval + prompt prefill + the first guarded sentence "
        "(the guard releases whole sentences); visible tokens/s = answer tokens (model "
        "tokenizer) / whole request time; prefill and decode rates are llama.cpp's own "
        "timings from its log",
    }


def _median(xs: list[float]) -> float:
    xs = sorted(x for x in xs if x)
    return round(xs[len(xs) // 2], 2) if xs else 0.0
