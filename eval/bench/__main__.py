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
from assistant.settings import PROJECT_ROOT
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
    p.add_argument("--corpus", type=Path, default=datasets.DEFAULT_CORPUS)
    p.add_argument("--work", type=Path, default=PROJECT_ROOT / "var" / "bench")
    p.add_argument("--out", type=Path, help="results folder (default eval/results)")
    p.add_argument("--embedder", choices=["e5", "fake"], default="e5")
    p.add_argument("--reuse-index", action="store_true", help="skip the fresh JSQuAD ingest")
    p.add_argument("--no-bigram", action="store_true", help="skip the char-bigram reference")
    a = p.parse_args(argv)
    quick = a.quick
    return Config(
        mode="quick" if quick else ("full" if a.paragraphs is a.questions is None else "subset"),
        paragraphs=a.paragraphs or (QUICK_PARAGRAPHS if quick else None),
        questions=a.questions or (QUICK_QUESTIONS if quick else None),
        eval_questions=a.eval_questions,
        jsquad=a.jsquad,
        cases=a.cases,
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
    indexes = {"sudachi": jindex}
    if cfg.bigram:
        log.info("JSQuAD: char-bigram copy of the index (vectors reused)")
        indexes["char-bigram"] = jdir / "index-bigram"
        datasets.retokenized_copy(jindex, indexes["char-bigram"], docs, embedder, bigram)

    # our corpus for the eval set (incremental ingest: unchanged = nothing to do)
    log.info("eval set: indexing %s", cfg.corpus)
    cdir = cfg.work / "corpus"
    cindex = {"sudachi": cdir / "index-sudachi"}
    datasets.ingest_folder(cfg.corpus, cindex["sudachi"], embedder, sudachi, False, ingest_progress)
    crecords, _ = index_records(cindex["sudachi"])
    if cfg.bigram:
        cindex["char-bigram"] = cdir / "index-bigram"
        datasets.retokenized_copy(
            cindex["sudachi"], cindex["char-bigram"], cfg.corpus, embedder, bigram
        )
    cases = datasets.load_cases(cfg.cases, cfg.eval_questions)

    # query vectors, once
    jq = cache.queries([q.text for q in ds.questions], "JSQuAD")
    eq = cache.queries([str(c["question"]) for c in cases], "eval")
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
    eqs = eval_queryset(cases, eq, [r["text"] for r in crecords])

    # stock llama-index: fed the same cleaned text (title line + paragraph), its own chunking
    log.info("stock llama-index pipelines")
    stock_j = StockPipeline.build(
        [(p.doc_id, f"{clean_inline(p.title)}\n{clean_text(p.body)}") for p in ds.paragraphs],
        embedder,
        cache,
        cfg.work / "stock-chroma",
        f"stock-jsquad-{cfg.mode}",
    )
    corpus_files = sorted(f for f in cfg.corpus.glob("*.txt"))
    stock_c = StockPipeline.build(
        [(f.stem, clean_text(f.read_text(encoding="utf-8"))) for f in corpus_files],
        embedder,
        cache,
        cfg.work / "stock-chroma",
        f"stock-corpus-{cfg.mode}",
    )
    cache.save()
    stock_eqs = eval_queryset(cases, eq, [n.get_content() for n in stock_c.nodes])

    results: dict[str, dict[str, dict[str, float]]] = {"jsquad": {}, "eval": {}}
    for which in ("dense", "bm25"):
        results["jsquad"][f"stock-{which}"] = stock_j.run(which, jqs)
        results["eval"][f"stock-{which}"] = stock_c.run(which, stock_eqs)
    for v in our_variants(cfg.bigram):
        tok = get_tokenizer(v.index)
        results["jsquad"][v.name] = run_ours(
            v, our_searcher(indexes[v.index], embedder, tok, v), jqs
        )
        results["eval"][v.name] = run_ours(v, our_searcher(cindex[v.index], embedder, tok, v), eqs)

    base = our_variants(False)[0]
    fl = floor(our_searcher(jindex, embedder, sudachi, base), embedder, jqs.texts, jq)
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
            "eval": {
                "path": str(cfg.cases),
                "questions": len(cases),
                "chunks": len(crecords),
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
        "recommendation": report.recommend(results),
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
