"""Index folder layout with atomic generation swaps.

``index_dir/CURRENT`` names the generation in service. An ingest writes a complete new
``gen-*`` folder, then replaces ``CURRENT`` with ``os.replace`` (atomic), so a killed ingest
leaves the previous generation serving. The previous generation is kept (readers that
opened it keep working); older ones are removed.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import IndexNotReady, IngestBusy
from ingest.structure import Node

OUTLINE_FILE = "outline.jsonl"

FORMAT_VERSION = 1
KEEP_GENERATIONS = 2


@dataclass
class DocumentEntry:
    doc_id: str
    path: str
    sha256: str
    title: str
    chunk_ids: list[str]
    pages: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)  # statutes: law_name, effective, source…


@dataclass
class Manifest:
    format: int
    generation: str
    created: str
    tokenizer: str
    embedder: str
    dim: int
    chroma: dict[str, str]
    documents: dict[str, DocumentEntry] = field(default_factory=dict)
    chunk_count: int = 0

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        raw = json.loads(text)
        docs = {k: DocumentEntry(**v) for k, v in raw.pop("documents", {}).items()}
        return cls(documents=docs, **raw)


class IndexLayout:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @property
    def current_file(self) -> Path:
        return self.root / "CURRENT"

    def current_generation(self) -> Path | None:
        try:
            name = self.current_file.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise IndexNotReady(
                f"cannot read {self.current_file}: {exc}", "run `kansai-assistant ingest`"
            ) from exc
        gen = self.root / name
        return gen if name and gen.is_dir() else None

    def current_marker(self) -> str:
        """A cheap token that changes when a new generation goes into service."""
        try:
            return self.current_file.read_text(encoding="utf-8").strip()
        except OSError:
            return ""

    def read_manifest(self, gen: Path | None = None) -> Manifest:
        gen = gen or self.current_generation()
        if gen is None:
            raise IndexNotReady(
                f"no index in {self.root}",
                "build it with `kansai-assistant ingest` (or `make run`, which builds it)",
            )
        try:
            return Manifest.from_json((gen / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise IndexNotReady(
                f"the index in {gen} is damaged ({type(exc).__name__})",
                "rebuild it with `kansai-assistant ingest --rebuild`",
            ) from exc

    def new_generation(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        name = time.strftime("gen-%Y%m%dT%H%M%S-") + uuid.uuid4().hex[:6]
        path = self.root / name
        path.mkdir()
        return path

    def publish(self, final: Path) -> Path:
        """Make a fully written generation the current one (atomically)."""
        (final / "COMPLETE").write_text("ok", encoding="utf-8")
        _fsync_tree(final)
        tmp = self.root / f"CURRENT.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(final.name)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.current_file)
        _fsync_dir(self.root)
        return final

    def cleanup(self, keep: int = KEEP_GENERATIONS) -> list[str]:
        """Remove abandoned (never completed) folders and generations older than the last ``keep``."""
        if not self.root.exists():
            return []
        current = self.current_marker()
        gens = sorted(p for p in self.root.iterdir() if p.is_dir() and p.name.startswith("gen-"))
        removed = []
        finished = [g for g in gens if (g / "COMPLETE").exists()]
        keep_names = {g.name for g in finished[-keep:]} | {current}
        for g in gens:
            if g.name not in keep_names:
                shutil.rmtree(g, ignore_errors=True)
                removed.append(g.name)
        return removed

    @contextlib.contextmanager
    def writer_lock(self) -> Iterator[None]:
        """One ingest at a time per index folder (across processes)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".ingest.lock", "a+") as fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise IngestBusy(
                    f"another ingest is running on {self.root}", "wait for it to finish"
                ) from exc
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def write_outline(gen: Path, nodes: list[Node]) -> None:
    """Every document's outline nodes, one JSON object a line, in document order."""
    with open(gen / OUTLINE_FILE, "w", encoding="utf-8") as fh:
        for n in nodes:
            fh.write(json.dumps(n.to_json(), ensure_ascii=False) + "\n")


def read_outline(gen: Path) -> dict[str, list[Node]]:
    """The outline by document id; empty for a generation written before outlines existed."""
    path = gen / OUTLINE_FILE
    out: dict[str, list[Node]] = {}
    if not path.exists():
        return out
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                node = Node.from_json(json.loads(line))
                out.setdefault(node.doc_id, []).append(node)
    return out


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(path: Path) -> None:
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            fd = os.open(os.path.join(dirpath, f), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(dirpath))
