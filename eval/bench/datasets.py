"""JSQuAD as a retrieval benchmark: every paragraph becomes one document of our corpus format.

Each paragraph is written as ``jsq-NNNN.md`` (``# TITLE`` then the paragraph, so the title
lands in the chunk's section path like a heading of our own documents) with a
``jsq-NNNN.meta.json`` sidecar carrying the title and the attribution, and ingested with the
real :class:`ingest.pipeline.Ingestor`. ``questions.json`` maps every question to its
paragraph's ``doc_id``.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from assistant.embedding.base import Embedder
from assistant.settings import PROJECT_ROOT, Settings
from assistant.text.tokenizer import Tokenizer
from ingest.pipeline import Ingestor, IngestReport

DEFAULT_JSQUAD = Path(
    os.environ.get("KANSAI_BENCH_JSQUAD", "/work/shared/datasets/jsquad-v1.3-valid.json")
)
DEFAULT_CASES = PROJECT_ROOT / "eval" / "cases.jsonl"
DEFAULT_CORPUS = PROJECT_ROOT / "corpus"

ATTRIBUTION = (
    "Derived from JSQuAD v1.3 (validation split) of JGLUE, by Yahoo Japan Corporation and "
    "Waseda University, https://github.com/yahoojapan/JGLUE, licensed under CC BY-SA 4.0 "
    "(https://creativecommons.org/licenses/by-sa/4.0/). Paragraphs are Wikipedia text; "
    "changes: each paragraph split at ' [SEP] ' into a title heading and its text."
)
LICENSE = "CC-BY-SA-4.0"


@dataclass(frozen=True)
class Paragraph:
    doc_id: str
    source_id: str  # JSQuAD paragraph id, e.g. "a10336p0"
    title: str
    body: str


@dataclass(frozen=True)
class Question:
    qid: str
    text: str
    doc_id: str


@dataclass(frozen=True)
class JSQuAD:
    paragraphs: list[Paragraph]
    questions: list[Question]


def _spread(n_total: int, n_pick: int | None) -> list[int]:
    """``n_pick`` indices spread evenly over ``range(n_total)`` (all when None)."""
    if n_pick is None or n_pick >= n_total:
        return list(range(n_total))
    return sorted({i * n_total // n_pick for i in range(n_pick)})


def load_jsquad(path: Path, paragraphs: int | None = None, questions: int | None = None) -> JSQuAD:
    """All paragraphs and questions, or an evenly spread subset of them (quick mode)."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    flat = [p for article in raw["data"] for p in article["paragraphs"]]
    paras: list[Paragraph] = []
    qs: list[Question] = []
    for n, i in enumerate(_spread(len(flat), paragraphs)):
        p = flat[i]
        title, sep, body = p["context"].partition(" [SEP] ")
        if not sep:
            title, body = "", p["context"]
        doc_id = f"jsq-{i:04d}"
        first = p["qas"][0]["id"] if p["qas"] else f"p{n}"
        paras.append(Paragraph(doc_id, first.rsplit("q", 1)[0], title.strip(), body.strip()))
        qs.extend(Question(q["id"], q["question"], doc_id) for q in p["qas"])
    picked = _spread(len(qs), questions)
    return JSQuAD(paras, [qs[i] for i in picked])


def write_documents(ds: JSQuAD, folder: Path) -> Path:
    """Write one ``.md`` per paragraph (plus sidecar) and ``questions.json``; return docs dir."""
    docs = folder / "docs"
    if docs.exists():
        shutil.rmtree(docs)
    docs.mkdir(parents=True)
    for p in ds.paragraphs:
        (docs / f"{p.doc_id}.md").write_text(f"# {p.title}\n\n{p.body}\n", encoding="utf-8")
        meta = {"title": p.title, "source_id": p.source_id, "attribution": ATTRIBUTION}
        meta["license"] = LICENSE
        (docs / f"{p.doc_id}.meta.json").write_text(
            json.dumps(meta, ensure_ascii=False), encoding="utf-8"
        )
    mapping = {
        "attribution": ATTRIBUTION,
        "license": LICENSE,
        "paragraphs": {p.source_id: p.doc_id for p in ds.paragraphs},
        "questions": [{"id": q.qid, "question": q.text, "doc_id": q.doc_id} for q in ds.questions],
    }
    (folder / "questions.json").write_text(
        json.dumps(mapping, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    (folder / "NOTICE").write_text(ATTRIBUTION + "\n", encoding="utf-8")
    return docs


def ingest_folder(
    docs: Path,
    index_dir: Path,
    embedder: Embedder,
    tokenizer: Tokenizer,
    fresh: bool,
    progress: object = None,
) -> IngestReport:
    """Ingest ``docs`` with the product's Ingestor (from scratch when ``fresh``)."""
    if fresh and index_dir.exists():
        shutil.rmtree(index_dir)
    settings = Settings(index_dir=index_dir, corpus_dir=docs)
    ingestor = Ingestor(settings, embedder, tokenizer, progress=progress)  # type: ignore[arg-type]
    return ingestor.ingest([docs])


def retokenized_copy(
    src_index: Path, dst_index: Path, docs: Path, embedder: Embedder, tokenizer: Tokenizer
) -> IngestReport:
    """The same index with another tokenizer: the Ingestor re-tokenizes and reuses vectors."""
    if dst_index.exists():
        shutil.rmtree(dst_index)
    shutil.copytree(src_index, dst_index, ignore=shutil.ignore_patterns(".ingest.lock"))
    return ingest_folder(docs, dst_index, embedder, tokenizer, fresh=False)


def load_cases(path: Path, limit: int | None = None) -> list[dict[str, object]]:
    """The eval set's answerable cases (question + gold spans)."""
    cases = [
        json.loads(line)
        for line in Path(path).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    answerable = [c for c in cases if c.get("answerable") and c.get("gold")]
    return answerable[: limit or None]
