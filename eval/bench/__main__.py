"""``python -m eval.bench [--quick]``: build the indexes, run every variant, write the report.

``python -m eval.bench growth|floor|load|startup|llm|all [...]`` runs the cost and service
parts instead (:mod:`eval.bench.parts`); without a part name this is the retrieval benchmark.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.embedding.base import Embedder
from assistant.index.layout import IndexLayout
from assistant.settings import PROJECT_ROOT, Settings
from assistant.text.tokenizer import get_tokenizer
from eval.bench import datasets, report
from eval.bench.parts import PARTS
from eval.bench.parts import main as parts_main
from eval.bench.retrieval import (
    EmbeddingCache,
    QuerySet,
    StockPipeline,
    TimedEmbedder,
    floor,
    our_searcher,
    our_variants,
    run_ours,
)
from eval.bench.statutes import DEFAULT_STATUTE_CASES, load_statute_cases, statute_judge
from ingest.clean import clean_inline, clean_text

log = logging.getLogger("eval.bench")

QUICK_PARAGRAPHS, QUICK_QUESTIONS = 150, 300


@dataclass
class Config:
    mode: str
    paragraphs: int | None
    questions: int | None
    eval_questions: int | None
    jsquad: Path
    cases: Path
    statute_cases: Path
    corpus: Path
    work: Path
    out: Path
    embedder: str
    fresh: bool
    bigram: bool
    command: str


def parse(argv: list[str] | None) -> Config:
    p = argparse.ArgumentParser(prog="python -m eval.bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="150 paragraphs / 300 questions")
    p.add_argument("--paragraphs", type=int, help="JSQuAD paragraphs to index (default all)")
    p.add_argument("--questions", type=int, help="JSQuAD questions to ask (default all)")
    p.add_argument("--eval-questions", type=int, help="eval-set questions (default all)")
    p.add_argument("--jsquad", type=Path, default=datasets.DEFAULT_JSQUAD)
    p.add_argument("--cases", type=Path, default=datasets.DEFAULT_CASES)
    p.add_argument("--statute-cases", type=Path, default=DEFAULT_STATUTE_CASES)
    p.add_argument("--corpus", type=Path, default=datasets.DEFAULT_CORPUS)
    p.add_argument("--work", type=Path, default=PROJECT_ROOT / "var" / "bench")
    p.add_argument("--out", type=Path, help="results folder (default eval/results)")
    p.add_argument("--embedder", choices=["e5", "fake"], default="e5")
    p.add_argument("--reuse-index", action="store_true", help="skip the fresh JSQuAD ingest")
    p.add_argument(
        "--no-bigram", action="store_true", help="skip the bigram baseline and the default hybrid"
    )
    a = p.parse_args(argv)
    quick = a.quick
    return Config(
        mode="quick" if quick else ("full" if a.paragraphs is a.questions is None else "subset"),
        paragraphs=a.paragraphs or (QUICK_PARAGRAPHS if quick else None),
        questions=a.questions or (QUICK_QUESTIONS if quick else None),
        eval_questions=a.eval_questions,
        jsquad=a.jsquad,
        cases=a.cases,
        statute_cases=a.statute_cases,
        corpus=a.corpus,
        work=a.work,
        out=a.out or (PROJECT_ROOT / "eval" / "results"),
        embedder=a.embedder,
        fresh=not a.reuse_index,
        bigram=not a.no_bigram,
        command="python -m eval.bench " + shlex.join(argv if argv is not None else sys.argv[1:]),
    )


def build_embedder(kind: str) -> Embedder:
    if kind == "fake":
        from assistant.embedding.fake import HashingEmbedder

        return HashingEmbedder()
    from assistant.embedding.e5 import E5Embedder

    return E5Embedder()


def ingest_progress(stage: str, done: int, total: int) -> None:
    if stage == "embed" or done == total:
        sys.stderr.write(f"\r  ingest {stage}: {done}/{total}   ")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def index_records(index_dir: Path) -> tuple[list[dict[str, Any]], np.ndarray]:
    gen = IndexLayout(index_dir).current_generation()
    assert gen is not None, f"no index in {index_dir}"
    lines = (gen / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(x) for x in lines if x], np.load(gen / "embeddings.npy")


def statute_queryset(
    name: str, cases: list[dict[str, Any]], vectors: np.ndarray, records: list[dict[str, Any]]
) -> QuerySet:
    """Statute cases over the full corpus: gold span or compatible citation label."""
    judges = [statute_judge(c) for c in cases]
    by_text: dict[str, dict[str, Any]] = {}
    for r in records:
        by_text.setdefault(r["text"], r)
    counts = [sum(j(r) for r in records) for j in judges]
    return QuerySet(
        name=name,
        texts=[str(c["question"]) for c in cases],
        vectors=vectors,
        relevant=lambda i, doc, text: judges[i](
            by_text.get(text, {"text": text, "doc_id": doc, "label": ""})
        ),
        n_relevant=lambda i: counts[i],
        dedupe_docs=False,
    )


def default_retrieval_settings() -> dict[str, Any]:
    """The retrieval settings the answers use (Settings() defaults, no environment)."""
    s = Settings.model_construct()
    keys = (
        "fusion",
        "dense_weight",
        "bigram_weight",
        "phrase_weight",
        "query_terms",
        "fill_scores",
        "doc_decay",
    )
    return {k: getattr(s, k) for k in keys} | {"candidates": s.candidates}


def eval_queryset(
    cases: list[dict[str, Any]], vectors: np.ndarray, collection: list[str]
) -> QuerySet:
    golds: list[list[str]] = [list(c["gold"]) for c in cases]  # already normalised spans
    counts = [sum(any(g in t for g in gs) for t in collection) for gs in golds]
    return QuerySet(
        name="eval",
        texts=[str(c["question"]) for c in cases],
        vectors=vectors,
        relevant=lambda i, _doc, text: any(g in text for g in golds[i]),
        n_relevant=lambda i: counts[i],
        dedupe_docs=False,
    )


def run(cfg: Config) -> tuple[dict[str, Any], Path, Path]:
    started = time.perf_counter()
    load_start = os.getloadavg()
    embedder = TimedEmbedder(build_embedder(cfg.embedder))
    sudachi, bigram = get_tokenizer("sudachi"), get_tokenizer("char-bigram")
    cache = EmbeddingCache(cfg.work / "cache" / f"embeddings-{cfg.embedder}.npz", embedder)

    # JSQuAD: documents, fresh index with our Ingestor, a bigram copy
    log.info("JSQuAD: loading %s", cfg.jsquad)
    ds = datasets.load_jsquad(cfg.jsquad, cfg.paragraphs, cfg.questions)
    jdir = cfg.work / ("jsquad" if cfg.paragraphs is None else f"jsquad-p{cfg.paragraphs}")
    docs = datasets.write_documents(ds, jdir)
    log.info("JSQuAD: ingesting %d paragraphs (fresh=%s)", len(ds.paragraphs), cfg.fresh)
    jindex = jdir / "index-sudachi"
    ing = datasets.ingest_folder(docs, jindex, embedder, sudachi, cfg.fresh, ingest_progress)
    ingest = {
        "fresh": cfg.fresh,
        "seconds": ing.seconds,
        "chunks": ing.chunks,
        "embedded": ing.embedded,
        "embed_seconds": round(embedder.seconds, 3),
        "embed_ms_per_passage": round(1000 * embedder.seconds / max(1, embedder.passages), 2),
        "skipped": len(ing.skipped),
    }
    jrecords, jvectors = index_records(jindex)
    cache.put_passages([r["index_text"] for r in jrecords], jvectors)
    # the full corpus (vision + statutes) and the vision alone (incremental: unchanged = nothing)
    log.info("corpus: indexing %s", cfg.corpus)
    cdir = cfg.work / "corpus"
    full_index = cdir / "index-full"
    datasets.ingest_folder(cfg.corpus, full_index, embedder, sudachi, False, ingest_progress)
    crecords, _ = index_records(full_index)
    vision_docs = cdir / "vision-docs"
    vision_docs.mkdir(parents=True, exist_ok=True)
    vision_files = sorted(f for f in cfg.corpus.glob("*.txt"))
    for f in vision_files:
        for side in (f, f.with_name(f.stem + ".meta.json")):
            if side.exists():
                (vision_docs / side.name).write_bytes(side.read_bytes())
    vision_index = cdir / "index-vision"
    datasets.ingest_folder(vision_docs, vision_index, embedder, sudachi, False, ingest_progress)
    vrecords, _ = index_records(vision_index)
    cases = datasets.load_cases(cfg.cases, cfg.eval_questions)
    statute_cases = {
        split: load_statute_cases(cfg.statute_cases, split)[: cfg.eval_questions or None]
        for split in ("dev", "test")
    }

    # query vectors, once (batched)
    jq = cache.queries([q.text for q in ds.questions], "JSQuAD")
    eq = cache.queries([str(c["question"]) for c in cases], "eval")
    sq = {
        split: cache.queries([str(c["question"]) for c in cs], f"statutes-{split}")
        for split, cs in statute_cases.items()
    }
    cache.save()
    gold_doc = [q.doc_id for q in ds.questions]
    jqs = QuerySet(
        name="jsquad",
        texts=[q.text for q in ds.questions],
        vectors=jq,
        relevant=lambda i, doc, _text: doc == gold_doc[i],
        n_relevant=lambda i: 1,
        dedupe_docs=True,
    )
    eqs = eval_queryset(cases, eq, [r["text"] for r in vrecords])
    eqs_full = eval_queryset(cases, eq, [r["text"] for r in crecords])
    sqs = {
        split: statute_queryset(f"statutes-{split}", cs, sq[split], crecords)
        for split, cs in statute_cases.items()
    }

    # stock llama-index: fed the same cleaned text (title line + paragraph), its own chunking
    log.info("stock llama-index pipelines")
    stock_j = StockPipeline.build(
        [(p.doc_id, f"{clean_inline(p.title)}\n{clean_text(p.body)}") for p in ds.paragraphs],
        embedder,
        cache,
        cfg.work / "stock-chroma",
        f"stock-jsquad-{cfg.mode}",
    )
    stock_c = StockPipeline.build(
        [(f.stem, clean_text(f.read_text(encoding="utf-8"))) for f in vision_files],
        embedder,
        cache,
        cfg.work / "stock-chroma",
        f"stock-corpus-{cfg.mode}",
    )
    cache.save()
    stock_eqs = eval_queryset(cases, eq, [n.get_content() for n in stock_c.nodes])

    sets: dict[str, tuple[Path, QuerySet]] = {
        "jsquad": (jindex, jqs),
        "statutes-dev": (full_index, sqs["dev"]),
        "statutes-test": (full_index, sqs["test"]),
        "eval": (vision_index, eqs),
        "eval-full": (full_index, eqs_full),
    }
    results: dict[str, dict[str, dict[str, float]]] = {name: {} for name in sets}
    for which in ("dense", "bm25"):
        results["jsquad"][f"stock-{which}"] = stock_j.run(which, jqs)
        results["eval"][f"stock-{which}"] = stock_c.run(which, stock_eqs)
    for v in our_variants(cfg.bigram):
        for name, (index_dir, qs) in sets.items():
            if qs.texts:
                results[name][v.name] = run_ours(
                    v, our_searcher(index_dir, embedder, sudachi, v), qs
                )

    base = our_variants(False)[0]
    fl = floor(our_searcher(jindex, embedder, sudachi, base), embedder, jqs.texts, jq)
    margins = {
        name: round(rows["hybrid-default"]["ndcg@10"] - rows["bm25-bigram"]["ndcg@10"], 4)
        for name, rows in results.items()
        if "hybrid-default" in rows and "bm25-bigram" in rows
    }
    result: dict[str, Any] = {
        "stamp": time.strftime("%Y%m%d-%H%M%S"),
        "mode": cfg.mode,
        "command": cfg.command,
        "embedder": embedder.version(),
        "tokenizers": {"sudachi": sudachi.version(), "char-bigram": bigram.version()},
        "machine": {
            "cpus": os.cpu_count(),
            "loadavg_start": [round(x, 2) for x in load_start],
            "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        },
        "git": _git_head(),
        "datasets": {
            "jsquad": {
                "path": str(cfg.jsquad),
                "paragraphs": len(ds.paragraphs),
                "questions": len(ds.questions),
                "chunks": len(jrecords),
                "attribution": datasets.ATTRIBUTION,
            },
            "statutes": {
                "path": str(cfg.statute_cases),
                "questions": {k: len(v) for k, v in statute_cases.items()},
                "chunks": len(crecords),
                "no_relevant_chunk": {
                    k: sum(q.n_relevant(i) == 0 for i in range(len(q.texts)))
                    for k, q in sqs.items()
                },
            },
            "eval": {
                "path": str(cfg.cases),
                "questions": len(cases),
                "chunks": len(vrecords),
                "chunks_full": len(crecords),
                "stock_nodes": len(stock_c.nodes),
                "no_relevant_chunk": sum(eqs.n_relevant(i) == 0 for i in range(len(cases))),
                "no_relevant_stock_node": sum(
                    stock_eqs.n_relevant(i) == 0 for i in range(len(cases))
                ),
            },
        },
        "ingest": ingest,
        "stock": {
            "jsquad_build_seconds": stock_j.seconds,
            "jsquad_embedded": stock_j.embedded,
            "jsquad_nodes": len(stock_j.nodes),
        },
        "floor": fl,
        "results": results,
        "margins_over_bigram": margins,
        "default_settings": default_retrieval_settings(),
        "seconds": round(time.perf_counter() - started, 1),
    }
    json_path, md_path = report.write(result, cfg.out)
    return result, json_path, md_path


def _git_head() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=5,
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in (*PARTS, "all"):
        return parts_main(args)
    cfg = parse(argv)
    _, json_path, md_path = run(cfg)
    print(md_path.read_text(encoding="utf-8"))
    print(f"wrote {json_path} and {md_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
