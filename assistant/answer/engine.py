"""The answer pipeline: understand → retrieve → judge → generate → guard → present.

Stateless: the caller passes the history. ``stream`` yields text deltas (already checked by
the guard) and then one final :class:`AnswerResult`; ``answer`` is the same without the deltas.
The CLI, the HTTP API and the web page all call this; each step lives in its own module:
:mod:`understand` (what is asked, by whom), :mod:`evidence` (lines and outline items),
:mod:`judge` (covered or not, per part), :mod:`compose` / :mod:`llm_answer` / :mod:`support`
(generators), :mod:`guard`, :mod:`present` (every sentence of our own).
"""

from __future__ import annotations

import itertools
import logging
import math
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assistant.answer import compose
from assistant.answer.compose import Block, Quoted
from assistant.answer.evidence import Evidence, EvidenceFinder
from assistant.answer.guard import Guard, GuardSession
from assistant.answer.judge import Coverage, Judge, cited_articles
from assistant.answer.llm_answer import LLMAnswerer, NotInDocuments
from assistant.answer.outline import Outline
from assistant.answer.present import Presenter, presenter
from assistant.answer.support import SupportFinder
from assistant.answer.text import of_article
from assistant.answer.types import AnswerPart, AnswerResult, Message, Mode, PartKind, Removed
from assistant.answer.understand import Asks, Part, Understander, Understanding, _years
from assistant.engine import Engine
from assistant.errors import BadRequest, UpstreamModelError
from assistant.llm.chat_model import ChatModel
from assistant.llm.factory import chat_model_from_settings
from assistant.retrieval.searcher import Passage
from assistant.text.bilingual import default_glossary, lexical_query
from assistant.text.kana import modernize_kana

log = logging.getLogger(__name__)

KATAKANA_WORD = re.compile(r"[ァ-ヴー]{3,}")
# a later part is answered from the document of the part before it when that document names its
# subject well enough (within 0.4 of what the whole index names)
CONTINUED_SLACK = 0.4


_ASKS_TRANSITIONAL = re.compile(
    r"附則|経過措置|経過規定|施行|改正前|旧法|transitional|supplementary|enforcement", re.I
)


@dataclass
class Event:
    kind: str  # "delta" | "final"
    text: str = ""
    result: AnswerResult | None = None


@dataclass
class CorpusStats:
    """What the rules need to know about the index, computed once per generation."""

    marker: str
    idf: dict[str, float]
    vocabulary: set[str]
    years: set[str]
    outline: Outline
    katakana: set[str] = field(default_factory=set)
    doc_years: dict[str, set[str]] = field(default_factory=dict)
    doc_titles: dict[str, str] = field(default_factory=dict)  # title (NFKC) → doc id
    text: str = ""  # chunks, outline and titles (NFKC, modern kana): what the documents write

    def writes(self, term: str) -> bool:
        """Whether any document writes ``term`` as it stands (「中堅企業」: none does)."""
        return modernize_kana(unicodedata.normalize("NFKC", term)) in self.text

    def has_article(self, doc_ids: list[str], label: str) -> bool:
        """Whether one of the documents has the article (「第40条」 of 中小企業基本法: no)."""
        return any(
            of_article(lb, [label]) for d in doc_ids for lb in self.outline.labels.get(d, ())
        )

    def named_documents(self, text: str) -> list[str]:
        """The documents a question names by their title (「中小企業基本法では…」)."""
        return [d for d, _ in self.named(text)]

    def scope_phrases(self, text: str) -> list[str]:
        """The words of the question that only name the document (「関西文化学術研究都市の」)."""
        return [w for _, w in self.named(text)]

    def named(self, text: str) -> list[tuple[str, str]]:
        """(doc id, what the question wrote of its title), longest titles first: the whole title
        (4+ characters), or its first 6+ characters (「関西文化学術研究都市」 of 関西文化学術研究
        都市建設促進法, 「外国人観光旅客の来訪」 of 外国人観光旅客の来訪の促進等による…法律); a title
        inside a longer named one does not count again."""
        t = unicodedata.normalize("NFKC", text)
        if not re.search(r"[\u3040-\u30ff\u3400-\u9fff]", t):
            return self._named_en(t)
        out: list[tuple[str, str]] = []
        seen: list[str] = []
        for title in sorted(self.doc_titles, key=len, reverse=True):
            written = title if len(title) >= 4 and title in t else ""
            if not written:
                k = len(title) - 1
                while k >= 6 and title[:k] not in t:
                    k -= 1
                written = title[:k] if k >= 6 else ""
            if not written:
                # a katakana word of this title only: 「このビジョンでは」 is the vision
                own = [w for w in KATAKANA_WORD.findall(title) if w in t and self._one_title(w)]
                written = own[0] if own else ""
            if written and not any(written in s for s in seen):
                seen.append(written)
                out.append((self.doc_titles[title], written))
        return out

    def _named_en(self, text: str) -> list[tuple[str, str]]:
        """ "Under this vision", "in the vision": an English word whose Japanese is a katakana
        word of one title only (vision → ビジョン) names that document."""
        out: list[tuple[str, str]] = []
        pairs = default_glossary().pairs(text)
        # "the SME Support Act": its words' Japanese, joined, is a title (中小企業+支援+法); up
        # to four words in any order ("the Basic Act on the Promotion of Tourism Nation": 観光立国
        # +推進+基本法, the English order reversed)
        for i in range(len(pairs)):
            for j in range(i + 2, min(len(pairs), i + 6) + 1):
                window = pairs[i:j]
                orders = itertools.permutations(window) if len(window) <= 4 else [window]
                for order in orders:
                    for combo in itertools.product(*(alts[:3] for _, alts in order)):
                        doc = self.doc_titles.get("".join(combo))
                        if doc is not None and all(d != doc for d, _ in out):
                            out.append((doc, " ".join(en for en, _ in window)))
        for en, alts in pairs:
            if not re.search(rf"\b(?:this|the|that)\s+{re.escape(en)}\b", text.lower()):
                continue  # "a vision for SMEs" names no document
            for ja in alts:
                if KATAKANA_WORD.fullmatch(ja) and self._one_title(ja):
                    title = next(t for t in self.doc_titles if ja in t)
                    out.append((self.doc_titles[title], en))
                    break
        return out

    def _one_title(self, word: str) -> bool:
        return sum(1 for t in self.doc_titles if word in t) == 1

    def years_of(self, passages: list[Passage]) -> set[str]:
        """The years the documents of these passages speak of: a statute amended in 令和6年
        does not give the vision a 令和6年度 budget."""
        docs = {p.doc_id for p in passages}
        if not docs or not self.doc_years:
            return self.years
        return set().union(*(self.doc_years.get(d, set()) for d in docs))


class AnswerEngine:
    def __init__(self, engine: Engine, chat_model: ChatModel | None = None) -> None:
        self.engine = engine
        self.settings = s = engine.settings
        tok, emb = engine.tokenizer, engine.embedder
        if chat_model is None:  # one factory for chat models, like the one for embedders
            chat_model = chat_model_from_settings(s)
        self.chat_model = chat_model
        self.understander = Understander(tok)
        self.finder = EvidenceFinder(tok, emb)
        self.finder.records = lambda: self.engine.searcher.index().records
        self.finder.cue_words = _english_cue_words(self.understander.rules)
        self.finder.need_evidence = {
            name: rule.evidence
            for name, rule in self.understander.rules.needs.items()
            if rule.evidence is not None
        }
        penalty = self.understander.rules.needs.get("penalty")
        if penalty is not None:
            cues = frozenset(form for cue in penalty.cues.ja for form in cue)
            self.finder.penalty_words = self.finder.penalty_words | cues
        self.judge = Judge(
            tok,
            self.understander.rules,
            self.finder,
            min_dense=float(getattr(emb, "min_relevance", 0.0)),
        )
        self.guard = Guard(tok, emb)
        self.support = SupportFinder(s.corpus_dir / "support-catalogue.json", tok, emb)
        self.llm = LLMAnswerer(chat_model, s.llm_passages) if chat_model else None
        self._stats: CorpusStats | None = None
        self._stats_lock = threading.Lock()

    @property
    def backend(self) -> str:
        return "openai" if self.llm else "extractive"

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
        """``documents`` (doc ids or titles) limits the search to those documents."""
        t0 = time.perf_counter()
        question, m, history = self._validate(question, mode, history)
        stats = self.stats()
        u = self.understander.understand(self._respell(question), history, m, stats.vocabulary)
        u.question = question
        p = presenter(u.lang)
        res = AnswerResult(
            question=question,
            answer="",
            grounded=True,
            citations=[],
            removed=[],
            backend=self.backend,
            mode=m.value,
            timings_ms={},
            lang=u.lang,
            query=u.query,
        )
        t_retr = time.perf_counter()
        if u.chitchat:
            yield from self._emit(res, [AnswerPart(PartKind.chitchat, p.chitchat(u.chitchat))])
        elif m is Mode.support:
            yield from self._support(u, res, p, stats)
        else:
            blocks, passages = self._blocks(
                u,
                stats,
                top_k or self.settings.top_k,
                # a follow-up is never rerouted; a new question after a greeting may be
                support=not any(p.from_history or p.anaphoric for p in u.parts),
                documents=documents,
            )
            t_retr = time.perf_counter()
            if m is Mode.chat and blocks and all(b.support for b in blocks):
                res.mode = Mode.support.value  # the support finder answered (the mode says so)
            yield from self._answer(u, m, blocks, passages, res, p)
        t_end = time.perf_counter()
        res.timings_ms = {
            "retrieve": (t_retr - t0) * 1000,
            "generate": (t_end - t_retr) * 1000,
            "total": (t_end - t0) * 1000,
        }
        yield Event("final", result=res)

    def retrieve(
        self,
        query: str,
        lang: str,
        k: int,
        query_vector: np.ndarray | None = None,
        documents: list[str] | None = None,
    ) -> list[Passage]:
        """The passages for a (rewritten) question, as the answers use them. A statute's 附則
        (transitional provisions: 「旧法…の規定によりされている申請は…とみなす」) comes after its
        main provisions unless the question asks about them."""
        if query_vector is None:
            query_vector = self.engine.embedder.embed_query(query)
        transitional = bool(_ASKS_TRANSITIONAL.search(query))
        found = self.engine.searcher.search(
            lexical_query(self._spelling(query), lang),
            k=k if transitional else 2 * k,
            query_embedding=query_vector,
            documents=documents,
        )
        if transitional:
            return found
        main = [p for p in found if not p.section.startswith("附則")]
        return (main + [p for p in found if p.section.startswith("附則")])[:k]

    def warm(self, max_chunks: int = 2000, background: bool = True) -> None:
        """Load the index now; embed its lines ahead of the first questions (in a thread)."""
        self.stats()
        idx = self.engine.searcher.index()
        if len(idx.records) > max_chunks:
            return
        texts = [r["text"] for r in idx.records.values()]
        if background:
            threading.Thread(
                target=self.finder.warm, args=(texts,), daemon=True, name="warm"
            ).start()
        else:
            self.finder.warm(texts)

    # ---- steps ------------------------------------------------------------------------------
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

    def _blocks(
        self,
        u: Understanding,
        stats: CorpusStats,
        k: int,
        support: bool = True,
        documents: list[str] | None = None,
    ) -> tuple[list[Block], list[Passage]]:
        """Retrieve, find evidence and judge coverage, part by part; a part that asks what
        fits the asker's business is answered by the support finder (a follow-up never is)."""
        passages: list[Passage] = []
        index: dict[str, int] = {}
        blocks: list[Block] = []
        parts = u.parts or []

        def slot(p: Passage) -> int:
            if p.id not in index:
                passages.append(p)
                index[p.id] = len(passages)
            return index[p.id]

        for i, part in enumerate(parts):
            if support and part.asks is Asks.support:
                blocks.append(self._support_found(i, u, part, slot))
                continue
            qvec = self.engine.embedder.embed_query(part.query)
            # 「中小企業基本法では…」: a part that names a document is searched in it
            named = [] if documents else stats.named(part.query)
            part.scope = [w for _, w in named]
            part.documents = [d for d, _ in named]
            if named:
                # the law's name scopes the search; the rest of the question finds the article
                rest = unicodedata.normalize("NFKC", part.query)
                for _, w in named:
                    # "the Local Autonomy Act" is named as the glossary writes it: lower case
                    rest = re.sub(re.escape(w), " ", rest, flags=re.I)
                rest = rest if len(re.sub(r"[\sのではにで、。?？]", "", rest)) >= 4 else part.query
                if part.term and any(w in part.term for _, w in named):
                    rest = part.query  # 「「関西広域産業ビジョン」ってどういう位置づけ？」: the title is asked about
                found = self.retrieve(rest, part.lang, k, None, [d for d, _ in named])
                found = self._articles_first(part, found, k)
                if not found:
                    found = self.retrieve(part.query, part.lang, k, qvec, documents)
            else:
                found = self.retrieve(part.query, part.lang, k, qvec, documents)
            ev = self.finder.find(part, found, stats.outline, stats.idf, qvec)
            cov = self.judge.judge(
                ev, stats.vocabulary, stats.years_of(ev.passages), stats.idf, stats
            )
            if not named and not documents and blocks and not part.from_history:
                ev, cov = self._continued(part, blocks[-1], ev, cov, stats, k, qvec)
            ids = [slot(p) for p in ev.passages]
            blocks.append(Block(i, part, ev, cov, ids))
        return blocks, passages

    def _articles_first(self, part: Part, found: list[Passage], k: int) -> list[Passage]:
        """「中小企業基本法8条で…」「第二百九十一条の二には何が」: the chunks of the article the
        question cites come first, whatever the search ranked."""
        cited = cited_articles(part)
        if not cited or not part.documents:
            return found
        part.articles = cited
        records = self.engine.searcher.index().records
        top = max((p.score for p in found), default=1.0)
        own = [
            Passage.from_record(rec, top)
            for rec in records.values()
            if rec.get("doc_id") in part.documents and of_article(str(rec.get("label", "")), cited)
        ]
        if not own:
            return found
        own.sort(key=lambda p: p.chunk_index)
        ids = {p.id for p in own}
        return (own + [p for p in found if p.id not in ids])[: max(k, len(own))]

    def _continued(
        self,
        part: Part,
        before: Block,
        ev: Evidence,
        cov: Coverage,
        stats: CorpusStats,
        k: int,
        qvec: np.ndarray,
    ) -> tuple[Evidence, Coverage]:
        """「…基本方針は、どの大臣が定める？ほかの省の大臣の意見も聴く？」: a later part of one
        message goes on about the document the part before it was answered from; that document
        answers it when it names enough of the subject (within CONTINUED_SLACK of the index)."""
        if before.support or not before.coverage.covered or not before.evidence.lines:
            return ev, cov
        docs = {before.evidence.passages[ln.passage - 1].doc_id for ln in before.evidence.lines}
        if len(docs) != 1 or (cov.covered and ev.passages and ev.passages[0].doc_id in docs):
            return ev, cov
        found = self.retrieve(part.query, part.lang, k, qvec, list(docs))
        if not found:
            return ev, cov
        ev_in = self.finder.find(part, found, stats.outline, stats.idf, qvec)
        cov_in = self.judge.judge(
            ev_in, stats.vocabulary, stats.years_of(ev_in.passages), stats.idf, stats
        )
        if cov_in.covered and ev_in.relatedness >= ev.relatedness - CONTINUED_SLACK:
            return ev_in, cov_in
        return ev, cov

    def _answer(
        self,
        u: Understanding,
        m: Mode,
        blocks: list[Block],
        passages: list[Passage],
        res: AnswerResult,
        p: Presenter,
    ) -> Iterator[Event]:
        draft = m is Mode.draft
        res.parts = []
        session = self.guard.session(passages)
        covered = [b for b in blocks if b.coverage.covered]
        if draft:
            name = next(iter(u.asker.names), "〇〇" if u.lang == "ja" else "Sir or Madam")
            yield self._put(res, AnswerPart(PartKind.framing, p.draft_open(name)))
            if covered:
                titles = [passages[c - 1].title for b in covered for c in b.passage_ids[:1]]
                yield self._put(res, AnswerPart(PartKind.framing, p.draft_intro(titles)))
        done = False
        if self.llm is not None and covered and not any(b.support for b in blocks):
            try:
                for part in self.llm.stream_parts(u, blocks, passages, session):
                    yield self._put(res, part)
                done = session.kept_claims > 0
                if not done:
                    res.degraded = True
                    res.degraded_reason = session.degraded_reason or (
                        "the faithfulness guard removed every sentence of the model's answer"
                    )
            except NotInDocuments:
                blocks = [_not_in_documents(b) for b in blocks]
            except UpstreamModelError as exc:
                if not self.settings.fallback_to_extractive:
                    raise
                res.degraded, res.degraded_reason = True, exc.message
                done = session.kept_claims > 0
                log.warning("LLM %s: %s", "interrupted" if done else "failed", exc.message)
            if done:
                for b in blocks:
                    note = (
                        compose.not_covered_for(b, p, draft)
                        if not b.coverage.covered
                        else compose.missing_for(b, p, draft)
                    )
                    if note is not None:
                        yield self._put(res, note)
            else:
                res.removed.extend(session.removed)
                res.backend = "extractive" if res.degraded else res.backend
                session = self.guard.session(passages)
        if not done:
            for part in self._extractive_body(blocks, passages, session, p, draft):
                yield self._put(res, part)
        grounded = session.kept_claims > 0
        if not grounded:
            related = _related(blocks)
            res.nearest = [r.public() for r in related]
            if not draft:
                for part in compose.nearest_parts(related, p):
                    yield self._put(res, part)
        if draft:
            yield self._put(res, AnswerPart(PartKind.framing, ""))
            yield self._put(res, AnswerPart(PartKind.framing, p.draft_close()))
        res.grounded = grounded
        res.citations = session.citations(self.stats().outline.label_of) if grounded else []
        res.removed.extend(session.removed)
        if draft and res.citations:
            yield self._put(res, AnswerPart(PartKind.framing, ""))
            yield self._put(res, AnswerPart(PartKind.sources, p.sources(res.citations)))
        res.answer = "".join(x.render() for x in res.parts).strip()

    def _put(self, res: AnswerResult, part: AnswerPart) -> Event:
        res.parts.append(part)
        return Event("delta", part.render())

    def _extractive_body(
        self,
        blocks: list[Block],
        passages: list[Passage],
        session: GuardSession,
        p: Presenter,
        draft: bool,
    ) -> list[AnswerPart]:
        out: list[AnswerPart] = []
        multi = len(blocks) > 1
        used: set[str] = set()
        labels: set[str] = set()
        for b in blocks:
            if multi:
                label = p.part_label(_balanced(b.part.phrase or b.part.inherited), b.index + 1)
                if label in labels:  # two parts about one subject: told apart by number
                    label = p.part_label("", b.index + 1)
                labels.add(label)
                out.append(AnswerPart(PartKind.framing, label, part=b.index))
            if b.support:
                out.extend(self._support_block(b, session, p, draft))
                continue
            if not b.coverage.covered:
                out.append(compose.not_covered_for(b, p, draft))
                continue
            lead = compose.lead_for(b, passages, p)
            claims = [
                q
                for q in compose.claims_for(b, p)
                if q.part.kind is PartKind.framing or q.part.text not in used
            ]
            kept = self._checked(claims, session)
            if not any(k.is_claim for k in kept):
                out.append(compose.not_covered_for(_nothing(b), p, draft))
                continue
            if lead is not None:
                out.append(lead)
            out.extend(kept)
            used.update(k.text for k in kept if k.is_claim)
            missing = compose.missing_for(b, p, draft)
            if missing is not None:
                out.append(missing)
        return out

    def _support_found(
        self, i: int, u: Understanding, part: Part, slot: Callable[[Passage], int]
    ) -> Block:
        """The support finder's suggestions for a part, as a block of the answer."""
        from assistant.answer.support import support_parts

        found, local = support_parts(
            self.support,
            u.description,
            self.engine.searcher.index().records.values(),
            presenter(part.lang),
        )
        ids = [slot(p) for p in local]
        quoted = []
        for ap, quote in found:
            ap.citations = [ids[c - 1] for c in ap.citations]
            ap.part = i
            quoted.append(Quoted(ap, quote))
        has = any(q.part.is_claim for q in quoted)
        cov = Coverage(has, "" if has else "support", missing=list(part.needs))
        return Block(i, part, Evidence(part, local), cov, ids, support=quoted)

    def _support_block(
        self, b: Block, session: GuardSession, p: Presenter, draft: bool
    ) -> list[AnswerPart]:
        out: list[AnswerPart] = []
        for q in b.support:
            if q.part.is_claim:
                kept = session.accept(q.part, q.quote)
                if kept is not None:
                    out.append(kept)
            elif out or not q.part.text.startswith(("〔", "　")):
                out.append(q.part)  # an annotation only follows a kept suggestion
        if not any(x.is_claim for x in out):
            return [AnswerPart(PartKind.not_covered, p.support_none(), part=b.index)]
        if b.part.needs:
            note = (p.draft_missing if draft else p.missing)("", list(b.part.needs))
            out.append(AnswerPart(PartKind.not_covered, note, part=b.index))
        return out

    def _checked(self, claims: list[Quoted], session: GuardSession) -> list[AnswerPart]:
        out = []
        for q in claims:
            if q.part.kind is PartKind.framing:
                out.append(q.part)
                continue
            kept = session.accept(q.part, q.quote)
            if kept is not None:
                out.append(kept)
        return out

    def _support(
        self,
        u: Understanding,
        res: AnswerResult,
        p: Presenter,
        stats: CorpusStats,
        draft: bool = False,
    ) -> Iterator[Event]:
        from assistant.answer.support import support_parts

        idx = self.engine.searcher.index()
        parts, passages = support_parts(self.support, u.description, idx.records.values(), p)
        session = self.guard.session(passages)
        out: list[AnswerPart] = []
        for part, quote in parts:
            if part.is_claim:
                kept = session.accept(part, quote)
                if kept is None:
                    continue
                out.append(kept)
            elif (
                out
                or part.kind is not PartKind.framing
                or not part.text.startswith(("〔", "次の一歩", "Next step"))
            ):
                out.append(part)
        res.grounded = bool(session.kept_claims)
        res.citations = session.citations(self.stats().outline.label_of)
        res.removed = session.removed
        if not res.grounded:
            out = [AnswerPart(PartKind.not_covered, p.support_none())]
        needs = list(dict.fromkeys(n for part in u.parts for n in part.needs))
        if (
            needs
        ):  # 「…当社が参加する場合の申請方法を教えてください」: said plainly, not only in the note
            note = (p.draft_missing if draft else p.missing)("", needs)
            out.append(AnswerPart(PartKind.not_covered, note))
        if draft:  # the same suggestions, as a polite letter
            name = next(iter(u.asker.names), "〇〇" if u.lang == "ja" else "Sir or Madam")
            out = [
                AnswerPart(PartKind.framing, p.draft_open(name)),
                *out,
                AnswerPart(PartKind.framing, ""),
                AnswerPart(PartKind.framing, p.draft_close()),
            ]
            if res.citations:
                out += [
                    AnswerPart(PartKind.framing, ""),
                    AnswerPart(PartKind.sources, p.sources(res.citations)),
                ]
        yield from self._emit(res, out)

    def _emit(self, res: AnswerResult, parts: list[AnswerPart]) -> Iterator[Event]:
        res.parts = parts
        text = ""
        for part in parts:
            piece = part.render()
            text += piece
            yield Event("delta", piece)
        res.answer = text.strip()

    # ---- corpus ---------------------------------------------------------------------------------
    def stats(self) -> CorpusStats:
        idx = self.engine.searcher.index()
        st = self._stats
        if st is not None and st.marker == idx.marker:
            return st
        with self._stats_lock:
            st = self._stats
            if st is not None and st.marker == idx.marker:
                return st
            df: dict[str, int] = {}
            years: set[str] = set()
            doc_years: dict[str, set[str]] = {}
            kata: set[str] = set()
            for rec in idx.records.values():
                for t in set(rec.get("tokens", [])):
                    df[t] = df.get(t, 0) + 1
                found = set(_years(rec["text"]))
                found.update(re.findall(r"(?<!\d)((?:19|20)\d{2})(?!\d)", rec["text"]))
                years |= found
                doc_years.setdefault(str(rec.get("doc_id", "")), set()).update(found)
                kata.update(KATAKANA_WORD.findall(rec["text"]))
            n = max(1, len(idx.records))
            idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
            nodes = [n for doc in idx.outline.values() for n in doc]
            titles = {
                unicodedata.normalize("NFKC", str(r.get("title", ""))): str(r.get("doc_id", ""))
                for r in idx.records.values()
                if r.get("title") and r.get("doc_id")
            }
            written = [r["text"] for r in idx.records.values()]
            written += [n.text for n in nodes] + list(titles)  # headings are in the outline
            text = modernize_kana(unicodedata.normalize("NFKC", "\n".join(written)))
            st = CorpusStats(
                idx.marker, idf, set(df), years, Outline(nodes), kata, doc_years, titles, text
            )
            self.understander.titles = frozenset(titles)
            self._stats = st
            return st

    def _respell(self, text: str) -> str:
        """The question with near-miss katakana words in the documents' own spelling
        (スタートアプ → スタートアップ, リスキリング → リスクリング), so every rule sees them."""
        for w in sorted(set(KATAKANA_WORD.findall(text)), key=len, reverse=True):
            best = self._near_word(w)
            if best:
                text = text.replace(w, best)
        return text

    def _near_word(self, w: str) -> str:
        st = self._stats
        words = st.katakana if st is not None else set()
        if len(w) < 5 or any(w in k for k in words):
            return ""
        best = min(
            (k for k in words if abs(len(k) - len(w)) <= 1),
            key=lambda k: edit_distance(w, k),
            default="",
        )
        return best if best and edit_distance(w, best) <= (1 if len(w) < 7 else 2) else ""

    def _spelling(self, query: str) -> str:
        """Add the corpus's own spelling of a near-miss katakana word (リスキリング → リスクリング,
        ディープテック → ディーブテック): the vision has typos, and users spell correctly."""
        st = self._stats
        words = st.katakana if st is not None else set()
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


def _balanced(phrase: str) -> str:
    """The phrase without a bracket left open or closed alone (「中小企業基本法の「経営資源」
    → 「中小企業基本法の経営資源」)."""
    for o, c in (("「", "」"), ("『", "』"), ("(", ")"), ("（", "）")):
        if phrase.count(o) != phrase.count(c):
            phrase = phrase.replace(o, "").replace(c, "")
    return phrase


def _english_cue_words(rules: Any) -> frozenset[str]:
    """The lemmas of the rules' single-word English cues (budget, total, when …)."""
    from assistant.text.bilingual import lemma

    out = {"total", "overall", "altogether"}
    for table in (rules.asks, rules.needs, rules.when):
        for rule in table.values():
            for pat in rule.cues.en:
                words = re.findall(r"[a-z]+", pat.pattern)
                if len(words) == 1:
                    out.add(lemma(words[0]))
    return frozenset(out)


def edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        cur = [i]
        for j, cb in enumerate(b, start=1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _related(blocks: list[Block]) -> list[Passage]:
    seen: set[str] = set()
    out = []
    for b in blocks:
        for r in b.coverage.related:
            if r.id not in seen:
                seen.add(r.id)
                out.append(r)
    return out[:3]


def _not_in_documents(b: Block) -> Block:
    cov = Coverage(False, "nothing", b.part.phrase, related=b.coverage.related)
    return Block(b.index, b.part, b.evidence, cov, b.passage_ids)


def _nothing(b: Block) -> Block:
    return Block(
        b.index, b.part, b.evidence, Coverage(False, "nothing", b.part.phrase), b.passage_ids
    )


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
