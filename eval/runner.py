"""Runs the eval cases through the real answer engine and scores every answer.

One :class:`CaseResult` per case (JSON-serialisable), then :func:`summarize` turns them into
the numbers of the report and the gate. The engine is used exactly as the adapters use it
(``AnswerEngine.answer``); retrieval is scored with a separate top-10 search of the query the
engine actually searched (follow-ups rewritten).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from assistant.answer.engine import AnswerEngine, history_from
from assistant.answer.types import AnswerResult
from assistant.services import Services
from eval import metrics as m
from eval.checker import ClaimChecker, LLMJudge

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATASET = ROOT / "eval" / "cases.jsonl"
DEFAULT_LABELLED = ROOT / "eval" / "labelled_claims.jsonl"
RETRIEVAL_K = 10
ANSWER_K = 5  # hit/recall are reported at the answer's own top_k (settings default)

Progress = Callable[[str, int, int], None]


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def select(
    cases: list[dict[str, Any]],
    types: Sequence[str] | None = None,
    limit: int | None = None,
    split: str | None = None,
) -> list[dict[str, Any]]:
    """Filter by split and type, then keep ``limit`` cases spread over the types (round-robin)."""
    if split:
        cases = [c for c in cases if c.get("split", "dev") == split]
    if types:
        cases = [c for c in cases if c["type"] in types]
    if not limit or limit >= len(cases):
        return cases
    by_type: dict[str, list[dict[str, Any]]] = {}
    for c in cases:
        by_type.setdefault(c["type"], []).append(c)
    out: list[dict[str, Any]] = []
    while len(out) < limit:
        for group in by_type.values():
            if group and len(out) < limit:
                out.append(group.pop(0))
    return out


@dataclass
class Claim:
    sentence: str
    cited: list[int]
    supported: bool
    reason: str
    judge: bool | None = None


@dataclass
class CaseResult:
    id: str
    type: str
    lang: str
    answerable: bool
    question: str
    backend: str
    answer: str
    grounded: bool
    degraded: bool
    latency_ms: float
    citations: list[dict[str, Any]]
    removed: list[dict[str, str]]
    claims: list[Claim] = field(default_factory=list)
    retrieval: dict[str, float] = field(default_factory=dict)
    faithfulness: float | None = None
    citation_sentences: int = 0
    citation_supported: int = 0
    citations_total: int = 0
    citations_precise: int = 0
    key_fact_recall: float | None = None
    error: str = ""
    split: str = "dev"
    expect: str = ""  # answer | abstain | partial | chitchat
    asks: str = ""
    mode: str = "chat"
    list_recall: float | None = None  # share of the list's items named (asks == list)
    forbidden_hits: list[str] = field(default_factory=list)
    forbidden_checked: bool = False  # the case names strings a correct answer must not contain
    not_covered_parts: int = 0  # parts of the answer that say a part is not covered
    parts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def abstained(self) -> bool:
        return not self.grounded

    @property
    def chitchat(self) -> bool:
        return self.expect == "chitchat"

    def score(self) -> float:
        """One number to sort the worst cases: mean of what applies (lower is worse)."""
        parts: list[float] = []
        if self.chitchat:
            return 1.0 if not self.citations else 0.0
        if self.forbidden_hits:
            parts.append(0.0)
        if self.list_recall is not None:
            parts.append(self.list_recall)
        if not self.answerable:
            parts.append(1.0 if self.abstained else 0.0)
        else:
            parts.append(0.0 if self.abstained else 1.0)
            for v in (self.key_fact_recall, self.faithfulness, self.retrieval.get("recall@5")):
                if v is not None:
                    parts.append(v)
        return sum(parts) / len(parts)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Runner:
    def __init__(
        self,
        answers: AnswerEngine,
        checker: ClaimChecker,
        judge: LLMJudge | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.answers = answers
        self.checker = checker
        self.judge = judge
        self.progress = progress

    def run(self, cases: list[dict[str, Any]]) -> list[CaseResult]:
        out = []
        for i, case in enumerate(cases, start=1):
            out.append(self.run_case(case))
            if self.progress:
                self.progress("eval", i, len(cases))
        return out

    def run_case(self, case: dict[str, Any]) -> CaseResult:
        t0 = time.perf_counter()
        res = self.answers.answer(
            case["question"], history_from(case.get("history")), case.get("mode", "chat")
        )
        latency = (time.perf_counter() - t0) * 1000
        r = CaseResult(
            id=case["id"],
            type=case["type"],
            lang=case.get("lang", "ja"),
            answerable=bool(case.get("answerable", True)),
            question=case["question"],
            backend=res.backend,
            answer=res.answer,
            grounded=res.grounded,
            degraded=res.degraded,
            latency_ms=latency,
            citations=[
                {"n": c.n, "section": c.section, "quote": c.quote, "text": c.text}
                for c in res.citations
            ],
            removed=[x.to_json() for x in res.removed],
            split=case.get("split", "dev"),
            expect=case.get("expect") or ("answer" if case.get("answerable", True) else "abstain"),
            asks=case.get("asks", ""),
            mode=case.get("mode", "chat"),
            parts=[p.to_json() for p in getattr(res, "parts", [])],
        )
        r.not_covered_parts = sum(1 for p in r.parts if p.get("kind") == "not_covered")
        if case.get("list_items"):
            r.list_recall = m.key_fact_recall(res.answer, case["list_items"]) or 0.0
            if not res.grounded:
                r.list_recall = 0.0
        r.forbidden_hits = m.forbidden_hits(res.answer, case.get("forbidden") or [])
        r.forbidden_checked = bool(case.get("forbidden"))
        if case.get("gold"):
            r.retrieval = self._retrieval(res.query or case["question"], res.lang, case["gold"])
        if res.grounded:
            self._score_answer(r, res)
        r.key_fact_recall = m.key_fact_recall(res.answer, case.get("key_facts") or [])
        if r.key_fact_recall is not None and res.grounded is False:
            r.key_fact_recall = 0.0
        return r

    def _retrieval(self, query: str, lang: str, gold: list[str]) -> dict[str, float]:
        passages = self.answers.retrieve(query, lang, RETRIEVAL_K)
        found = m.gold_found([p.text for p in passages], gold)
        return {
            "hit@1": m.hit_at_k(found, 1),
            "hit@5": m.hit_at_k(found, ANSWER_K),
            "recall@5": m.recall_at_k(found, len(gold), ANSWER_K),
            "recall@10": m.recall_at_k(found, len(gold), RETRIEVAL_K),
            "mrr": m.mrr(found, RETRIEVAL_K),
            "ndcg@10": m.ndcg_at_k(found, len(gold), RETRIEVAL_K),
        }

    def _score_answer(self, r: CaseResult, res: AnswerResult) -> None:
        texts = {c.n: f"{c.title}\n{c.section}\n{c.text}" for c in res.citations}
        cache: dict[tuple[str, tuple[int, ...]], bool] = {}

        typed = [p for p in getattr(res, "parts", None) or [] if p.is_claim]
        spans = {p.text: p.spans for p in typed if p.spans}

        def supports(sentence: str, refs: Sequence[int]) -> bool:
            key = (sentence, tuple(sorted(refs)))
            if key not in cache:
                cited = [texts[n] for n in key[1] if n in texts]
                if sentence in spans and cited:
                    cache[key] = self.checker.check_spans(
                        sentence, spans[sentence], cited
                    ).supported
                else:
                    cache[key] = self.checker.check(sentence, cited).supported
            return cache[key]

        # a typed answer says which parts are claims; only an untyped one is split by wording
        has_parts = bool(getattr(res, "parts", None))
        claims = (
            [(p.text, list(p.citations)) for p in typed]
            if has_parts
            else self.checker.claims(res.answer)
        )
        for sentence, cited in claims:
            refs = [n for n in dict.fromkeys(cited) if n in texts]
            cited_texts = [texts[n] for n in refs]
            v = (
                self.checker.check_spans(sentence, spans[sentence], cited_texts)
                if sentence in spans and cited_texts
                else self.checker.check(sentence, cited_texts)
            )
            cache[(sentence, tuple(sorted(refs)))] = v.supported
            c = Claim(sentence, cited, v.supported, v.reason)
            if self.judge is not None and refs:
                c.judge = self.judge.check(sentence, [texts[n] for n in refs])
            r.claims.append(c)
        if claims:
            r.faithfulness = sum(c.supported for c in r.claims) / len(r.claims)
        cs = m.alce_citations(claims, supports)
        r.citation_sentences, r.citation_supported = cs.sentences, cs.supported
        r.citations_total, r.citations_precise = cs.citations, cs.precise


# ---- summary -------------------------------------------------------------------------------
RETRIEVAL_KEYS = ("hit@1", "hit@5", "recall@5", "recall@10", "mrr", "ndcg@10")


def summarize(results: Sequence[CaseResult]) -> dict[str, Any]:
    answered = [r for r in results if r.grounded]
    with_claims = [r for r in answered if r.faithfulness is not None]
    judged = [c for r in results for c in r.claims if c.judge is not None]
    sent = sum(r.citation_sentences for r in results)
    cites = sum(r.citations_total for r in results)
    chat = [r for r in results if r.chitchat]
    results = [r for r in results if not r.chitchat]  # neither answerable nor to abstain on
    ab = m.abstention([(r.answerable, r.abstained) for r in results])
    lists = [r.list_recall for r in results if r.list_recall is not None]
    forbidden = [r for r in results if r.forbidden_checked]
    asker = [r for r in results if r.answerable and r.type in ("self_intro", "draft")]
    partial = [r for r in results if r.expect == "partial"]
    lat = [r.latency_ms for r in results]
    out: dict[str, Any] = {"cases": len(results) + len(chat)}
    for key in RETRIEVAL_KEYS:
        out[key] = m.mean([r.retrieval.get(key) for r in results if r.retrieval])
    out.update(
        {
            "faithfulness": m.mean([r.faithfulness for r in with_claims]),
            "claims": sum(len(r.claims) for r in results),
            "citation_recall": sum(r.citation_supported for r in results) / sent if sent else None,
            "citation_precision": sum(r.citations_precise for r in results) / cites
            if cites
            else None,
            "key_fact_recall": m.mean([r.key_fact_recall for r in results if r.answerable]),
            "key_facts_all": m.mean(
                [
                    float(r.key_fact_recall == 1.0)
                    for r in results
                    if r.answerable and r.key_fact_recall is not None
                ]
            ),
            "abstain_precision": ab.precision,
            "abstain_recall": ab.recall,
            "abstain_f1": ab.f1,
            "wrong_abstention": ab.wrong_rate,
            "list_complete": m.mean([float(v == 1.0) for v in lists]),
            "list_item_recall": m.mean(lists),
            "chitchat_no_citations": m.mean([float(not r.citations) for r in chat]),
            "forbidden_free": m.mean([float(not r.forbidden_hits) for r in forbidden]),
            "asker_wrong_abstention": m.mean([float(r.abstained) for r in asker]),
            "partial_answered": m.mean(
                [float(not r.abstained and r.not_covered_parts > 0) for r in partial]
            ),
            "guard_changed": sum(1 for r in results if r.removed),
            "degraded": sum(1 for r in results if r.degraded),
            "latency_p50_ms": m.percentile(lat, 50),
            "latency_p95_ms": m.percentile(lat, 95),
        }
    )
    if judged:
        out["judge_faithfulness"] = sum(bool(c.judge) for c in judged) / len(judged)
        out["judge_agreement"] = sum(c.judge == c.supported for c in judged) / len(judged)
    return out


def summarize_all(results: Sequence[CaseResult]) -> dict[str, Any]:
    types = sorted({r.type for r in results})
    splits = sorted({r.split for r in results})
    return {
        "overall": summarize(results),
        "by_split": {s: summarize([r for r in results if r.split == s]) for s in splits},
        "by_type": {t: summarize([r for r in results if r.type == t]) for t in types},
    }


def checker_agreement(checker: ClaimChecker, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """How the offline checker agrees with the hand labels ("unsupported" is the positive)."""
    tp = fp = fn = tn = 0
    mistakes = []
    for row in rows:
        got = checker.check(row["sentence"], [row["passage"]]).supported
        want = bool(row["supported"])
        if not got and not want:
            tp += 1
        elif not got and want:
            fp += 1
        elif got and not want:
            fn += 1
        else:
            tn += 1
        if got != want:
            mistakes.append({"sentence": row["sentence"], "label": want, "note": row.get("note")})
    n = len(rows)
    return {
        "n": n,
        "accuracy": (tp + tn) / n if n else None,
        "precision_unsupported": tp / (tp + fp) if tp + fp else None,
        "recall_unsupported": tp / (tp + fn) if tp + fn else None,
        "mistakes": mistakes,
    }


def run_eval(
    services: Services,
    dataset: Path = DEFAULT_DATASET,
    types: Sequence[str] | None = None,
    limit: int | None = None,
    judge: LLMJudge | None = None,
    progress: Progress | None = None,
    labelled: Path = DEFAULT_LABELLED,
    split: str | None = None,
) -> tuple[dict[str, Any], list[CaseResult]]:
    """Build the index if needed, run the cases, return (summary, per-case results)."""
    engine = services.engine
    engine.ensure_index(progress)
    services.answers.warm()
    checker = ClaimChecker(engine.tokenizer, engine.embedder)
    cases = select(load_jsonl(dataset), types, limit, split)
    results = Runner(services.answers, checker, judge, progress).run(cases)
    summary: dict[str, Any] = {
        "run": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "backend": services.answers.backend,
        "dataset": str(dataset.relative_to(ROOT) if dataset.is_relative_to(ROOT) else dataset),
        "types": list(types or []),
        "split": split or "all",
        "limit": limit,
        **summarize_all(results),
        "checker": checker_agreement(checker, load_jsonl(labelled)),
    }
    return summary, results
