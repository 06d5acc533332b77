"""``kansai-assistant ask``: cited answers on the command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from assistant.errors import BadRequest


def register(sub: Any, with_index: Any) -> None:
    sp = with_index(sub.add_parser("ask", help="answer a question with cited passages"))
    sp.add_argument("question", nargs="?", help="the question (Japanese or English)")
    sp.add_argument("--mode", choices=["chat", "support", "draft"], default="chat")
    sp.add_argument(
        "--history", metavar="FILE", help='JSON list of {"role", "content"} turns before this one'
    )
    sp.add_argument(
        "--k", type=int, default=None, help="passages to retrieve (default: settings.top_k)"
    )
    sp.add_argument("--backend", choices=["extractive", "openai"], help="override KANSAI_GENERATOR")
    sp.add_argument(
        "--doc", action="append", metavar="DOC_ID", help="search only this document (repeatable)"
    )
    sp.add_argument("--json", action="store_true", help="print the answer JSON")
    sp.add_argument(
        "--batch",
        metavar="FILE.jsonl",
        help='one {"question", "history"?, "mode"?} per line ("-" = stdin)',
    )
    sp.set_defaults(func=cmd_ask)


def _history(path: str | None) -> list[dict[str, Any]]:
    if not path:
        return []
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadRequest(
            f"cannot read the history file {path}: {exc}", "give a JSON list of messages"
        ) from exc
    if not isinstance(data, list):
        raise BadRequest("the history file must hold a JSON list of {role, content}")
    return data


def cmd_ask(args: argparse.Namespace) -> int:
    from assistant.answer.engine import AnswerEngine, history_from
    from assistant.cli import _batch, _engine, _out

    answers = AnswerEngine(_engine(args))
    if args.batch:

        def one(item: dict[str, Any]) -> dict[str, Any]:
            res = answers.answer(
                item["question"],
                history_from(item.get("history")),
                item.get("mode", "chat"),
                args.k,
                args.doc,
            )
            return res.to_json()

        return _batch(args.batch, one)
    if not args.question:
        raise BadRequest(
            "ask needs a QUESTION (or --batch FILE.jsonl)",
            'e.g. kansai-assistant ask "数値目標は？"',
        )
    history = history_from(_history(args.history))
    if args.json:
        _out(answers.answer(args.question, history, args.mode, args.k, args.doc).to_json())
        return 0
    result = None
    for ev in answers.stream(args.question, history, args.mode, args.k, args.doc):
        if ev.kind == "delta":
            print(ev.text, end="", flush=True)
        else:
            result = ev.result
    assert result is not None
    print()
    if result.citations:
        print("\n出典 / Sources:" if result.mode != "draft" else "")
        for c in result.citations:
            pos = c.position
            print(
                f"  [{c.n}] {c.label or c.title} — {c.section or '-'} (lines {pos.get('line_start')}-{pos.get('line_end')})"
            )
            if c.quote:
                print(f"      「{c.quote}」")
    if result.removed:
        print(
            f"\n(the faithfulness guard removed {len(result.removed)} sentence(s):", file=sys.stderr
        )
        for r in result.removed:
            print(f"   - {r.sentence[:60]} … {r.reason})", file=sys.stderr)
    if result.degraded:
        print(
            f"\n(degraded: {result.degraded_reason}; answered by {result.backend})", file=sys.stderr
        )
    t = result.timings_ms
    print(f"({result.backend}, {t['total']:.0f} ms)", file=sys.stderr)
    return 0
