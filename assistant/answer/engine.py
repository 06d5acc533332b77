"""The answer engine: follow-up → retrieve → abstain? → generate → guard → cited answer.

Stateless: the caller passes the history. ``stream`` yields text deltas (already checked by
the guard, sentence by sentence) and then one final :class:`AnswerResult`; ``answer`` is the
same without the deltas. The CLI, the HTTP API and the web page all call this.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from assistant.answer import followup
from assistant.answer.abstain import Abstainer, Verdict
from assistant.answer.generators import (
    LEAD_IN,
    ExtractiveGenerator,
    GenerationRequest,
    Generator,
    LLMGenerator,
)
from assistant.answer.guard import Guard, GuardSession
from assistant.answer.prompts import rewrite_messages, says_not_in_docs
from assistant.answer.support import SupportFinder, looks_like_support_request
from assistant.answer.text import detect_lang, focus, split_answer
from assistant.answer.types import AnswerResult, Citation, Message, Mode, Removed
from assistant.engine import Engine
from assistant.errors import BadRequest, UpstreamModelError
from assistant.llm.chat_model import ChatModel, OpenAIChatModel
from assistant.retrieval.searcher import Passage
from assistant.settings import GeneratorKind
from assistant.text.bilingual import lexical_query

log = logging.getLogger(__name__)

TOPIC = {
    "person": ("人物・担当者", "people or staff"),
    "deadline": ("締切・期限", "deadlines"),
    "subsidy_rate": ("補助率・補助金額", "subsidy rates or amounts"),
    "contact": ("連絡先", "contact details"),
    "application": ("申請・応募の方法", "how to apply"),
    "count": ("件数・人数", "counts or numbers of participants"),
    "organization": ("具体的な大学・企業・事業者の名前", "the names of specific organisations"),
    "location": ("場所", "places or locations"),
    "cost": ("費用・金額", "costs"),
    "by_when": ("期限・時期", "dates or deadlines"),
    "schedule": ("日程・時期", "dates or schedules"),
    "current_value": (
        "現在の数値（資料にあるのは目標値です）",
        "current figures (they give targets)",
    ),
}


KATAKANA_WORD = re.compile(r"[ァ-ヴー]{3,}")


def edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        cur = [i]
        for j, cb in enumerate(b, start=1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


@dataclass
class Event:
    kind: str  # "delta" | "final"
    text: str = ""
    result: AnswerResult | None = None


class AnswerEngine:
    def __init__(self, engine: Engine, chat_model: ChatModel | None = None) -> None:
        self.engine = engine
        self.settings = engine.settings
        s = self.settings
        self.extractive = ExtractiveGenerator(engine.tokenizer, engine.embedder)
        if chat_model is None and s.generator is GeneratorKind.openai:
            chat_model = OpenAIChatModel(
                base_url=s.llm_base_url,
                model=s.llm_model,
                api_key=s.llm_api_key.get_secret_value() if s.llm_api_key else "",
                timeout=s.llm_timeout_s,
                max_tokens=s.llm_max_tokens,
                temperature=s.llm_temperature,
            )
        self.chat_model = chat_model
        self.llm: Generator | None = LLMGenerator(chat_model) if chat_model else None
        self.guard = Guard(engine.tokenizer, engine.embedder)
        self.abstainer = Abstainer(
            engine.tokenizer, min_dense=float(getattr(engine.embedder, "min_relevance", 0.0))
        )
        self.support = SupportFinder(
            s.corpus_dir / "support-catalogue.json", engine.tokenizer, engine.embedder
        )
        self._stats: tuple[str, dict[str, float], set[str]] | None = None
        self._stats_lock = threading.Lock()
        self._kata: tuple[str, set[str]] | None = None

    @property
    def backend(self) -> str:
        return self.llm.name if self.llm else self.extractive.name

    # ---- public -----------------------------------------------------------------------------
    def answer(
        self,
        question: str,
        history: list[Message] | None = None,
        mode: str = "chat",
        top_k: int | None = None,
        documents: list[str] | None = None,
    ) -> AnswerResult:
        for ev in self.stream(question, history, mode, top_k, documents):
            if ev.kind == "final" and ev.result is not None:
                return ev.result
        raise RuntimeError("the answer stream ended without a result")  # pragma: no cover

    def stream(
        self,
        question: str,
        history: list[Message] | None = None,
        mode: str = "chat",
        top_k: int | None = None,
        documents: list[str] | None = None,
    ) -> Iterator[Event]:
        t0 = time.perf_counter()
        question, m, history = self._validate(question, mode, history)
        if m is Mode.chat and not history and looks_like_support_request(question):
            m = Mode.support  # 「当社が使える支援は？」: the support finder answers (mode says so)
        lang = detect_lang(question)
        query = self._spelling(self._query(focus(question), history))
        qvec = self.engine.embedder.embed_query(query)
        lexical = lexical_query(query, lang)
        passages = self.retrieve(query, lang, top_k or self.settings.top_k, qvec, documents)
        idf, vocab = self._corpus_stats()
        t_retr = time.perf_counter()
        res = AnswerResult(
            question=question,
            answer="",
            grounded=True,
            citations=[],
            removed=[],
            backend=self.backend,
            mode=m.value,
            timings_ms={},
            lang=lang,
            query=query,
        )
        req = GenerationRequest(
            question, query, lang, m, passages, history, qvec, idf, lexical_query=lexical
        )
        if m is Mode.support:
            yield from self._support(req, res)
        else:
            verdict = (
                self.abstainer.judge(focus(question), passages, vocab)
                if passages
                else Verdict(False, "empty")
            )
            if verdict.grounded and self.abstainer.unknown_terms(query, vocab):
                verdict = Verdict(
                    False, "unknown", ", ".join(self.abstainer.unknown_terms(query, vocab))
                )
            if not verdict.grounded:
                yield from self._abstain(req, res, verdict)
            else:
                yield from self._generate(req, res)
        t_end = time.perf_counter()
        res.timings_ms = {
            "retrieve": (t_retr - t0) * 1000,
            "generate": (t_end - t_retr) * 1000,
            "total": (t_end - t0) * 1000,
        }
        yield Event("final", result=res)

    # ---- steps ------------------------------------------------------------------------------
    def retrieve(
        self,
        query: str,
        lang: str,
        k: int,
        query_vector: np.ndarray | None = None,
        documents: list[str] | None = None,
    ) -> list[Passage]:
        """The passages for a (rewritten) question, as the answers use them."""
        if query_vector is None:
            query_vector = self.engine.embedder.embed_query(query)
        return self.engine.searcher.search(
            lexical_query(query, lang), k=k, query_embedding=query_vector, documents=documents
        )

    def _validate(
        self, question: str, mode: str, history: list[Message] | None
    ) -> tuple[str, Mode, list[Message]]:
        if not isinstance(question, str) or not question.strip():
            raise BadRequest("the question is empty", "type a question")
        question = question.strip()
        if len(question) > self.settings.max_question_chars:
            raise BadRequest(
                f"the question is too long ({len(question)} characters; the limit is {self.settings.max_question_chars})",
                "shorten it",
            )
        try:
            m = Mode(mode)
        except ValueError as exc:
            raise BadRequest(f"unknown mode '{mode}'", "use chat, support or draft") from exc
        history = list(history or [])
        if len(history) > self.settings.max_messages:
            history = history[-self.settings.max_messages :]
        return question, m, history

    def _query(self, question: str, history: list[Message]) -> str:
        if not history or not followup.needs_context(question):
            return question
        if self.chat_model is not None:
            try:
                rewritten = self.chat_model.complete(rewrite_messages(question, history)).strip()
                if rewritten and len(rewritten) < 300 and "\n" not in rewritten:
                    return rewritten
            except UpstreamModelError as exc:
                log.warning(
                    "follow-up rewrite failed, using the deterministic one: %s", exc.message
                )
        return followup.rewrite(question, history)

    def _spelling(self, query: str) -> str:
        """Add the corpus's own spelling of a near-miss katakana word (リスキリング → リスクリング,
        ディープテック → ディーブテック): the vision has typos, and users spell correctly."""
        words = self._katakana_words()
        extra = []
        for w in set(KATAKANA_WORD.findall(query)):
            if len(w) < 5 or any(w in k for k in words):
                continue
            best = min(
                (k for k in words if abs(len(k) - len(w)) <= 1),
                key=lambda k: edit_distance(w, k),
                default="",
            )
            if best and edit_distance(w, best) <= (1 if len(w) < 7 else 2):
                extra.append(best)
        return f"{query} {' '.join(extra)}" if extra else query

    def _katakana_words(self) -> set[str]:
        idx = self.engine.searcher.index()
        cached = self._kata
        if cached is None or cached[0] != idx.marker:
            words = {w for r in idx.records.values() for w in KATAKANA_WORD.findall(r["text"])}
            self._kata = cached = (idx.marker, words)
        return cached[1]

    def _corpus_stats(self) -> tuple[dict[str, float], set[str]]:
        idx = self.engine.searcher.index()
        stats = self._stats
        if stats is not None and stats[0] == idx.marker:
            return stats[1], stats[2]
        with self._stats_lock:
            df: dict[str, int] = {}
            for rec in idx.records.values():
                for t in set(rec.get("tokens", [])):
                    df[t] = df.get(t, 0) + 1
            n = max(1, len(idx.records))
            idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
            self._stats = (idx.marker, idf, set(df))
            return idf, set(df)

    def warm(self, max_chunks: int = 2000, background: bool = True) -> None:
        """Load the index now; embed its sentences ahead of the first questions.

        The sentence vectors are computed in a background thread by default, so a service
        answers at once (the first answers compute the few vectors they need themselves).
        """
        self._corpus_stats()
        idx = self.engine.searcher.index()
        if len(idx.records) > max_chunks:
            return
        texts = [r["text"] for r in idx.records.values()]
        if background:
            threading.Thread(
                target=self.extractive.warm, args=(texts,), daemon=True, name="warm"
            ).start()
        else:
            self.extractive.warm(texts)

    def _generate(self, req: GenerationRequest, res: AnswerResult) -> Iterator[Event]:
        gen = self.llm or self.extractive
        if gen is not self.extractive:
            req.passages = req.passages[: self.settings.llm_passages]
        pieces: list[str] = []
        head, tail = self._frame(req, gen)
        if head:
            pieces.append(head)
            yield Event("delta", head)
        session = self.guard.session(req.passages)
        emitted_claims = 0
        try:
            for text in self._guarded(
                gen.stream(req), session, raw_check=gen is not self.extractive
            ):
                if text is None:  # the model said "not in the documents"
                    yield from self._abstain(
                        req, res, Verdict(False, "llm", "the model found no answer"), pieces
                    )
                    return
                pieces.append(text)
                yield Event("delta", text)
            emitted_claims = session.kept_claims
        except UpstreamModelError as exc:
            if not self.settings.fallback_to_extractive:
                raise
            res.degraded = True
            res.degraded_reason = exc.message
            if session.kept_claims:
                log.warning("LLM stream interrupted: %s", exc.message)
                emitted_claims = session.kept_claims
            else:
                log.warning("LLM failed, falling back to extractive: %s", exc.message)
                res.backend = self.extractive.name
                yield from self._fallback(req, res, pieces)
                return
        if emitted_claims == 0 and gen is not self.extractive:
            res.degraded = True
            res.degraded_reason = (
                "the faithfulness guard removed every sentence of the model's answer"
            )
            res.removed.extend(session.removed)
            res.backend = self.extractive.name
            yield from self._fallback(req, res, pieces, keep_removed=True)
            return
        if emitted_claims == 0:
            yield from self._abstain(
                req, res, Verdict(False, "nothing", "no sentence answers it"), pieces
            )
            return
        res.citations = session.citations()
        res.removed.extend(session.removed)
        if tail or req.mode is Mode.draft:
            tail = tail + self._sources(res.citations, req.lang) if req.mode is Mode.draft else tail
            pieces.append(tail)
            yield Event("delta", tail)
        res.answer = "".join(pieces).strip()

    def _fallback(
        self,
        req: GenerationRequest,
        res: AnswerResult,
        pieces: list[str],
        keep_removed: bool = False,
    ) -> Iterator[Event]:
        session = self.guard.session(req.passages)
        if not pieces:
            head, _ = self._frame(req, self.extractive)
            if head:
                pieces.append(head)
                yield Event("delta", head)
        else:
            pieces.append("\n")
        for text in self._guarded(self.extractive.stream(req), session, raw_check=False):
            if text:
                pieces.append(text)
                yield Event("delta", text)
        res.citations = session.citations()
        if not keep_removed:
            res.removed.extend(session.removed)
        if req.mode is Mode.draft:
            _, tail = self._frame(req, self.extractive)
            tail += self._sources(res.citations, req.lang)
            pieces.append(tail)
            yield Event("delta", tail)
        res.answer = "".join(pieces).strip()
        if not res.citations:
            res.grounded = False

    def _guarded(
        self, deltas: Iterator[str], session: GuardSession, raw_check: bool
    ) -> Iterator[str | None]:
        """Split a stream into answer units, check each, yield what may be shown."""
        buf = ""
        raw = ""
        for d in deltas:
            buf += d
            raw += d
            if (
                raw_check
                and len(raw) < 200
                and says_not_in_docs(raw)
                and ("。" in raw or "." in raw)
            ):
                yield None
                return
            units = split_answer(buf)
            if len(units) <= 1:
                continue
            done, buf = units[:-1], units[-1]
            if not buf.strip() and buf != "\n":
                continue
            for u in done:
                out = session.feed(u)
                if out:
                    yield out
        if raw_check and says_not_in_docs(raw):
            yield None
            return
        for u in split_answer(buf):
            out = session.feed(u)
            if out:
                yield out

    def _frame(self, req: GenerationRequest, gen: Any) -> tuple[str, str]:
        """Template text around the generated part (not generated, so not guarded)."""
        extractive = gen is self.extractive
        if req.mode is Mode.draft:
            if not extractive:
                return "", "\n"
            title = req.passages[0].title if req.passages else "資料"
            head = (
                "お問い合わせいただき、誠にありがとうございます。\n"
                f"お問い合わせの件につきまして、「{title}」には次のとおり記載されております。\n"
            )
            tail = "\nご不明な点がございましたら、お気軽にお問い合わせください。\n今後ともよろしくお願い申し上げます。\n"
            return head, tail
        if not extractive:
            return "", ""
        titles = {p.title for p in req.passages}
        if req.lang == "ja" and len(titles) == 1:
            return f"「{next(iter(titles))}」には、次の記載があります。\n", ""
        return LEAD_IN[req.lang] + "\n", ""

    @staticmethod
    def _sources(citations: list[Citation], lang: str) -> str:
        if not citations:
            return ""
        lines = ["", "【出典】" if lang == "ja" else "Sources:"]
        for c in citations:
            pos = c.position
            where = (
                f"{pos.get('line_start')}–{pos.get('line_end')}行"
                if lang == "ja"
                else f"lines {pos.get('line_start')}-{pos.get('line_end')}"
            )
            lines.append(f"[{c.n}] {c.title} — {c.section or '-'}（{where}）")
        return "\n".join(lines) + "\n"

    def _abstain(
        self,
        req: GenerationRequest,
        res: AnswerResult,
        verdict: Verdict,
        pieces: list[str] | None = None,
    ) -> Iterator[Event]:
        res.grounded = False
        res.citations = []
        nearest = req.passages[:3]
        res.nearest = [p.public() for p in nearest]
        lang = req.lang
        topic = ""
        if verdict.reason.startswith("intent:"):
            topic = TOPIC.get(verdict.detail, ("", ""))[0 if lang == "ja" else 1]
        elif verdict.reason.startswith("unknown"):
            topic = f"「{verdict.detail}」" if lang == "ja" else f"'{verdict.detail}'"
        if lang == "ja":
            about = f"{topic}について" if topic else "ご質問の内容について"
            if req.mode is Mode.draft:
                body = (
                    "お問い合わせいただき、誠にありがとうございます。\n"
                    f"お問い合わせの{about}は、関西広域産業ビジョンには記載がございません。"
                    "担当部署に確認のうえ、改めてご連絡いたします。\n"
                    "今後ともよろしくお願い申し上げます。\n"
                )
            else:
                body = f"申し訳ありません。{about}は、資料には記載されていません。\n"
            near = (
                "\n近い内容の箇所:\n" + "\n".join(f"・{p.section or p.title}" for p in nearest)
                if nearest
                else ""
            )
        else:
            about = f"about {topic}" if topic else "on this question"
            body = f"Sorry — the documents do not say anything {about}.\n"
            near = (
                "\nNearest sections:\n" + "\n".join(f"- {p.section or p.title}" for p in nearest)
                if nearest
                else ""
            )
        text = body + near
        res.answer = text.strip()
        yield Event("delta", text)

    def _support(self, req: GenerationRequest, res: AnswerResult) -> Iterator[Event]:
        matches = self.support.find(
            req.query, k=max(3, min(6, (req.passages and len(req.passages)) or 5))
        )
        sources: list[Passage] = []
        lines: list[tuple[str, str]] = []
        idx = self.engine.searcher.index()
        for m in matches:
            quote = str(m.entry.get("quote", ""))
            rec = next((r for r in idx.records.values() if quote and quote in r["text"]), None)
            if rec is None:
                continue
            p = next((s for s in sources if s.id == rec["id"]), None)
            if p is None:
                p = Passage.from_record(rec, round(m.score, 4))
                sources.append(p)
            n = sources.index(p) + 1
            kind = str(m.entry.get("kind", ""))
            if req.lang == "ja":
                why = (
                    f"〔{kind}。{m.entry.get('why_ja', '')}"
                    + (f" 該当: {'・'.join(m.reasons)}" if m.reasons else "")
                    + "〕"
                )
            else:
                why = (
                    "〔"
                    + (f"matches: {', '.join(m.reasons)}" if m.reasons else "related")
                    + f"; {kind}〕"
                )
            lines.append((f"{quote}[{n}]", why))
        if not lines:
            yield from self._abstain(req, res, Verdict(False, "support", "no matching initiative"))
            return
        lead = (
            "ご相談の内容に関係しそうな取組み・事業は次のとおりです（関西広域産業ビジョンより）。\n"
            if req.lang == "ja"
            else "These initiatives and programmes of the Kansai industrial vision may fit (quoted in Japanese):\n"
        )
        req.passages = sources
        session = self.guard.session(sources)
        body = ""
        for claim, why in lines:  # the quote is checked; the annotation is our matching reason
            kept = session.feed(claim)
            if kept:
                body += f"・{kept}{why}\n"
        note = (
            "\n※ 取組アイデアはビジョンに掲げられた方向性で、申請できる制度とは限りません。詳細は担当部署にご確認ください。"
            if req.lang == "ja"
            else "\nNote: 取組アイデア are directions set out in the vision, not necessarily programmes you can apply to."
        )
        res.citations = session.citations()
        res.removed = session.removed
        res.answer = (lead + body + "\n" + note).strip()
        if not res.citations:
            res.grounded = False
        yield Event("delta", res.answer)


def history_from(raw: list[dict[str, Any]] | None) -> list[Message]:
    out = []
    for m in raw or []:
        if not isinstance(m, dict) or not isinstance(m.get("content"), str):
            raise BadRequest('each history item must be {"role": ..., "content": ...}')
        role = m.get("role", "user")
        if role not in ("user", "assistant", "system"):
            raise BadRequest(f"unknown role '{role}'", "use user, assistant or system")
        out.append(Message(role=role, content=m["content"]))
    return out


def removed_json(items: list[Removed]) -> list[dict[str, str]]:
    return [r.to_json() for r in items]
