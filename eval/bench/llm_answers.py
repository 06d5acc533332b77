"""Our answers with the local LLM, the extractive answerer and a stock llama-index
``RetrieverQueryEngine``, side by side on the eval set, scored by the same eval.

    python -m eval.bench.llm_answers --split test --limit 30

Not in CI: it starts the packaged local model (``kansai-assistant llm-server``'s server,
xllamacpp) and takes minutes per ten questions on 2 cores. Rows:

- ``extractive`` — the default answerer (no model);
- ``llm`` — our pipeline with the local model writing from the selected evidence
  (evidence-first prompt, repair and guard, extractive fallback);
- ``llama-index`` — ``RetrieverQueryEngine.from_args`` with its default prompt (compact
  response mode) over the same retrieval (a llama-index retriever wrapping
  :meth:`AnswerEngine.retrieve`, top 5), the same model through llama-index's ``OpenAILike``.
  It writes no markers: each sentence is scored as citing every passage it was given.

First token = the first delta of the answer stream (ours: the first checked sentence, as the
API and the page receive it; llama-index: its first streamed token); answer = the whole
answer. Medians over all cases, and over the cases where the model was called.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.answer.engine import AnswerEngine
from assistant.answer.prompts import says_not_in_docs
from assistant.answer.text import split_sentences
from assistant.answer.types import AnswerPart, AnswerResult, Citation, Message, PartKind
from assistant.llm.chat_model import ChatMessages, ChatModel, OpenAIChatModel
from assistant.services import build_services
from assistant.settings import Settings
from eval import metrics as m
from eval.checker import ClaimChecker
from eval.runner import DEFAULT_DATASET, CaseResult, Runner, load_jsonl, select, summarize

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[2]
STOCK_TOP_K = 5
_QUOTED = re.compile(r"「[^」]*」|『[^』]*』|\([^)]*\)|（[^）]*）")
_STOCK_ABSTAIN = re.compile(
    r"(does not|doesn't|do not) (provide|contain|mention|include|specify)|no information|"
    r"not (provided|mentioned|specified)|記載(がありません|されていません)|情報はありません",
    re.IGNORECASE,
)


def in_english(text: str) -> bool:
    """An English answer: English words, and (once the Japanese it quotes in 「…」 or (…) is set
    aside) next to no hiragana — Japanese names (katakana, kanji) may stand in an English
    sentence, Japanese grammar (particles, endings: hiragana) may not."""
    bare = _QUOTED.sub("", text)
    letters = [c for c in bare if c.isalpha()]
    hiragana = sum(1 for c in letters if "\u3041" <= c <= "\u309f")
    words = re.findall(r"[A-Za-z]{2,}", bare)
    return len(words) >= 3 and hiragana <= 0.1 * len(letters)


# ---- timing wrappers ------------------------------------------------------------------------
@dataclass
class Timing:
    first_ms: float
    total_ms: float
    model_called: bool


class CountingModel:
    """A chat model that counts its calls (so a case knows whether the model wrote)."""

    def __init__(self, inner: ChatModel) -> None:
        self.inner = inner
        self.name = inner.name
        self.calls = 0

    def stream(self, messages: ChatMessages) -> Iterator[str]:
        self.calls += 1
        return self.inner.stream(messages)

    def complete(self, messages: ChatMessages) -> str:
        return "".join(self.stream(messages))


class TimedAnswers:
    """``AnswerEngine`` as the eval runner uses it, answering through ``stream`` so the time
    of the first delta is known."""

    def __init__(self, answers: AnswerEngine, model: CountingModel | None = None) -> None:
        self.answers = answers
        self.model = model
        self.backend = answers.backend
        self.timings: list[Timing] = []

    def answer(self, question: str, history: list[Message] | None, mode: str) -> AnswerResult:
        calls = self.model.calls if self.model else 0
        t0 = time.perf_counter()
        first = None
        result = None
        for ev in self.answers.stream(question, history, mode):
            if ev.kind == "delta" and first is None and ev.text.strip():
                first = time.perf_counter()
            if ev.kind == "final":
                result = ev.result
        end = time.perf_counter()
        assert result is not None
        called = bool(self.model and self.model.calls > calls)
        self.timings.append(Timing(((first or end) - t0) * 1000, (end - t0) * 1000, called))
        return result

    def retrieve(self, query: str, lang: str, k: int) -> Any:
        return self.answers.retrieve(query, lang, k)


class StockAnswers:
    """A stock llama-index ``RetrieverQueryEngine`` (default prompt) over our retrieval."""

    backend = "llama-index"

    def __init__(self, answers: AnswerEngine, base_url: str, model: str, max_tokens: int) -> None:
        from llama_index.core.query_engine import RetrieverQueryEngine
        from llama_index.llms.openai_like import OpenAILike

        self.answers = answers
        llm = OpenAILike(
            model=model,
            api_base=base_url,
            api_key="local",
            is_chat_model=True,
            context_window=4096,
            max_tokens=max_tokens,
            temperature=0.0,
            timeout=600.0,
            max_retries=0,
        )
        self.engine = RetrieverQueryEngine.from_args(
            retriever=_retriever(answers), llm=llm, streaming=True
        )
        self.timings: list[Timing] = []

    def answer(self, question: str, history: list[Message] | None, mode: str) -> AnswerResult:
        text = question
        if history:  # the stock engine has no conversation: the last turns go in front
            text = "\n".join(f"{h.role}: {h.content}" for h in history[-2:]) + "\n" + question
        t0 = time.perf_counter()
        resp = self.engine.query(text)
        first = None
        chunks = []
        for tok in resp.response_gen:  # type: ignore[union-attr]
            if first is None and tok.strip():
                first = time.perf_counter()
            chunks.append(tok)
        end = time.perf_counter()
        self.timings.append(Timing(((first or end) - t0) * 1000, (end - t0) * 1000, True))
        answer = "".join(chunks).strip()
        nodes = resp.source_nodes
        citations = [
            Citation(
                n=i,
                doc_id=str(nw.node.metadata.get("doc_id", "")),
                title=str(nw.node.metadata.get("title", "")),
                section=str(nw.node.metadata.get("section", "")),
                position={},
                text=nw.node.get_content(),
                score=float(nw.score or 0.0),
            )
            for i, nw in enumerate(nodes, start=1)
        ]
        abstained = not answer or bool(_STOCK_ABSTAIN.search(answer)) or says_not_in_docs(answer)
        every = [c.n for c in citations]
        parts = [AnswerPart(PartKind.claim, s, list(every)) for s in split_sentences(answer)]
        return AnswerResult(
            question=question,
            answer=answer,
            grounded=not abstained and bool(citations),
            citations=citations if not abstained else [],
            removed=[],
            backend=self.backend,
            mode=mode,
            timings_ms={"total": (end - t0) * 1000},
            parts=parts if not abstained else [],
        )

    def retrieve(self, query: str, lang: str, k: int) -> Any:
        return self.answers.retrieve(query, lang, k)


def _retriever(answers: AnswerEngine) -> Any:
    """A llama-index retriever over our hybrid retrieval (the same passages the engine gets)."""
    from llama_index.core.base.base_retriever import BaseRetriever
    from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

    from assistant.answer.text import detect_lang

    class EngineRetriever(BaseRetriever):
        def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
            q = query_bundle.query_str
            found = answers.retrieve(q, detect_lang(q), STOCK_TOP_K)
            return [
                NodeWithScore(
                    node=TextNode(
                        id_=p.id,
                        text=p.text,
                        metadata={"doc_id": p.doc_id, "title": p.title, "section": p.section},
                    ),
                    score=p.score,
                )
                for p in found
            ]

    return EngineRetriever()


# ---- scoring --------------------------------------------------------------------------------
@dataclass
class Row:
    name: str
    results: list[CaseResult]
    timings: list[Timing]
    summary: dict[str, Any] = field(default_factory=dict)


def row_numbers(row: Row) -> dict[str, Any]:
    s = summarize(row.results)
    en = [r for r in row.results if r.lang == "en" and r.grounded and r.answer.strip()]
    called = [t for t in row.timings if t.model_called]
    return {
        "cases": s["cases"],
        "key_facts": s["key_fact_recall"],
        "key_facts_all": s["key_facts_all"],
        "faithfulness": s["faithfulness"],
        "citation_precision": s["citation_precision"],
        "abstain_precision": s["abstain_precision"],
        "abstain_recall": s["abstain_recall"],
        "english_in_english": m.mean([float(in_english(r.answer)) for r in en]),
        "english_answered": len(en),
        "degraded": s["degraded"],
        "model_called": len(called),
        "first_token_p50_ms": m.percentile([t.first_ms for t in row.timings], 50),
        "answer_p50_ms": m.percentile([t.total_ms for t in row.timings], 50),
        "first_token_p50_ms_model": m.percentile([t.first_ms for t in called], 50),
        "answer_p50_ms_model": m.percentile([t.total_ms for t in called], 50),
    }


COLUMNS = [
    ("key facts", "key_facts", "{:.3f}"),
    ("faithful", "faithfulness", "{:.3f}"),
    ("cite prec", "citation_precision", "{:.3f}"),
    ("abst P", "abstain_precision", "{:.2f}"),
    ("abst R", "abstain_recall", "{:.2f}"),
    ("en→en", "english_in_english", "{:.2f}"),
    ("degraded", "degraded", "{}"),
    ("model", "model_called", "{}"),
    ("1st tok p50 s", "first_token_p50_ms", "{:.1f}"),
    ("answer p50 s", "answer_p50_ms", "{:.1f}"),
    ("1st tok p50 s (model)", "first_token_p50_ms_model", "{:.1f}"),
    ("answer p50 s (model)", "answer_p50_ms_model", "{:.1f}"),
]


def table(rows: dict[str, dict[str, Any]]) -> str:
    head = "| row | " + " | ".join(c for c, _, _ in COLUMNS) + " |"
    out = [head, "|" + "---|" * (len(COLUMNS) + 1)]
    for name, nums in rows.items():
        cells = []
        for _, key, fmt in COLUMNS:
            v = nums.get(key)
            if v is None:
                cells.append("–")
            elif key.endswith("_ms") or key.endswith("_ms_model"):
                cells.append(fmt.format(v / 1000))
            else:
                cells.append(fmt.format(v))
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(out)


# ---- the run --------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> dict[str, Any]:
    from assistant.llm.local_model import QWEN_CODER_1_5B
    from assistant.llm.server import LlamaServer, running
    from eval.bench.served import free_port

    settings = Settings(index_dir=args.index) if args.index else Settings()
    services = build_services(settings)
    engine = services.engine
    engine.ensure_index()
    services.answers.warm(background=False)
    checker = ClaimChecker(engine.tokenizer, engine.embedder)
    cases = select(load_jsonl(args.dataset), None, args.limit, args.split)
    log.info("%d cases (%s split)", len(cases), args.split or "all")
    rows: dict[str, Row] = {}

    def score(name: str, answers: Any) -> None:
        log.info("row %s: %d cases", name, len(cases))
        results = Runner(answers, checker, progress=_progress(name)).run(cases)  # type: ignore[arg-type]
        rows[name] = Row(name, results, answers.timings)

    score("extractive", TimedAnswers(services.answers))
    model_path = QWEN_CODER_1_5B.ensure(settings.local_llm_cache)
    server = LlamaServer(
        model=model_path,
        alias=QWEN_CODER_1_5B.name,
        port=free_port(),
        n_threads=args.threads or settings.local_llm_threads or 2,
    )
    work = args.out / "llm-answers-work"
    with running(server.command(), server.base_url, work / "llm-server.log", 300) as llm:
        chat = CountingModel(
            OpenAIChatModel(llm.base_url, llm.model_id, timeout=600.0, max_tokens=args.max_tokens)
        )
        ours = AnswerEngine(engine, chat_model=chat)
        if "llm" in args.rows:
            score("llm", TimedAnswers(ours, chat))
        if "llama-index" in args.rows:
            score("llama-index", StockAnswers(ours, llm.base_url, llm.model_id, args.max_tokens))
    numbers = {name: row_numbers(r) for name, r in rows.items()}
    return {
        "run": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "split": args.split or "all",
        "limit": args.limit,
        "cases": len(cases),
        "model": QWEN_CODER_1_5B.name,
        "threads": server.n_threads,
        "max_tokens": args.max_tokens,
        "rows": numbers,
        "per_case": {
            name: [
                {
                    "id": c.id,
                    "lang": c.lang,
                    "backend": c.backend,
                    "grounded": c.grounded,
                    "degraded": c.degraded,
                    "key_facts": c.key_fact_recall,
                    "faithfulness": c.faithfulness,
                    "first_ms": round(t.first_ms, 1),
                    "total_ms": round(t.total_ms, 1),
                    "answer": c.answer[:300],
                    "removed": c.removed[:4],
                }
                for c, t in zip(r.results, r.timings, strict=True)
            ]
            for name, r in rows.items()
        },
    }


def _progress(name: str) -> Any:
    def report(_stage: str, done: int, total: int) -> None:
        log.info("%s: %d/%d", name, done, total)

    return report


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.bench.llm_answers", description=__doc__)
    ap.add_argument("--split", choices=["test", "dev"], default="test")
    ap.add_argument("--limit", type=int, default=None, help="cases, spread over the types")
    ap.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    ap.add_argument("--index", type=Path, default=None, help="index folder (default: settings)")
    ap.add_argument("--threads", type=int, default=0, help="llama.cpp threads (default 2)")
    ap.add_argument("--max-tokens", type=int, default=256)
    ap.add_argument(
        "--rows", nargs="+", default=["llm", "llama-index"], choices=["llm", "llama-index"]
    )
    ap.add_argument("--out", type=Path, default=ROOT / "eval" / "results")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    from assistant.llm.server import extra_installed

    if not extra_installed():
        print("the local-llm extra is not installed: run `make local-llm` first", file=sys.stderr)
        return 1
    out = run(args)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"llm-answers-{out['split']}-{time.strftime('%Y%m%d-%H%M')}.json"
    path.write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"{out['cases']} cases, split {out['split']}, limit {out['limit']}; JSON: {path}")
    print(table(out["rows"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
