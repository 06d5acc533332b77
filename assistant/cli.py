"""``kansai-assistant``: the command-line adapter.

Errors print one line (what went wrong — what to do) on stderr and exit non-zero; ``--json``
output is stable (documented in the README).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_ERROR, EXIT_SKIPPED, EXIT_USAGE = 0, 1, 3, 2


class Progress:
    """Progress on stderr: a live line on a terminal, a line every ~10% otherwise."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self._last: dict[str, int] = {}
        self._started: dict[str, float] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.quiet or total <= 0:
            return
        now = time.perf_counter()
        started = self._started.setdefault(stage, now)
        pct = int(100 * done / total)
        took = now - started
        timing = ""
        if took >= 1:
            timing = f" {took:.0f}s"
            if 0 < done < total:
                timing += f", ~{took / done * (total - done):.0f}s left"
        line = f"  {stage:<9} {done}/{total} ({pct}%){timing}"
        if self.tty:
            end = "\n" if done >= total else ""
            print(f"\r{line}   ", end=end, file=sys.stderr, flush=True)
        elif pct // 10 != self._last.get(stage, -1) or done == total:
            self._last[stage] = pct // 10
            print(line, file=sys.stderr, flush=True)


def _settings(args: argparse.Namespace) -> Any:
    from assistant.settings import Settings

    overrides: dict[str, Any] = {}
    if getattr(args, "index", None):
        overrides["index_dir"] = Path(args.index)
    if getattr(args, "embedder", None):
        overrides["embedder"] = args.embedder
    if getattr(args, "backend", None):
        overrides["generator"] = args.backend
    return Settings(**overrides)


def _engine(args: argparse.Namespace) -> Any:
    from assistant.engine import Engine

    return Engine(_settings(args))


def _out(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False))


# ---- commands ---------------------------------------------------------------------------
def cmd_ingest(args: argparse.Namespace) -> int:
    engine = _engine(args)
    paths = [Path(p) for p in args.paths] or [engine.settings.corpus_dir]
    progress = Progress(quiet=args.json)
    report = engine.ingestor(progress).ingest(paths, rebuild=args.rebuild)
    if args.json:
        _out(report.to_dict())
    else:
        for path, reason in report.skipped:
            print(f"skipped {path}: {reason}", file=sys.stderr)
        if report.rebuilt_reason:
            print(f"rebuilt the whole index: {report.rebuilt_reason}")
        if report.up_to_date:
            print(f"index is up to date ({report.chunks} chunks, {engine.settings.index_dir})")
        else:
            print(
                f"indexed {len(report.added)} new, {len(report.changed)} changed, "
                f"{len(report.unchanged)} unchanged, {len(report.removed)} removed document(s): "
                f"{report.chunks} chunks ({report.embedded} embedded, {report.reused_vectors} reused) "
                f"in {report.seconds:.1f}s → {engine.settings.index_dir}"
            )
            if report.stages:
                print("  " + ", ".join(f"{k} {v:.1f}s" for k, v in report.stages.items()))
    return EXIT_SKIPPED if report.skipped else EXIT_OK


def cmd_search(args: argparse.Namespace) -> int:
    engine = _engine(args)
    searcher = engine.searcher
    if args.batch:
        return _search_batch(args.batch, searcher, args.k, args.method, args.doc)
    if not args.query:
        raise _usage("search needs a QUERY (or --batch FILE.jsonl)")
    started = time.perf_counter()
    result = _search_json(searcher, args.query, args.k, args.method, args.doc)
    if args.json:
        _out(result)
        return EXIT_OK
    took = (time.perf_counter() - started) * 1000
    if not result["results"]:
        print("no passages found")
    for i, r in enumerate(result["results"], start=1):
        pos = r["position"]
        where = f"lines {pos['line_start']}-{pos['line_end']}"
        if pos.get("page_start"):
            where = f"page {pos['page_start']}, " + where
        name = r["label"] or r["title"]
        if r.get("version"):
            name += f" ({r['version']} 施行)"
        print(f"[{i}] {r['score']:.3f}  {name} — {r['section'] or '(no section)'} ({where})")
        for line in r["text"].splitlines():
            print(f"     {line}")
        print()
    print(f"({len(result['results'])} results in {took:.0f} ms)", file=sys.stderr)
    return EXIT_OK


def _search_json(
    searcher: Any,
    query: str,
    k: int,
    method: str,
    documents: list[str] | None = None,
    query_embedding: Any = None,
) -> dict[str, Any]:
    passages = searcher.search(
        query, k=k, method=method, query_embedding=query_embedding, documents=documents
    )
    return {"query": query, "results": [p.public() for p in passages]}


BATCH = 64  # questions embedded together in ``search --batch``


def _search_batch(
    path: str, searcher: Any, k: int, method: str, documents: list[str] | None
) -> int:
    """One result line per question line; the questions are embedded ``BATCH`` at a time."""
    from assistant.embedding.base import embed_queries

    vectors: dict[str, Any] = {}

    def prepare(items: list[dict[str, Any]]) -> None:
        if method == "bm25":
            return
        texts = list(dict.fromkeys(str(i["question"]).strip() for i in items) - vectors.keys())
        texts = [t for t in texts if t]
        if texts:
            vectors.update(zip(texts, embed_queries(searcher.embedder, texts), strict=True))

    def one(item: dict[str, Any]) -> dict[str, Any]:
        q = str(item["question"]).strip()
        return _search_json(searcher, q, k, method, documents, vectors.get(q))

    return _batch(path, one, prepare)


def _batch(path: str, fn: Any, prepare: Any = None) -> int:
    """Run ``fn`` on each JSON line; ``prepare`` sees each group of ``BATCH`` valid items first."""
    from assistant.errors import AssistantError

    src = sys.stdin if path == "-" else open(path, encoding="utf-8")  # noqa: SIM115
    failures = 0

    def run(group: list[tuple[int, Any]]) -> None:
        nonlocal failures
        if prepare is not None:
            valid = [item for _, item in group if not isinstance(item, Exception)]
            if valid:
                prepare(valid)
        for n, item in group:
            try:
                if isinstance(item, Exception):
                    raise item
                _out(fn(item))
            except (ValueError, AssistantError) as exc:
                failures += 1
                msg = exc.one_line() if isinstance(exc, AssistantError) else str(exc)
                _out({"line": n, "error": msg})

    with src:
        group: list[tuple[int, Any]] = []
        for n, line in enumerate(src, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                if not isinstance(item, dict) or not isinstance(item.get("question"), str):
                    raise ValueError('each line must be an object with a "question" string')
                group.append((n, item))
            except ValueError as exc:
                group.append((n, exc))
            if len(group) >= (BATCH if prepare is not None else 1):
                run(group)
                group = []
        if group:
            run(group)
    return EXIT_ERROR if failures else EXIT_OK


def cmd_documents(args: argparse.Namespace) -> int:
    from assistant.index.layout import IndexLayout

    m = IndexLayout(_settings(args).index_dir).read_manifest()
    docs = [
        {
            "doc_id": d.doc_id,
            "title": d.title,
            "path": d.path,
            "chunks": len(d.chunk_ids),
            "sha256": d.sha256,
        }
        for d in m.documents.values()
    ]
    info = {
        "generation": m.generation,
        "created": m.created,
        "chunks": m.chunk_count,
        "tokenizer": m.tokenizer,
        "embedder": m.embedder,
        "chroma": m.chroma,
        "documents": docs,
    }
    if args.json:
        _out(info)
    else:
        print(f"index {m.generation} ({m.created}): {m.chunk_count} chunks; embedder {m.embedder}")
        for d in docs:
            print(f"  {d['doc_id']}: {d['title']} ({d['chunks']} chunks) {d['path']}")
    return EXIT_OK


def cmd_delete(args: argparse.Namespace) -> int:
    report = _engine(args).ingestor().remove(args.doc_ids)
    print(f"removed {', '.join(report.removed)}; index now {report.generation}")
    return EXIT_OK


class _UsageError(Exception):
    pass


def _usage(msg: str) -> _UsageError:
    return _UsageError(msg)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kansai-assistant",
        description="Cited answers about 関西広域産業ビジョン 2023 (Union of Kansai Governments).",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_index(sp: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sp.add_argument(
            "--index",
            metavar="DIR",
            help="index folder (default: $KANSAI_INDEX_DIR or ./var/index)",
        )
        sp.add_argument("--embedder", choices=["e5", "fake"], help=argparse.SUPPRESS)
        return sp

    sp = with_index(sub.add_parser("ingest", help="index documents (incremental)"))
    sp.add_argument("paths", nargs="*", help="files or folders (default: the corpus folder)")
    sp.add_argument("--rebuild", action="store_true", help="re-embed everything")
    sp.add_argument("--json", action="store_true", help="print the report as JSON")
    sp.set_defaults(func=cmd_ingest)

    sp = with_index(sub.add_parser("search", help="hybrid search over the index"))
    sp.add_argument("query", nargs="?", help="what to look for (Japanese or English)")
    sp.add_argument("--k", type=int, default=10, help="number of results (default 10)")
    sp.add_argument("--method", choices=["hybrid", "dense", "bm25", "bigram"], default="hybrid")
    sp.add_argument(
        "--doc", action="append", metavar="DOC_ID", help="search only this document (repeatable)"
    )
    sp.add_argument("--json", action="store_true", help="print JSON")
    sp.add_argument(
        "--batch", metavar="FILE.jsonl", help='one {"question": ...} per line ("-" = stdin)'
    )
    sp.set_defaults(func=cmd_search)

    sp = with_index(sub.add_parser("documents", help="list what is indexed"))
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_documents)

    sp = with_index(sub.add_parser("delete", help="remove documents from the index"))
    sp.add_argument("doc_ids", nargs="+", metavar="DOC_ID")
    sp.set_defaults(func=cmd_delete)

    for extra in _extra_commands():
        extra(sub, with_index)
    return p


def _extra_commands() -> list[Any]:
    """Subcommands that live with their own feature (answering, serving, eval, bench)."""
    found = []
    for mod_name in ("assistant.answer.cli", "assistant.api.cli", "eval.cli", "assistant.llm.cli"):
        try:
            mod = __import__(mod_name, fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name and mod_name.startswith(exc.name):
                continue
            raise
        found.append(mod.register)
    return found


def main(argv: list[str] | None = None) -> int:
    from assistant.errors import AssistantError

    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        return int(args.func(args))
    except _UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except AssistantError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:  # `... | head`: the reader went away; not an error
        sys.stderr.close()
        return EXIT_OK
    except OSError as exc:
        print(
            f"error: {exc.strerror or exc}: {exc.filename or ''} — check the path", file=sys.stderr
        )
        return EXIT_ERROR
    except ValueError as exc:  # settings validation (pydantic) and similar
        first = str(exc).splitlines()
        msg = next((ln.strip() for ln in first if "KANSAI_" in ln or "Value error" in ln), first[0])
        print(f"error: invalid settings: {msg}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted; the previous index is still in service", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
