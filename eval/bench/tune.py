"""``python -m eval.bench.tune``: choose the fusion setting on dev splits only, report dev and test.

Query sets: JSQuAD split by paragraph (even-numbered paragraphs' questions = dev, odd = test;
every paragraph stays in the index), the statute set's own dev/test splits over the full corpus
(vision + statutes), and the vision eval set over the vision alone and over the full corpus.
Every setting of :func:`eval.bench.fusion_grid.grid` is scored on JSQuAD-dev and statute-dev;
the chosen one has the largest *smaller* margin over the plain character-bigram BM25 on the two
(the target is +0.02 nDCG@10 on both), then the per-document decay is chosen on the vision
eval set over the full corpus and statute-dev. Test splits are only reported.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from assistant.answer.text import detect_lang
from assistant.settings import PROJECT_ROOT, Settings
from assistant.text.bilingual import lexical_query
from assistant.text.tokenizer import get_tokenizer
from eval.bench import datasets
from eval.bench.fusion_grid import Scored, Setting, evaluate, grid, score_fields
from eval.bench.retrieval import EmbeddingCache, Progress, TimedEmbedder
from eval.bench.statutes import DEFAULT_STATUTE_CASES, load_statute_cases, statute_judge

log = logging.getLogger("eval.bench.tune")

BASELINE = Setting(dense=0.0, bigram=1.0, query_terms="all")  # plain character-bigram BM25
PHRASE = Setting(dense=0.0, bigram=0.0, phrase=1.0)
PREVIOUS = Setting(dense=0.5, bigram=0.0)  # the default before this change
SUDACHI = Setting(dense=0.0, bigram=0.0)
DENSE = Setting(dense=1.0, bigram=0.0)
DECAYS = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5)


def _searcher(index_dir: Path, embedder: Any) -> Any:
    from assistant.retrieval.searcher import Searcher

    return Searcher(Settings(index_dir=index_dir), embedder, get_tokenizer("sudachi"))


def _ensure_index(docs: Path, index_dir: Path, embedder: Any) -> None:
    from assistant.index.layout import IndexLayout

    if IndexLayout(index_dir).current_generation() is None:
        log.info("indexing %s into %s", docs, index_dir)
        datasets.ingest_folder(docs, index_dir, embedder, get_tokenizer("sudachi"), fresh=False)


def _lexical(texts: list[str]) -> list[str]:
    return [lexical_query(t, detect_lang(t)) for t in texts]


def _cached(work: Path, name: str, index_dir: Path, texts: list[str], make: Any) -> Scored:
    """Scored matrices kept on disk per (index generation, questions, tokenizer version)."""
    import hashlib
    import pickle

    from assistant.index.layout import IndexLayout

    gen = IndexLayout(index_dir).current_generation()
    raw = json.dumps([str(gen), texts, get_tokenizer("sudachi").version()], ensure_ascii=False)
    path = work / "tune-cache" / f"{name}-{hashlib.sha256(raw.encode()).hexdigest()[:16]}.pkl"
    if path.exists():
        with open(path, "rb") as fh:
            return pickle.load(fh)  # type: ignore[no-any-return]
    sc = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        pickle.dump(sc, fh)
    return sc  # type: ignore[no-any-return]


def build_sets(
    work: Path, cache: EmbeddingCache, embedder: Any, only: str = ""
) -> dict[str, tuple[Scored, dict[str, list[int]]]]:
    """Each query set scored once, with its dev/test query numbers."""
    out: dict[str, tuple[Scored, dict[str, list[int]]]] = {}
    # JSQuAD
    ds = datasets.load_jsquad(datasets.DEFAULT_JSQUAD)
    jdocs = datasets.write_documents(ds, work / "jsquad")
    jindex = work / "jsquad" / "index-sudachi"
    _ensure_index(jdocs, jindex, embedder)
    texts = [q.text for q in ds.questions]
    vecs = cache.queries(texts, "JSQuAD")
    cache.save()
    gold = [q.doc_id for q in ds.questions]
    sc = _cached(
        work,
        "jsquad",
        jindex,
        texts,
        lambda: score_fields(
            _searcher(jindex, embedder),
            "jsquad",
            texts,
            vecs,
            lambda i, rec: rec["doc_id"] == gold[i],
            dedupe_docs=True,
            progress=Progress("score JSQuAD", len(texts)),
        ),
    )
    parity = [int(g.split("-")[1]) % 2 for g in gold]
    out["jsquad"] = (
        sc,
        {
            "dev": [i for i, p in enumerate(parity) if p == 0],
            "test": [i for i, p in enumerate(parity) if p == 1],
        },
    )

    if only == "jsquad":
        return out

    # statutes over the full corpus
    full = work / "corpus" / "index-full"
    _ensure_index(PROJECT_ROOT / "corpus", full, embedder)
    cases = load_statute_cases(DEFAULT_STATUTE_CASES)
    texts = [str(c["question"]) for c in cases]
    vecs = cache.queries(texts, "statutes")
    judges = [statute_judge(c) for c in cases]
    sc = score_fields(
        _searcher(full, embedder),
        "statutes",
        texts,
        vecs,
        lambda i, rec: judges[i](rec),
        dedupe_docs=False,
        lexical_texts=_lexical(texts),
    )
    out["statutes"] = (
        sc,
        {s: [i for i, c in enumerate(cases) if c["split"] == s] for s in ("dev", "test")},
    )

    # the vision eval set: vision only, and the full corpus
    vcases = datasets.load_cases(datasets.DEFAULT_CASES)
    texts = [str(c["question"]) for c in vcases]
    vecs = cache.queries(texts, "vision")
    cache.save()
    golds = [list(c["gold"]) for c in vcases]  # type: ignore[call-overload]
    vision_docs = work / "corpus" / "vision-docs"
    vision_docs.mkdir(parents=True, exist_ok=True)
    for name in ("kansai-industrial-vision-2023.txt", "kansai-industrial-vision-2023.meta.json"):
        (vision_docs / name).write_bytes((PROJECT_ROOT / "corpus" / name).read_bytes())
    vindex = work / "corpus" / "index-vision"
    _ensure_index(vision_docs, vindex, embedder)
    for name, index in (("vision-only", vindex), ("vision-full", full)):
        sc = score_fields(
            _searcher(index, embedder),
            name,
            texts,
            vecs,
            lambda i, rec: any(g in rec["text"] for g in golds[i]),
            dedupe_docs=False,
            lexical_texts=_lexical(texts),
        )
        out[name] = (sc, {"all": list(range(len(texts)))})
    return out


def choose(sets: dict[str, tuple[Scored, dict[str, list[int]]]]) -> dict[str, Any]:
    jsq, jsplit = sets["jsquad"]
    sta, ssplit = sets["statutes"]
    base = {
        "jsquad": evaluate(jsq, BASELINE, jsplit["dev"])["ndcg@10"],
        "statutes": evaluate(sta, BASELINE, ssplit["dev"])["ndcg@10"],
    }
    rows: list[dict[str, Any]] = []
    settings = grid()
    progress = Progress("grid (dev splits)", len(settings))
    for n, s in enumerate(settings, start=1):
        j = evaluate(jsq, s, jsplit["dev"])["ndcg@10"]
        t = evaluate(sta, s, ssplit["dev"])["ndcg@10"]
        rows.append(
            {
                "setting": s.name,
                "params": asdict(s),
                "jsquad_dev": j,
                "statutes_dev": t,
                "margin": round(min(j - base["jsquad"], t - base["statutes"]), 4),
            }
        )
        progress(n)
    rows.sort(key=lambda r: (-r["margin"], -(r["jsquad_dev"] + r["statutes_dev"])))
    best = Setting(**rows[0]["params"])
    vis, vsplit = sets["vision-full"]
    decays: list[dict[str, Any]] = []
    for d in DECAYS:
        s = replace(best, decay=d)
        decays.append(
            {
                "decay": d,
                "vision_full": evaluate(vis, s, vsplit["all"]),
                "statutes_dev": evaluate(sta, s, ssplit["dev"]),
            }
        )
    pick = max(
        decays,
        key=lambda r: (
            round(r["vision_full"]["ndcg@10"] + r["statutes_dev"]["ndcg@10"], 4),
            r["decay"],
        ),
    )
    return {
        "baseline_dev": base,
        "grid": rows,
        "chosen": asdict(replace(best, decay=pick["decay"])),
        "decays": decays,
    }


def report(sets: dict[str, tuple[Scored, dict[str, list[int]]]], chosen: Setting) -> dict[str, Any]:
    rows: dict[str, dict[str, Any]] = {}
    named = {
        "bm25-bigram (plain baseline)": BASELINE,
        "bm25-sudachi": SUDACHI,
        "dense": DENSE,
        "phrase field alone": PHRASE,
        "hybrid before (dense 0.5 + Sudachi)": PREVIOUS,
        "hybrid chosen": chosen,
        "hybrid chosen, no decay": replace(chosen, decay=1.0),
    }
    for label, s in named.items():
        rows[label] = {}
        for set_name, (sc, splits) in sets.items():
            for split, qs in splits.items():
                rows[label][f"{set_name}:{split}"] = evaluate(sc, s, qs)
    return rows


def markdown(result: dict[str, Any]) -> str:
    cols = [
        "jsquad:dev",
        "jsquad:test",
        "statutes:dev",
        "statutes:test",
        "vision-only:all",
        "vision-full:all",
    ]
    lines = [
        f"# Fusion chosen on dev splits ({result['stamp']})",
        "",
        f"Chosen: `{Setting(**result['chosen']).name}` → settings `{json.dumps(Setting(**result['chosen']).settings())}`.",
        "Rule: the largest smaller margin over the plain bigram BM25 on JSQuAD-dev and statute-dev "
        "(nDCG@10), then the per-document decay by vision (full corpus) + statute-dev nDCG@10.",
        f"Machine: {result['machine']}",
        "",
        "## nDCG@10 (hit@5 / MRR@10 in the JSON)",
        "",
        "| retriever | " + " | ".join(cols) + " |",
        "|---|" + "---:|" * len(cols),
    ]
    for label, row in result["report"].items():
        cells = [f"{row[c]['ndcg@10']:.4f}" if row.get(c) else "" for c in cols]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Best 15 of the grid (dev splits)",
        "",
        "| setting | JSQuAD-dev | statute-dev | min margin |",
        "|---|---:|---:|---:|",
    ]
    for r in result["grid"][:15]:
        lines.append(
            f"| {r['setting']} | {r['jsquad_dev']:.4f} | {r['statutes_dev']:.4f} | {r['margin']:+.4f} |"
        )
    lines += [
        "",
        "## Per-document decay (chosen weights)",
        "",
        "| decay | vision, full corpus nDCG@10 | hit@5 | statute-dev nDCG@10 |",
        "|---:|---:|---:|---:|",
    ]
    for d in result["decays"]:
        lines.append(
            f"| {d['decay']} | {d['vision_full']['ndcg@10']:.4f} | {d['vision_full']['hit@5']:.4f} | {d['statutes_dev']['ndcg@10']:.4f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    p = argparse.ArgumentParser(prog="python -m eval.bench.tune", description=__doc__)
    p.add_argument("--work", type=Path, default=PROJECT_ROOT / "var" / "bench")
    p.add_argument("--out", type=Path, default=PROJECT_ROOT / "eval" / "results")
    p.add_argument("--warm", choices=["jsquad"], help="only score this set (fills the cache)")
    a = p.parse_args(argv)
    from eval.bench.__main__ import build_embedder

    started = time.perf_counter()
    load0 = os.getloadavg()
    embedder = TimedEmbedder(build_embedder("e5"))
    cache = EmbeddingCache(a.work / "cache" / "embeddings-e5.npz", embedder)
    sets = build_sets(a.work, cache, embedder, a.warm or "")
    cache.save()
    if a.warm:
        return 0
    picked = choose(sets)
    chosen = Setting(**picked["chosen"])
    result = {
        "stamp": time.strftime("%Y%m%d-%H%M%S"),
        "machine": {
            "cpus": os.cpu_count(),
            "loadavg_start": [round(x, 2) for x in load0],
            "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        },
        "queries": {f"{k}:{s}": len(v) for k, (_sc, sp) in sets.items() for s, v in sp.items()},
        **picked,
        "report": report(sets, chosen),
        "seconds": round(time.perf_counter() - started, 1),
    }
    a.out.mkdir(parents=True, exist_ok=True)
    path = a.out / f"fusion-{result['stamp']}.json"
    path.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    md = a.out / "fusion-latest.md"
    md.write_text(markdown(result), encoding="utf-8")
    print(md.read_text(encoding="utf-8"))
    print(f"wrote {path} and {md}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
