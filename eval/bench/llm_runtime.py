"""The local LLM runtime, side by side: xllamacpp (prebuilt) vs llama-cpp-python (built here).

Both serve the same packaged Qwen2.5-Coder-1.5B Q4_K_M GGUF through their OpenAI-compatible
server on 127.0.0.1 with the same threads, context and ``OMP_WAIT_POLICY=PASSIVE``; rounds
alternate the order so that a change of machine load hits both. Per runtime and round:

* ``ready_s``: process start until ``/v1/models`` lists the model (interpreter + model load);
* a long prompt (~400 tokens of the vision document, a unique first line per request so no
  prompt cache helps) streamed with ``max_tokens``: first-token latency, prompt tokens/s
  (prompt tokens / first-token latency) and generation tokens/s (chunks after the first /
  time after the first; one chunk per token in both servers), plus each server's own timings
  where its log prints them;
* a short prompt: first-token latency;
* the same long prompt again with another question: first-token latency with the prompt
  cache (the shared prefix is not read again).

Install time is measured into fresh throwaway venvs: ``pip install xllamacpp`` (the pinned
version) and, with ``--install-llama-cpp-python``, the source build of
``llama-cpp-python[server]`` with the CMake flags ``make local-llm`` used (minutes). The pip
cache state is recorded: a llama-cpp-python wheel built before is reused from it, so
``--no-pip-cache`` is what a new machine (and CI) pays. Otherwise ``--llama-cpp-python
PYTHON`` points at an interpreter that has it. llama-cpp-python is never a dependency of the
project.

    python -m eval.bench.llm_runtime --install-llama-cpp-python      # everything
    python -m eval.bench.llm_runtime --install-only --install-llama-cpp-python --no-pip-cache
    python -m eval.bench.llm_runtime --llama-cpp-python /path/venv/bin/python --rounds 4
    python -m eval.bench.llm_runtime --only xllamacpp

Prints a table and writes ``eval/results/llm-runtime-<stamp>.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from eval.bench.llm import ServerLog
from eval.bench.machine import loadavg, machine
from eval.bench.served import free_port

log = logging.getLogger("eval.bench.llm_runtime")

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "eval" / "results"
XLLAMACPP_PIN = "xllamacpp==2026.10.11549"
# what `make local-llm` compiled before the switch (Makefile of 2026-11-28)
LLAMA_CPP_PYTHON_SPEC = "llama-cpp-python[server]>=0.3"
LLAMA_CPP_CMAKE_ARGS = (
    "-DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF "
    "-DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF -DGGML_NATIVE=ON"
)
SYSTEM = (
    "あなたは関西広域産業ビジョンについて答えるアシスタントです。次の資料だけに基づいて、"
    "日本語で簡潔に答えてください。"
)
LONG_QUESTION = "この資料の要点を、番号付きの箇条書きで10項目、各項目2文で説明してください。"
OTHER_QUESTION = "この資料が掲げる2つの将来像は何ですか？それぞれ3文で説明してください。"
SHORT_QUESTION = "日本の首都はどこですか？理由も含めて説明してください。"


@dataclass(frozen=True)
class Runtime:
    name: str
    python: str

    def command(self, model: Path, alias: str, port: int, threads: int, n_ctx: int) -> list[str]:
        if self.name == "xllamacpp":
            from assistant.llm.server import LlamaServer

            server = LlamaServer(model, alias, port, n_ctx=n_ctx, n_threads=threads)
            return [self.python, *server.command()[1:]]
        return [
            self.python,
            "-m",
            "llama_cpp.server",
            "--model",
            str(model),
            "--model_alias",
            alias,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            str(n_ctx),
            "--n_threads",
            str(threads),
            "--n_threads_batch",
            str(threads),
        ]


# ---- install ------------------------------------------------------------------------------------
def pip_cache_state() -> dict[str, Any]:
    """Where pip caches wheels and how much is there (a cold cache means a real download)."""
    out = subprocess.run(
        [sys.executable, "-m", "pip", "cache", "dir"], capture_output=True, text=True
    )
    folder = Path(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip() else None
    size = 0
    if folder and folder.is_dir():
        size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return {"dir": str(folder) if folder else None, "bytes": size}


def timed_install(
    venv: Path, spec: str, env: dict[str, str] | None = None, use_cache: bool = True
) -> dict[str, Any]:
    """A fresh venv, then ``pip install spec``; seconds for the pip step alone.

    With the pip cache a llama-cpp-python built before is reused (seconds, not minutes):
    ``use_cache=False`` (``--no-pip-cache``) measures what a new machine pays.
    """
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    cache_before = pip_cache_state()
    load_before = loadavg()
    t0 = time.perf_counter()
    proc = subprocess.run(
        [str(py), "-m", "pip", "install", "-q", *([] if use_cache else ["--no-cache-dir"]), spec],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - t0
    if proc.returncode:
        raise RuntimeError(f"pip install {spec} failed:\n{proc.stderr[-2000:]}")
    return {
        "spec": spec,
        "seconds": round(seconds, 1),
        "pip_cache_used": use_cache,
        "pip_cache_before": cache_before,
        "loadavg_before": load_before,
        "loadavg_after": loadavg(),
        "site_packages_mb": _du_mb(venv / "lib"),
        "python": str(py),
    }


def _du_mb(folder: Path) -> float:
    return round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20, 1)


# ---- one server -------------------------------------------------------------------------------------
def _sse_data(resp: httpx.Response) -> Iterator[str]:
    for line in resp.iter_lines():
        if line.startswith("data:"):
            yield line[5:].strip()


def stream_once(
    client: httpx.Client, base_url: str, model: str, messages: list[dict[str, str]], max_tokens: int
) -> dict[str, Any]:
    body = {
        "model": model,
        "messages": messages,
        "stream": True,
        "max_tokens": max_tokens,
        "temperature": 0.0,
    }
    t0 = time.perf_counter()
    first: float | None = None
    chunks = 0
    server_timings: dict[str, Any] = {}
    with client.stream("POST", f"{base_url}/chat/completions", json=body) as resp:
        resp.raise_for_status()
        for data in _sse_data(resp):
            if data == "[DONE]":
                break
            obj = json.loads(data)
            if isinstance(obj.get("timings"), dict):  # llama.cpp's server: its own numbers
                server_timings = obj["timings"]
            choices = obj.get("choices") or []
            if choices and (choices[0].get("delta") or {}).get("content"):
                chunks += 1
                first = first or time.perf_counter()
    end = time.perf_counter()
    ttft = (first or end) - t0
    return {
        "ttft_s": round(ttft, 3),
        "total_s": round(end - t0, 3),
        "chunks": chunks,
        "gen_tokens_per_s": round((chunks - 1) / (end - first), 2)
        if first and chunks > 1 and end > first
        else 0.0,
        "server_timings": {
            k: server_timings[k]
            for k in ("prompt_n", "prompt_ms", "prompt_per_second", "predicted_n")
            if k in server_timings
        }
        | (
            {"predicted_per_second": server_timings["predicted_per_second"]}
            if "predicted_per_second" in server_timings
            else {}
        ),
    }


def prompt_tokens(client: httpx.Client, base_url: str, model: str, messages: Any) -> int:
    body = {"model": model, "messages": messages, "max_tokens": 1, "temperature": 0.0}
    resp = client.post(f"{base_url}/chat/completions", json=body)
    resp.raise_for_status()
    return int(resp.json()["usage"]["prompt_tokens"])


def long_messages(passage: str, nonce: str, question: str = LONG_QUESTION) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": f"{nonce}\n{SYSTEM}"},
        {"role": "user", "content": f"資料:\n{passage}\n\n質問: {question}"},
    ]


def measure(
    rt: Runtime,
    model: Path,
    alias: str,
    threads: int,
    n_ctx: int,
    repeats: int,
    max_tokens: int,
    passage: str,
    work: Path,
    round_no: int,
) -> dict[str, Any]:
    from assistant.llm.server import running

    port = free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    log_path = work / f"{rt.name}-round{round_no}.log"
    cmd = rt.command(model, alias, port, threads, n_ctx)
    out: dict[str, Any] = {"runtime": rt.name, "round": round_no, "loadavg_before": loadavg()}
    t0 = time.perf_counter()
    with running(cmd, base_url, log_path, timeout_s=600) as srv:
        out["ready_s"] = round(time.perf_counter() - t0, 2)
        perf = ServerLog(log_path)
        with httpx.Client(timeout=600) as client:
            # warm-up, and the prompt's size by the model's tokenizer
            warm = f"依頼番号 {rt.name}-{round_no}-w-{time.time_ns()}"  # same length as below
            out["prompt_tokens"] = prompt_tokens(
                client, base_url, srv.model_id, long_messages(passage, warm)
            )
            longs = []
            for i in range(repeats):
                perf.skip()
                nonce = f"依頼番号 {rt.name}-{round_no}-{i}-{time.time_ns()}"
                row = stream_once(
                    client, base_url, srv.model_id, long_messages(passage, nonce), max_tokens
                )
                row["prompt_tokens_per_s"] = round(out["prompt_tokens"] / row["ttft_s"], 1)
                row["server_log"] = perf.wait_requests(2.0)
                longs.append(row)
                log.info("%s round %d long %d: %s", rt.name, round_no, i, _brief(row))
            out["long"] = longs
            # the same prefix again, another question: what the prompt cache saves
            out["cached_prefix"] = stream_once(
                client,
                base_url,
                srv.model_id,
                long_messages(passage, nonce, OTHER_QUESTION),
                16,
            )
            out["short"] = stream_once(
                client,
                base_url,
                srv.model_id,
                [{"role": "user", "content": SHORT_QUESTION}],
                16,
            )
    out["loadavg_after"] = loadavg()
    return out


def _brief(row: dict[str, Any]) -> str:
    return (
        f"first token {row['ttft_s']:.2f} s, {row['chunks']} tokens, "
        f"gen {row['gen_tokens_per_s']:.1f} tok/s, prompt {row.get('prompt_tokens_per_s', 0)} tok/s"
    )


# ---- the whole run ------------------------------------------------------------------------------------
def _median(xs: list[float]) -> float:
    return round(statistics.median(xs), 2) if xs else 0.0


def summarise(rounds: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name in sorted({r["runtime"] for r in rounds}):
        rs = [r for r in rounds if r["runtime"] == name]
        longs = [x for r in rs for x in r["long"]]
        out[name] = {
            "ready_s": [r["ready_s"] for r in rs],
            "prompt_tokens": rs[0]["prompt_tokens"],
            "long_ttft_s_median": _median([x["ttft_s"] for x in longs]),
            "prompt_tokens_per_s_median": _median([x["prompt_tokens_per_s"] for x in longs]),
            "gen_tokens_per_s_median": _median([x["gen_tokens_per_s"] for x in longs]),
            "gen_tokens_per_s_range": [
                min(x["gen_tokens_per_s"] for x in longs),
                max(x["gen_tokens_per_s"] for x in longs),
            ],
            "long_total_s_median": _median([x["total_s"] for x in longs]),
            "long_chunks": [x["chunks"] for x in longs],
            # the servers' own per-request timings (their logs), where they print them
            "server_prompt_tokens_per_s_median": _median(
                [c["prompt_eval_tokens_per_s"] for x in longs for c in x["server_log"][-1:]]
            ),
            "server_gen_tokens_per_s_median": _median(
                [c["eval_tokens_per_s"] for x in longs for c in x["server_log"][-1:]]
            ),
            "cached_prefix_ttft_s": [r["cached_prefix"]["ttft_s"] for r in rs],
            "short_ttft_s": [r["short"]["ttft_s"] for r in rs],
        }
    return out


def print_table(summary: dict[str, dict[str, Any]], installs: dict[str, Any]) -> None:
    rows = [
        ("install (fresh venv), s", lambda n, s: installs.get(n, {}).get("seconds", "-")),
        ("server ready (load), s", lambda n, s: " / ".join(f"{x:.2f}" for x in s["ready_s"])),
        ("prompt tokens", lambda n, s: s["prompt_tokens"]),
        ("first token, long prompt, s", lambda n, s: s["long_ttft_s_median"]),
        ("prompt tokens/s", lambda n, s: s["prompt_tokens_per_s_median"]),
        ("generation tokens/s", lambda n, s: s["gen_tokens_per_s_median"]),
        ("prompt tokens/s (server log)", lambda n, s: s["server_prompt_tokens_per_s_median"]),
        ("generation tokens/s (server log)", lambda n, s: s["server_gen_tokens_per_s_median"]),
        ("long answer total, s", lambda n, s: s["long_total_s_median"]),
        ("first token, cached prefix, s", lambda n, s: s["cached_prefix_ttft_s"]),
        ("first token, short prompt, s", lambda n, s: s["short_ttft_s"]),
    ]
    names = list(summary)
    print(f"{'':34}" + "".join(f"{n:>30}" for n in names))
    for label, fn in rows:
        print(f"{label:34}" + "".join(f"{fn(n, summary[n])!s:>30}" for n in names))


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    ap = argparse.ArgumentParser(prog="python -m eval.bench.llm_runtime", description=__doc__)
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--llama-cpp-python", metavar="PYTHON", help="an interpreter that has it")
    src.add_argument(
        "--install-llama-cpp-python",
        action="store_true",
        help="build it into a throwaway venv (timed; minutes)",
    )
    src.add_argument("--only", choices=["xllamacpp"], help="measure xllamacpp alone")
    ap.add_argument("--no-xllamacpp-install", action="store_true", help="skip its install time")
    ap.add_argument(
        "--no-pip-cache", action="store_true", help="install as a new machine would (pip cache off)"
    )
    ap.add_argument("--install-only", action="store_true", help="time the installs, no serving")
    ap.add_argument("--gguf", help="another GGUF (default: the packaged Qwen2.5 model)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n-ctx", type=int, default=4096)
    ap.add_argument("--rounds", type=int, default=2, help="server starts per runtime")
    ap.add_argument("--repeats", type=int, default=2, help="long prompts per start")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    if not (args.llama_cpp_python or args.install_llama_cpp_python or args.only):
        ap.error("give --llama-cpp-python PYTHON, --install-llama-cpp-python or --only xllamacpp")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

    from assistant.llm.local_model import QWEN_CODER_1_5B, check_gguf
    from assistant.llm.server import require_runtime
    from assistant.settings import Settings

    require_runtime()
    result: dict[str, Any] = {"machine_start": machine(), "args": vars(args) | {"out": None}}
    result["omp_wait_policy"] = os.environ["OMP_WAIT_POLICY"]
    installs: dict[str, Any] = {}
    work = Path(tempfile.mkdtemp(prefix="llm-runtime-"))
    try:
        if not args.no_xllamacpp_install:
            log.info("timing pip install %s into a fresh venv …", XLLAMACPP_PIN)
            installs["xllamacpp"] = timed_install(
                work / "venv-x", XLLAMACPP_PIN, use_cache=not args.no_pip_cache
            )
        runtimes = [Runtime("xllamacpp", sys.executable)]
        if args.install_llama_cpp_python:
            log.info("timing the llama-cpp-python source build into a fresh venv (minutes) …")
            installs["llama-cpp-python"] = timed_install(
                work / "venv-l",
                LLAMA_CPP_PYTHON_SPEC,
                {
                    "CMAKE_ARGS": LLAMA_CPP_CMAKE_ARGS,
                    "CMAKE_BUILD_PARALLEL_LEVEL": str(os.cpu_count() or 1),
                },
                use_cache=not args.no_pip_cache,
            )
            runtimes.append(Runtime("llama-cpp-python", installs["llama-cpp-python"]["python"]))
        elif args.llama_cpp_python:
            runtimes.append(Runtime("llama-cpp-python", args.llama_cpp_python))
        result["installs"] = installs
        result["versions"] = {rt.name: _version(rt) for rt in runtimes}
        if args.install_only:
            result["machine_end"] = machine()
            return _finish(result, args.out, installs)

        if args.gguf:
            model, alias = check_gguf(Path(args.gguf)), Path(args.gguf).stem
        else:
            model = QWEN_CODER_1_5B.ensure(Settings().local_llm_cache)
            alias = QWEN_CODER_1_5B.name
        _read_through(model)  # both start from a warm page cache
        passage = (ROOT / "corpus" / "kansai-industrial-vision-2023.txt").read_text(
            encoding="utf-8"
        )[3000:3600]
        rounds = []
        for r in range(args.rounds):
            order = runtimes if r % 2 == 0 else runtimes[::-1]
            for rt in order:
                log.info("round %d: %s", r, rt.name)
                rounds.append(
                    measure(
                        rt,
                        model,
                        alias,
                        args.threads,
                        args.n_ctx,
                        args.repeats,
                        args.max_tokens,
                        passage,
                        work,
                        r,
                    )
                )
        result["rounds"] = rounds
        result["summary"] = summarise(rounds)
        result["machine_end"] = machine()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return _finish(result, args.out, installs)


def _finish(result: dict[str, Any], out: Path | None, installs: dict[str, Any]) -> int:
    out = out or RESULTS / f"llm-runtime-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    if "summary" in result:
        print_table(result["summary"], installs)
    for name, inst in installs.items():
        cache = "pip cache on" if inst["pip_cache_used"] else "pip cache off"
        print(f"install {name}: {inst['seconds']} s ({cache}, load {inst['loadavg_before']})")
    print(
        f"load average: start {result['machine_start']['loadavg']}, "
        f"end {result['machine_end']['loadavg']}; written {out}"
    )
    return 0


def _version(rt: Runtime) -> str:
    module = "xllamacpp" if rt.name == "xllamacpp" else "llama_cpp"
    proc = subprocess.run(
        [rt.python, "-c", f"import {module}; print({module}.__version__)"],
        capture_output=True,
        text=True,
    )
    return proc.stdout.strip() or proc.stderr.strip()[-200:]


def _read_through(path: Path) -> None:
    with path.open("rb") as fh:
        while fh.read(16 * 2**20):
            pass


if __name__ == "__main__":
    sys.exit(main())
