"""Question understanding: what a message asks, part by part, and who is asking.

From Sudachi's analysis (parts of speech, normalized forms) and the rule table
(``rules/questions.toml``), never from the wording of one eval case:

- each sentence is *social* (greetings, pleasantries, closings, a staff member's instruction for
  a draft), the *asker* introducing themselves (名前, 会社, 役職, signature lines), a *profile*
  of the asker's business, a *question* (or request), or *context*;
- question sentences are split into parts at coordinating conjunctions (「…と予算、それから申請
  の締切を教えて」 → two parts), each with what it asks (list, definition, amount, …), what it
  needs that the documents may lack (a deadline, a phone number, …), whether it asks for today's
  value or a target, and its subject: the content words it is about, without the asker's own
  name or company, question words and cue words;
- a part without a subject of its own (「その予算は？」) takes the subject of the part, sentence
  or turn before it;
- a message with nothing but social words is chit-chat (greeting, thanks, bye, test, identity).
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum

from assistant.answer.rules import RuleSet, norm_forms, rules_for
from assistant.answer.text import detect_lang
from assistant.answer.types import Message, Mode
from assistant.text.numerals import DIGITS
from assistant.text.tokenizer import Morpheme, Tokenizer

_SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?]*|[。！？!?]+")
_EN_SENTENCE = re.compile(r"[^.?!\n]+(?:[.?!]+|$)")
_LIST_MARK = re.compile(r"^\s*(?:\d{1,2}[.)、．]|[(（]\d{1,2}[)）]|[①-⑳]|[-・*●■◆]|Q\d*[.:：]?)\s*")
_YEAR = re.compile(
    r"(令和|平成)\s*(\d{1,2}|元)\s*年度?|(?<!\d)((?:19|20)\d{2})\s*年度?|\bFY\s?(20\d{2})\b|"
    # "the target for 2030", "in 2023": an English year stands after its preposition
    r"\b(?:in|for|by|of|since|until|from|to|before|after)\s+((?:19|20)\d{2})\b",
    re.I,
)
DOCUMENT_YEAR = 2023  # the vision is dated 2023-11: earlier years are history, later ones targets

# words that say nothing about what a question is about
QUESTION_WORDS = frozenset(
    [
        "何",
        "なに",
        "何か",
        "何れ",
        "どれ",
        "どこ",
        "何処",
        "いつ",
        "何時",
        "どう",
        "如何",
        "どの",
        "どんな",
        "どのような",
        "どういう",
        "どういった",
        "誰",
        "なぜ",
        "何故",
        "幾ら",
        "幾つ",
        "教える",
        "知る",
        "下さる",
        "頂く",
        "願う",
        "欲しい",
        "書く",
        "記載",
        "資料",
        "ビジョン",
        "文書",
        "ドキュメント",
        "有る",
        "在る",
        "居る",
        "為る",
        "成る",
        "出来る",
        "思う",
        "考える",
        "言う",
        "内容",
        "具体",
        "具体的",
        "詳細",
        "概要",
        "特に",
        "件",
        "こと",
        "事",
        "もの",
        "物",
        "方",
        "点",
        "等",
        "他",
        "場合",
        "ところ",
        "所",
        "わけ",
        "訳",
        "辺り",
        "あたり",
        "感じ",
        "意味",
        "全体",
        "全部",
        "全て",
        "一覧",
        "それぞれ",
        "其々",
        "其れ",
        "其の",
        "此れ",
        "此の",
        "彼の",
        "彼れ",
        "其処",
        "其方",
        "此方",
        "そう",
        "こう",
        "ああ",
        "同じ",
        "上記",
        "前述",
        "下記",
        "以下",
        "くらい",
        "位",
        "ほど",
        "程",
        "など",
        "等々",
        "ざっくり",
        "大体",
        "およそ",
        "約",
        "主",
        "主な",
        "例",
        "関西広域産業ビジョン",
        "本",
        "今回",
        "改訂",
        "改訂版",
        "改定",
        "記事",
        "紹介",
        "使う",
        "分かる",
        "解る",
        "示す",
        "記す",
        "載る",
        "触れる",
        "含む",
        "取り上げる",
        "扱う",
        "出る",
        "出て来る",
        "挙げる",
        "上げる",
        "列挙",
        "種類",
        "項目",
        "中身",
        "リスト",
        "場所",
        "方法",
        "仕方",
        "できる",
        "見る",
        "調べる",
        "確認",
        "ご",
        "御",
        "お",
        "説明",
        "整理",
        "要点",
        "ポイント",
        "伺う",
        "聞く",
        "尋ねる",
        "質問",
        "回答",
        "答える",
        "返答",
        "説明",
        "伝える",
        "OK",
        "ok",
        "大丈夫",
        "けど",
        "でも",
        "あと",
        "また",
        "更に",
        "さらに",
        "加えて",
        "併せて",
        "それから",
        "其れから",
        "それと",
        "其れと",
        "次",
        "一つ",
        "二つ",
        "つく",
        "付く",
        "対する",
        "関する",
        "因る",
        "よる",
        "於く",
        "おける",
        "係る",
        "合わせる",
        "併せる",
        "無い",
        "ない",
        "要点",
        "教示",
        "貰う",
        "もらう",
        "呉れる",
        "くれる",
        "良い",
        "よい",
        "いい",
        "知れる",
        "分かる",
        "教え",
        "思える",
        "見える",
        "頂ける",
        "出す",
        "決める",
        "為さる",
        "なさる",
        "出来",
        "できる",
        "参加",
        "場合",
    ]
)
ANAPHORA = frozenset(
    [
        "其れ",
        "其の",
        "此れ",
        "此の",
        "彼の",
        "彼れ",
        "そう",
        "こう",
        "そうした",
        "こうした",
        "当該",
        "同",
        "上記",
        "前述",
        "同じ",
        "其処",
        "其方",
    ]
)
EN_ANAPHORA = frozenset(
    [
        "it",
        "its",
        "it's",
        "that",
        "this",
        "those",
        "these",
        "they",
        "them",
        "their",
        "there",
        "same",
    ]
)
EN_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "for",
        "and",
        "or",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "do",
        "does",
        "did",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "can",
        "could",
        "would",
        "should",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "i",
        "we",
        "you",
        "he",
        "she",
        "they",
        "it",
        "its",
        "our",
        "us",
        "me",
        "my",
        "your",
        "this",
        "that",
        "these",
        "those",
        "there",
        "here",
        "please",
        "tell",
        "me",
        "about",
        "any",
        "some",
        "all",
        "list",
        "give",
        "show",
        "describe",
        "explain",
        "with",
        "by",
        "from",
        "as",
        "at",
        "into",
        "than",
        "then",
        "so",
        "such",
        "also",
        "more",
        "most",
        "much",
        "many",
        "very",
        "say",
        "says",
        "said",
        "document",
        "documents",
        "vision",
        "kansai's",
        "written",
        "mention",
        "mentioned",
        "does",
        "doesn't",
        "isn't",
        "are",
        "know",
        "want",
        "like",
        "get",
        "have",
        "has",
        "had",
        "let",
        "see",
        "find",
        "something",
        "anything",
        "thing",
        "things",
        "kind",
        "kinds",
    ]
)


class Asks(StrEnum):
    why = "why"
    list = "list"
    definition = "definition"
    amount = "amount"
    how_many = "count"
    date = "date"
    who = "who"
    where = "where"
    how = "how"
    yesno = "yesno"
    support = "support"
    other = "other"


class When(StrEnum):
    any = "any"
    now = "now"  # today's / the actual value
    past = "past"  # an earlier version or period (前回の目標)
    target = "target"  # a target or projection


class Role(StrEnum):
    social = "social"
    asker = "asker"  # the asker's name, company, title, signature
    profile = "profile"  # the asker's business (当社は京都で佃煮を製造しております)
    question = "question"
    context = "context"


# the order in which answer shapes win when a part has several cues
_WHICH_ADNOMINAL = frozenset({"どんな", "どのような", "どういう", "如何なる", "いかなる"})
_NEED_ASKS = {"application": Asks.how, "location": Asks.where, "person": Asks.who}
_ASKS_ORDER = (
    Asks.support,
    Asks.why,
    Asks.definition,
    Asks.list,
    Asks.how,
    Asks.how_many,
    Asks.amount,
    Asks.date,
    Asks.who,
    Asks.where,
    Asks.yesno,
)


@dataclass
class Sentence:
    text: str
    morphs: list[Morpheme]
    role: Role


@dataclass
class Part:
    """One question of a message."""

    text: str
    lang: str
    asks: Asks = Asks.other
    cues: set[str] = field(default_factory=set)  # every answer-shape rule that matched
    needs: list[str] = field(default_factory=list)  # needs rules (deadline, contact, …)
    when: When = When.any
    years: list[str] = field(default_factory=list)  # 令和5, 2040 …
    subject: list[str] = field(default_factory=list)  # normalized content terms
    phrase: str = ""  # the subject as written, for framing
    names: list[str] = field(default_factory=list)  # proper nouns of the subject (surface)
    term: str = ""  # the term a definition question asks about
    anaphoric: bool = False
    inherited: str = ""  # the subject phrase taken from before (a follow-up)
    sentence: int = 0  # which sentence of the message it comes from
    soft: set[str] = field(default_factory=set)  # subject words that are only a time cue (目標)
    rank: str = ""  # "max" | "min": 「いちばん予算が大きいのは？」
    total: bool = False  # 「総額でいくら？」: the sum a heading gives, not one item
    change: bool = False  # 「前回から変わった？」: a question about a change
    head: str = ""  # what a list question enumerates (「構成府県市」 of 「…の構成府県市を全部」)
    kind: bool = (
        False  # the head only names the kind of answer (「どのような取組み」): not a filter
    )
    holds: str = ""  # what the asked-for items go in (「申請書には何を書けば」 → 申請書)
    addressee: bool = False  # 「どこに出す？」: to whom something is handed
    compounds: list[str] = field(default_factory=list)  # the subject's words as written (6次産業化)
    predicates: set[str] = field(default_factory=set)  # subject words that are verbs (伸びる)
    from_history: bool = False  # its subject came from the conversation before (a follow-up)
    only: list[str] = field(default_factory=list)  # 「大阪府だけの」: a figure of that place alone
    # the situation the message describes before a thin question (「隣町と一部事務組合を作りたい。
    # …誰の許可が必要？」): searched with it, never part of its subject
    situation: str = ""
    scope: list[str] = field(default_factory=list)  # the words that name a document searched in
    documents: list[str] = field(default_factory=list)  # the documents those words name
    articles: list[str] = field(default_factory=list)  # the articles it cites there (第4条)
    polar: bool = False  # a yes-no question (「…兼ねても問題ないですか」, "Does it need …?")

    @property
    def query(self) -> str:
        """What is searched for this part."""
        return " ".join(x for x in (self.situation, self.inherited, self.text) if x).strip()


@dataclass
class Asker:
    names: list[str] = field(default_factory=list)  # people (佐藤, Laura Becker)
    organisations: list[str] = field(default_factory=list)  # 株式会社山田製作所
    profile: list[str] = field(default_factory=list)  # what they say about their business

    @property
    def words(self) -> set[str]:
        return {w for w in (*self.names, *self.organisations) if w}


@dataclass
class Understanding:
    question: str
    lang: str
    mode: Mode
    parts: list[Part]
    sentences: list[Sentence]
    asker: Asker
    chitchat: str | None = None  # greeting | thanks | bye | test | identity
    wants_support: bool = False

    @property
    def context(self) -> list[str]:
        return [s.text for s in self.sentences if s.role in (Role.context, Role.profile)]

    @property
    def query(self) -> str:
        """One search text for the whole message (every part)."""
        return " ".join(p.query for p in self.parts) or self.question

    @property
    def description(self) -> str:
        """The business description for the support finder: profile, context and questions,
        without names and pleasantries."""
        keep = [s.text for s in self.sentences if s.role in (Role.profile, Role.context)]
        keep += [p.text for p in self.parts]
        return " ".join(dict.fromkeys(keep)) or self.question


class Understander:
    """Builds an :class:`Understanding` of a message (and its conversation)."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tok = tokenizer
        self.rules: RuleSet = rules_for(tokenizer)
        self._profile_seen = False
        self._vocabulary: set[str] | None = None
        self._chit = "identity"
        self.titles: frozenset[str] = frozenset()  # document titles (set by the engine)

    # ---- public -------------------------------------------------------------------------------
    def understand(
        self,
        question: str,
        history: list[Message] | None = None,
        mode: Mode = Mode.chat,
        vocabulary: set[str] | None = None,
    ) -> Understanding:
        """``vocabulary`` (the index's terms) lets a part whose words the documents never use
        (「庁内説明資料に使いたいので」) join the part before it instead of standing alone."""
        text = unicodedata.normalize("NFKC", question).strip()
        lang = detect_lang(text)
        sentences = self._sentences(text, lang)
        asker = self._asker(sentences, lang)
        self._profile_seen = any(s.role is Role.profile for s in sentences)
        self._vocabulary = vocabulary
        self._chit = "identity"
        if self._identity_question(text, lang):
            return Understanding(question.strip(), lang, mode, [], sentences, asker, self._chit)
        parts: list[Part] = []
        for si, s in enumerate(sentences):
            if s.role is Role.question:
                for p in self._parts(s, lang, asker):
                    p.sentence = si
                    parts.append(p)
        parts = _merge(parts, vocabulary)
        if not parts:
            rest = [
                s
                for s in sentences
                if s.role in (Role.context, Role.profile) and self._has_topic(s, lang)
            ]
            # 「京都の食品メーカーです。海外に輸出したい。」: a business and what it wants, no
            # question: what fits it is the question
            goal = any(s.role is Role.profile for s in rest) and any(_wish(s) for s in rest)
            if rest and (
                mode is not Mode.chat or goal or any(s.role is Role.context for s in rest)
            ):
                joined = Sentence(
                    " ".join(s.text for s in rest),
                    [m for s in rest for m in s.morphs],
                    Role.context,
                )
                parts = self._parts(joined, lang, asker)
                for p in parts:
                    p.sentence = len(sentences)
                    if goal and mode is Mode.chat:
                        p.asks = Asks.support
        chit = None if parts else self._chitchat(text, lang)
        self._carry_over(parts, sentences, history or [])
        wants_support = mode is Mode.support or any(p.asks is Asks.support for p in parts)
        return Understanding(
            question=question.strip(),
            lang=lang,
            mode=mode,
            parts=parts,
            sentences=sentences,
            asker=asker,
            chitchat=chit,
            wants_support=wants_support,
        )

    # ---- sentences -----------------------------------------------------------------------------
    def _sentences(self, text: str, lang: str) -> list[Sentence]:
        out: list[Sentence] = []
        splitter = _SENTENCE if lang == "ja" else _EN_SENTENCE
        lines = text.splitlines()
        for li, line in enumerate(lines):
            line = _LIST_MARK.sub("", line).strip()
            if not line or set(line) <= set("-=_*~ 　"):
                continue
            for m in splitter.finditer(line):
                st = m.group().strip()
                if not st or not any(c.isalnum() for c in st):
                    continue
                morphs = self.tok.parse(st)
                own = detect_lang(st)  # a mixed message: "Dear Sir/Madam," above Japanese
                role = self._role(st, morphs, own, li, len(lines))
                if (
                    role is Role.context
                    and own == "ja"
                    and any(s.role is Role.question for s in out)
                    and _elliptical_request(morphs)
                ):
                    role = Role.question  # 「…を教えて。あと、それぞれの取組アイデアも。」
                out.append(Sentence(st, morphs, role))
        return out

    def _role(self, text: str, morphs: list[Morpheme], lang: str, line: int, n_lines: int) -> Role:
        if self._social(text, morphs, lang):
            return Role.social
        if self._is_asker(text, morphs, lang):
            return Role.asker
        if self._is_question(text, morphs, lang):
            return Role.question
        if self._is_profile(text, morphs, lang):
            return Role.profile
        if lang == "ja" and n_lines > 2 and line == n_lines - 1 and not _has_predicate(morphs):
            return Role.asker  # a last line without a predicate: a signature
        return Role.context

    def _social(self, text: str, morphs: list[Morpheme], lang: str) -> bool:
        r = self.rules
        if lang == "en":
            words = _en_words(text)
            rest = _strip_en(text.lower(), r.social.en)
            if bool(words) and all(w in EN_STOP for w in _en_words(rest)):
                return True
            # "Thanks a lot, that's everything I needed.": thanks or a goodbye that asks nothing
            closing = any(r.chitchat[n].cues.match_en(text) for n in ("thanks", "bye"))
            return closing and not _en_question(text) and not _EN_REQUEST.search(text)
        if re.search(r"(御中|様|殿|各位)\s*[:：]?$", text) and len(text) <= 60:
            return True  # an addressee line: 「関西広域連合 広域産業振興局 御中」
        content = [m for m in morphs if m.content and m.normalized not in ANAPHORA]
        if not content:
            return True
        spans = r.social.match_ja(norm_forms(morphs))
        covered = {i for a, b in spans for i in range(a, b)}
        norms = norm_forms(morphs)
        idx = 0
        for m in morphs:
            if m.coarse in ("補助記号", "空白"):
                continue
            n = m.normalized.lower()
            if m.content and idx not in covered and n not in r.social_words and n not in ANAPHORA:
                return False
            idx += 1
        return len(norms) > 0

    def _is_asker(self, text: str, morphs: list[Morpheme], lang: str) -> bool:
        """「株式会社山田製作所の佐藤です」「経済紙記者の森です」, "My name is …"."""
        if lang == "en":
            low = text.lower()
            return bool(
                re.match(r"(my name is|i am|i'm|this is)\s+[a-z]", low)
                and not _en_question(text)
                and len(text) < 160
            ) or bool(re.fullmatch(r"[A-Z][\w.\-]+(?:\s+[A-Z][\w.\-]+){0,4}", text.strip()))
        if self._is_question(text, morphs, lang):
            return False
        last = [m for m in morphs if m.coarse not in ("補助記号",)]
        if not last:
            return False
        # ends with です / と申します / といいます / でございます after a name or a role
        ends = "".join(m.surface for m in last[-3:])
        copular = bool(
            re.search(
                r"(です|申します|申す|と言います|といいます|でございます|と言う|という)$", ends
            )
        )
        has_name = any(m.is_("名詞", "固有名詞", "人名") for m in morphs)
        has_org = any(o.lower() in text.lower() for o in self.rules.organisation)
        has_role = any(m.normalized in self.rules.role_words for m in morphs)
        if copular and (has_name or has_org or has_role) and len(text) <= 80:
            return not self._is_profile(text, morphs, lang) or has_name
        # a signature line: a name / company / department with no predicate
        return (has_name or has_org) and not _has_predicate(morphs) and len(text) <= 60

    def _is_profile(self, text: str, morphs: list[Morpheme], lang: str) -> bool:
        r = self.rules
        if lang == "en":
            words = set(_en_words(text))
            return bool(words & {"we", "our", "we're"}) and not _en_question(text)
        if self._is_question(text, morphs, lang):
            return False
        norms = {m.normalized for m in morphs}
        if _self_refs(morphs, r.self_ja):
            return True
        # 「介護サービスの会社を経営しています」: a business word, said of oneself as a statement
        ends = "".join(m.surface for m in morphs if m.coarse != "補助記号")[-8:]
        stated = bool(
            re.search(r"(です|ます|でございます|おります|います|している|いる|だ|中)$", ends)
        )
        return bool(norms & r.business_words) and (stated or not _has_predicate(morphs))

    def _is_question(self, text: str, morphs: list[Morpheme], lang: str) -> bool:
        if lang == "en":
            return _en_question(text)
        if text.rstrip().endswith(("?", "？")):
            return True
        norms = [m.normalized for m in morphs]
        if any(m.is_("助詞", "終助詞") and m.surface in ("か", "かな", "かしら") for m in morphs):
            return True
        if any(n in _WH for n in norms):
            return True
        # requests: 教えて(ください), お願いします after a noun, 知りたい, ほしい, ご教示
        joined = "".join(m.surface for m in morphs)
        return bool(
            re.search(
                r"教えて|教え下さい|知りたい|ほしい|欲しい|ご教示|お願いします|お願いいたします|お願い致します|"
                r"いただけ|頂け|下さい|ください|伺いたい|聞きたい|確認したい|挙げて|示して|出して|"
                r"わかれば|分かれば|知れれば|あれば教え|説明して|詳しく",
                joined,
            )
        ) and any(
            m.content
            and m.normalized not in self.rules.social_words
            and m.normalized not in QUESTION_WORDS
            for m in morphs
        )

    # ---- the asker ----------------------------------------------------------------------------
    def _asker(self, sentences: list[Sentence], lang: str) -> Asker:
        asker = Asker()
        for s in sentences:
            if s.role is Role.profile:
                asker.profile.append(s.text)
            if lang == "en":
                for m in re.finditer(
                    r"(?i:my name is|i am|i'm|this is)\s+((?:[A-Z][\w\-]+\s*){1,3})", s.text
                ):
                    asker.names.append(m.group(1).strip())
                for m in re.finditer(
                    r"\bfrom\s+((?:[A-Z][\w&\-]*\s*){1,4}(?:GmbH|Inc\.?|Ltd\.?|LLC|Corp\.?|Co\.?)?)",
                    s.text,
                ):
                    asker.organisations.append(m.group(1).strip())
                continue
            if s.role not in (Role.asker, Role.profile, Role.question, Role.social):
                continue
            called = self._called(s) if s.role is Role.asker else ""
            if called:
                asker.names.append(called)
            ms = s.morphs
            for i, mo in enumerate(ms):
                nxt = ms[i + 1] if i + 1 < len(ms) else None
                inside_org = (
                    nxt is not None
                    and nxt.coarse == "名詞"
                    and not nxt.is_("名詞", "固有名詞", "人名")
                )
                if mo.is_("名詞", "固有名詞", "人名") and not inside_org:
                    asker.names.append(mo.surface)  # タナカ of タナカ精機 is the company's
            asker.organisations.extend(self._organisations(s))
        asker.names = list(dict.fromkeys(asker.names))
        asker.organisations = list(dict.fromkeys(asker.organisations))
        return asker

    def _called(self, s: Sentence) -> str:
        """The name in 「…の森です」「鈴木と申します」: the nouns right before the copula."""
        ms = [m for m in s.morphs if m.coarse not in ("補助記号", "空白")]
        end = len(ms)
        while end and (
            ms[end - 1].coarse in ("助動詞", "助詞")
            or ms[end - 1].normalized in ("申す", "言う", "御座る", "致す", "居る")
        ):
            end -= 1
        start = end
        while start and ms[start - 1].coarse == "名詞" and not ms[start - 1].is_("名詞", "数詞"):
            start -= 1
        name = "".join(m.surface for m in ms[start:end])
        if not name or ms[start:end][-1].normalized in self.rules.role_words or len(name) > 8:
            return ""
        return name

    def _organisations(self, s: Sentence) -> list[str]:
        """Noun runs that carry a company word (株式会社山田製作所, 京阪テック(株))."""
        out = []
        run: list[Morpheme] = []

        def flush() -> None:
            text = "".join(m.surface for m in run)
            if any(o.lower() in text.lower() for o in self.rules.organisation):
                out.append(text)
            run.clear()

        for m in s.morphs:
            if (
                m.coarse in ("名詞", "接頭辞", "接尾辞")
                or m.surface in ("(", ")", "株", "有", "・")
                or (m.coarse == "補助記号" and m.surface in ("(", ")"))
            ):
                run.append(m)
            else:
                flush()
        flush()
        return out

    # ---- parts --------------------------------------------------------------------------------
    def _parts(self, s: Sentence, lang: str, asker: Asker) -> list[Part]:
        pieces = self._split(s) if lang == "ja" else [s]
        kept = self._without_background(pieces)
        background = [p for p in pieces if p not in kept]
        parts = [self._part(p, lang, asker) for p in kept]
        parts = [
            p for p in parts if p.subject or p.needs or p.asks is not Asks.other or p.anaphoric
        ]
        if background:
            # 「海外展開を考えているんですけど、どんな支援がありますか」: what the question is
            # about is in the clause that states the situation
            frame = _topic_frame(background[-1].morphs)  # 「水素に関しては、」: every part's topic
            for p in parts:
                # (「令和5年度の事業の予算を」 names its own subject: the situation stays out)
                if frame or p.anaphoric or not _specific(p) or (_generic(p) and not p.years):
                    self._take_situation(p, background[-1].text)
        return parts

    def _split(self, s: Sentence) -> list[Sentence]:
        """At a conjunction after a comma (「、それから」「、また」), or 「と、」 or 「…て、」 between
        two asks."""
        cuts = [0]
        ms = s.morphs
        background = 0
        framed = False
        for i, m in enumerate(ms):
            if i == 0:
                continue
            prev = ms[i - 1]
            if prev.surface in ("、", ",") and _connective(ms, i):
                cuts.append(i)
            elif (
                m.surface in ("、", ",")
                and not background
                and _topic_frame(ms[:i])
                and self._has_cue(ms[i + 1 :])
            ):
                background = i + 1  # 「スタートアップ支援について、…」: what the parts are about
                framed = True
            elif m.surface in ("、", ",") and _background_end(ms[:i]) and not background:
                left, right = ms[:i], ms[i + 1 :]
                if (not self._has_cue(left) or _explanatory_end(left)) and self._has_cue(right):
                    background = (
                        i + 1
                    )  # 「海外への販路開拓を検討しており、」: the asker's situation
            elif (
                m.surface == "、"
                and prev.surface == "と"
                and not prev.is_("助詞", "接続助詞")  # 「誘致すると、」 is a condition
                and self._cue_on_both_sides(ms, i)
            ):
                cuts.append(i + 1)
            elif (
                m.surface in ("、", ",")
                and prev.is_("助詞", "接続助詞")
                and prev.surface not in _CONDITIONAL  # 「…すると、」「…すれば、」: no question
                and self._has_cue(ms[:i])
                and self._has_cue(ms[i + 1 :])
            ):
                # 「どんな合意があって、関西広域連合としてはどんな事業を…」: two questions in one
                cuts.append(i + 1)
        cuts.append(len(ms))
        if framed and len([c for c in cuts if c > background]) < 2:
            background = 0  # one question after the frame: it stays one sentence, frame and all
        if background:
            cuts = sorted({0, background, *cuts})
        out = []
        for a, b in itertools.pairwise(cuts):
            piece = ms[a:b]
            role = Role.context if background and b <= background else s.role
            if any(m.content for m in piece):
                out.append(Sentence("".join(m.surface for m in piece).strip("、, "), piece, role))
        return out or [s]

    def _without_background(self, pieces: list[Sentence]) -> list[Sentence]:
        """「海外への販路開拓を検討しており、貴連合の令和5年度の事業と予算を教えて」: a clause that
        ends in a predicate before a comma and asks nothing is the asker's situation, not a part
        (kept when nothing else in the sentence asks)."""
        out = [p for p in pieces if p.role is not Role.context]
        return out or pieces

    def _cue_on_both_sides(self, ms: list[Morpheme], i: int) -> bool:
        """「…ブランドと、令和5年度の予算額を」: the right side asks something of its own."""
        left, right = ms[:i], ms[i + 1 :]
        return self._has_cue(right) and any(m.coarse == "名詞" for m in left)

    def _has_cue(self, ms: list[Morpheme]) -> bool:
        norms = norm_forms(ms)
        rules = [*self.rules.asks.values(), *self.rules.needs.values()]
        return any(r.cues.match_ja(norms) for r in rules)

    def _part(self, s: Sentence, lang: str, asker: Asker) -> Part:
        part = Part(text=s.text, lang=lang)
        r = self.rules
        norms = norm_forms(s.morphs)
        cue_idx: set[int] = set()
        quoted = _quoted_positions(s.morphs)
        polar = part.polar = _polar(s, lang)
        main = _en_main_clause(s.text) if lang == "en" else s.text
        for name, rule in r.asks.items():
            if polar and not rule.polar:
                continue
            spans = rule.cues.match_ja(norms) if lang == "ja" else []
            if rule.subject:
                # 「「デジタル活用による生産性の向上」の例」: a figure's noun inside a title the
                # asker quotes is part of that name, not a figure asked for
                spans = [(a, b) for a, b in spans if not all(i in quoted for i in range(a, b))]
            if spans or (lang == "en" and rule.cues.match_en(main)):
                part.cues.add("amount" if name == "figure" else name)
                if not rule.subject:
                    cue_idx.update(i for a, b in spans for i in range(a, b))
        need_spans: dict[str, list[tuple[int, int]]] = {}
        for name, rule in r.needs.items():
            if polar and not rule.polar:
                continue
            spans = rule.cues.match_ja(norms) if lang == "ja" else []
            if name == "location":
                # 「どこまで伸びる？」 asks how far (an extent), not where
                spans = [(a, b) for a, b in spans if norms[b : b + 1] != ["まで"]]
            if spans or (lang == "en" and rule.cues.match_en(main)):
                need_spans[name] = spans
        words = [m for m in s.morphs if m.coarse not in ("補助記号", "空白")]  # as norms
        for name in _possessors(need_spans, words):
            del need_spans[name]  # 「補助金の申請締切」 asks for a deadline: 補助金 is its subject
        topic = _frame_length(s.morphs)
        for name in [n for n, sp in need_spans.items() if sp and all(b <= topic for _, b in sp)]:
            del need_spans[name]  # 「補助金につきまして、締切を…」: the frame names the topic
        for name, spans in need_spans.items():
            part.needs.append(name)
            cue_idx.update(i for a, b in spans for i in range(a, b))
        for name, rule in r.when.items():
            spans = rule.cues.match_ja(norms) if lang == "ja" else []
            if spans or (lang == "en" and rule.cues.match_en(main)):
                if name in ("now", "past"):
                    part.when = When.now if name == "now" else When.past
                    cue_idx.update(i for a, b in spans for i in range(a, b))
                elif part.when is When.any:
                    part.when = When.target
                if name not in ("now", "past"):
                    part.soft.update(norms[i] for a, b in spans for i in range(a, b))
        part.years = _years(s.text)
        if part.when is When.any and any(int(y) > DOCUMENT_YEAR for y in part.years if y.isdigit()):
            part.when = When.target  # a year after the document's own: a target or projection
        part.asks = self._asks(part, s)
        if lang == "ja":
            self._subject_ja(part, s, cue_idx, asker)
        else:
            self._subject_en(part, s, asker)
        part.rank = _rank(s)
        part.only = _only_places(s.morphs, lang, s.text)
        if "location" in part.needs and lang == "ja" and part.phrase.endswith(_WHICH_ENTITY):
            # 「人口が世界一になった国はどこ？」「GRPが一番大きい府県はどこ？」: which one, not
            # where something is held or built
            part.needs.remove("location")
            if part.asks in (Asks.where, Asks.amount, Asks.other) and not part.rank:
                part.asks = Asks.who
        part.addressee = lang == "ja" and _addressee_asked(s.morphs)
        if part.addressee:
            # 「作ったらどこに出す？」「どこへ届け出る？」: to whom it is handed (観光庁長官に提出),
            # not a place
            if "location" in part.needs:
                part.needs.remove("location")
            if part.asks in (Asks.where, Asks.other):
                part.asks = Asks.who
        if part.rank and "fee" in part.needs:
            # 「一番お金がかかってるのはどれ？」 compares what the programmes cost, not a fee the
            # asker would pay
            part.needs.remove("fee")
            if part.asks is Asks.other:
                part.asks = Asks.amount
        part.total = bool(
            re.search(
                r"総額|合計|全体で|全体の|総予算|全部で|\btotal\b|\boverall\b|altogether|in all",
                s.text.lower(),
            )
        )
        if part.when is When.past and _asks_change(s):
            # 「前回の改訂から変わったの？」 asks whether it changed, which the text says
            part.when, part.change = When.any, True
        if part.when in (When.now, When.past) and part.asks not in (Asks.amount, Asks.how_many):
            part.when = When.any  # 「今、どんな取組みがある？」 is not a question for a figure
        return part

    def _asks(self, part: Part, s: Sentence) -> Asks:
        cues = set(part.cues)
        ms = s.morphs
        if any(
            m.surface == "どんな"
            and i + 1 < len(ms)
            and ms[i + 1].surface in ("ふう", "風", "感じ")
            for i, m in enumerate(ms)
        ):
            cues.discard("list")  # 「どんなふうに書かれていますか」 asks how, not which
        if part.lang == "ja" and _what_kind_of(ms):
            cues.discard(Asks.list)  # 「…ってどんな文書？」: what it is, not a list of kinds
            cues.add(Asks.definition)
        if part.lang == "ja" and self._support_request(s):
            cues.add("support")  # 「弊社は…。相談に乗っていただける事業はありますか」
        if part.lang == "ja" and not part.polar and _container(ms):
            cues.add(Asks.list)  # 「申請書には何を書けば」: the matters that go in it
        if _counted(s, part.lang) and not part.polar:
            # (「二つの町で一緒に申請できますか」 counts the towns and asks yes or no)
            cues.add("list")  # 「4つのバリュー」, "the three Kansai Challenges": a list
        wh = any(m.normalized in _WH for m in s.morphs) or (
            part.lang == "en"
            and bool(
                re.match(
                    r"\s*(what|which|who|when|where|how|why)\b", _en_main_clause(s.text).lower()
                )
            )
        )
        if (
            part.lang == "en"
            and Asks.list in cues
            and _EN_POLAR.match(_en_main_clause(s.text).lower())
            and not _EN_LIST_VERB.search(s.text.lower())
        ):
            cues.discard(Asks.list)  # "Is it required to own all the shares?": yes or no
        need = self._need_asked_by_which(s)
        if Asks.list in cues and need:
            # 「どんな手続を経て指定される？」「どのような場所で？」 ask for the thing itself (how,
            # where), not for a list of kinds of it
            cues.discard(Asks.list)
            cues.add(_NEED_ASKS.get(need, Asks.other))
        if Asks.yesno in cues and (wh or cues - {Asks.yesno, Asks.list}):
            cues.discard(Asks.yesno)
        if Asks.support in cues and not self._support_request(s):
            cues.discard(Asks.support)
        if Asks.definition in cues and len(cues) > 1 and not self._definition_form(s):
            cues.discard(Asks.definition)
        if not cues - {Asks.definition, Asks.yesno, Asks.list} and _relative_head(s.morphs):
            # 「…の中で取り上げられてる分野って何？」「必ず定める事項を教えて」: which ones, not
            # what the word means nor whether it is written
            cues -= {Asks.definition, Asks.yesno}
            cues.add(Asks.list)
        for a in _ASKS_ORDER:
            if a in cues:
                if (
                    a is Asks.list
                    and (Asks.amount in cues or Asks.how_many in cues)
                    and not self._plural(s)
                ):
                    continue
                return a
        if part.lang == "en" and re.match(
            r"\s*(what is|what's|what are)\s+(an?\s+|the\s+)?[\w\-\" ]{1,40}\??\s*$", s.text.lower()
        ):
            return Asks.definition
        if part.lang == "ja" and self._definition_form(s):
            return Asks.definition
        return Asks.other

    def _need_asked_by_which(self, s: Sentence) -> str:
        """The need an adnominal interrogative asks for (「どんな手続」 → application): the
        word right after どんな/どのような/どういう is a need's cue."""
        norms = norm_forms(s.morphs)  # the indices the cue spans are given in
        starts = {
            a: name
            for name, rule in self.rules.needs.items()
            for a, _b in rule.cues.match_ja(norms)
        }
        for i, n in enumerate(norms[:-1]):
            if n in _WHICH_ADNOMINAL and i + 1 in starts:
                return starts[i + 1]
        return ""

    def _plural(self, s: Sentence) -> bool:
        """「それぞれの予算」「全部の予算」, "list all … programmes": a list of figures."""
        if detect_lang(s.text) == "en":
            words = _en_words(s.text)
            return bool({"all", "each", "list", "which"} & set(words)) and any(
                w.endswith("s") and len(w) > 4 for w in words
            )
        ms = s.morphs
        return any(
            m.normalized in ("全部", "全て", "其々", "一覧", "各")
            # 「全部で」「全てで」 is the total (「全部でどれくらいの予算？」), not each figure;
            # 「一覧で」 is still a list
            and not (
                m.normalized in ("全部", "全て") and i + 1 < len(ms) and ms[i + 1].surface == "で"
            )
            for i, m in enumerate(ms)
        )

    def _definition_form(self, s: Sentence) -> bool:
        ms = s.morphs
        for i, m in enumerate(ms):
            nxt = ms[i + 1] if i + 1 < len(ms) else None
            after = ms[i + 2] if i + 2 < len(ms) else None
            if (
                m.surface in ("とは", "って")
                and nxt is not None
                and nxt.normalized in ("何", "なに", "どういう", "?")
                # 「…例として挙がってるのって何がある？」: 何 with a case particle asks which
                # things are there, not what a word means
                and not (after is not None and after.surface in ("が", "を", "と"))
            ):
                return True
            if m.surface == "と" and nxt is not None and nxt.surface == "は":
                return True
        # 「「関西(広域経済圏)」って、どこまでの範囲を指してる？」: a term and 指す/意味/定義
        norms = {m.normalized for m in ms}
        quoted = "「" in s.text or any(m.surface in ("って", "とは") for m in ms)
        return quoted and bool(norms & {"指す", "意味", "定義", "位置付け", "位置づけ"})

    def _support_request(self, s: Sentence) -> bool:
        """A support question asks what programmes fit: offer words (支援, 事業, 制度 …) and a fit
        (使える, 合う, 該当 …), a self reference, or a business described in the message."""
        r = self.rules
        if s.morphs and detect_lang(s.text) == "en":
            # "What applies to us?": a support cue, and the asker speaks of themselves
            return r.asks["support"].cues.match_en(s.text) and (
                bool(set(_en_words(s.text)) & r.self_en) or self._profile_seen
            )
        ms = s.morphs
        text = unicodedata.normalize("NFKC", s.text)
        if _CITES_ARTICLE.search(text) or any(
            t in text for t in self.titles if t.endswith(("法", "法律"))
        ):
            # 「中小企業基本法8条で、国が…施策を講じるときの方針は」: what a law says, not which
            # programmes fit the asker
            return False
        if any(m.normalized in _WHO_WH and m.coarse == "代名詞" for m in ms):
            # 「支援事業の実施計画は誰が作る？」: who a law says does it, not which programmes fit
            return False
        offers = [
            i
            for i, m in enumerate(ms)
            if m.normalized in _OFFER
            and not (i + 1 < len(ms) and ms[i + 1].coarse == "名詞")  # 「事業計画」 is no offer
        ]
        if not offers:
            return False
        # 「どんな支援が使えますか」 describes no business: there is nothing to match
        return bool(_self_refs(ms, r.self_ja) or self._profile_seen)

    def _subject_ja(self, part: Part, s: Sentence, cue_idx: set[int], asker: Asker) -> None:
        r = self.rules
        words = asker.words
        keep: list[bool] = []
        idx = 0
        ms = s.morphs
        for mi, m in enumerate(ms):
            if m.coarse in ("補助記号", "空白"):
                keep.append(False)
                continue
            n = m.normalized.lower()
            nxt = ms[mi + 1] if mi + 1 < len(ms) else None
            prev = ms[mi - 1] if mi else None
            conj = m.surface == "それ" and nxt is not None and nxt.surface in ("から", "と", "に")
            conj = conj and (prev is None or prev.surface in ("、", "。", ","))
            if _addressee(ms, mi):  # 「貴連合の」「御連合の」: the addressee, not a topic
                keep.append(False)
                idx += 1
                continue
            own = n in r.self_ja or (
                prev is not None
                and prev.surface == "の"
                and mi >= 2
                and ms[mi - 2].normalized in r.self_ja
            )
            if conj or own:
                keep.append(False)
                idx += 1
                continue
            ok = (
                m.content
                and idx not in cue_idx
                and not (m.coarse == "接尾辞" and m.surface in _DISTRIBUTIVE)
                and n not in QUESTION_WORDS
                and n not in r.social_words
                and m.surface not in words
                and not any(m.surface in w for w in words if len(m.surface) >= 2)
                and not m.is_("名詞", "固有名詞", "人名")
                and n not in ANAPHORA
            ) or (m.coarse == "名詞" and m.is_("名詞", "数詞") and idx not in cue_idx)
            if n in ANAPHORA or m.surface in (
                "それ",
                "その",
                "これ",
                "この",
                "そうした",
                "こうした",
                "そちら",
                "同じ",
            ):
                part.anaphoric = True
            keep.append(bool(ok))
            idx += 1
        framed = ""
        for i, m in enumerate(s.morphs):
            # 「…選ばれる会社になる、という観点は出てきますか」: the noun after という only frames
            # what comes before it, which is the subject as the asker put it
            if (
                i >= 2
                and part.asks is Asks.yesno
                and m.normalized in _FRAMING_NOUNS
                and s.morphs[i - 1].normalized in ("言う", "いう")
                and s.morphs[i - 2].surface == "と"
            ):
                keep[i] = False
                framed = "".join(x.surface for x in s.morphs[: i - 2]).strip("、, 「」")
        part.subject = [
            m.normalized.lower()
            for m, k in zip(s.morphs, keep, strict=True)
            if k and m.coarse != "助詞"
        ]
        part.subject = [t for t in part.subject if t.strip()]
        ms = s.morphs
        part.predicates = {
            m.normalized.lower()
            for i, (m, k) in enumerate(zip(ms, keep, strict=True))
            if k
            and (
                m.coarse in ("動詞", "形容詞", "助動詞")
                # 「拡大する」: a verbal noun used as the verb
                or (i + 1 < len(ms) and m.coarse == "名詞" and ms[i + 1].normalized == "為る")
            )
        }
        part.names = [
            m.surface
            for m, k in zip(s.morphs, keep, strict=True)
            if k
            and m.is_("名詞", "固有名詞")
            and len(m.surface) >= 2
            and not m.is_(
                "名詞", "固有名詞", "地名", "国"
            )  # アメリカ: world context, not a subject
        ]
        part.phrase = _phrase(s.morphs, keep)
        if framed and part.asks is Asks.yesno and len(framed) <= 40:
            part.phrase = framed
        part.compounds = _compounds(s.morphs, keep)
        nominal = [c for c in part.compounds if _nominal(self.tok.parse(c))]
        part.head = nominal[-1] if nominal else ""  # 「…と呼ばれている」: the head is no verb
        asked = _asked_noun(s.morphs)
        part.holds = _container(s.morphs)
        if asked and (any(asked in c for c in part.compounds) or asked == part.holds):
            # 「どんな事項を定めますか」: what is enumerated is 事項; 「申請書には何を書けば」:
            # what goes in the 申請書, though the word also asks for a procedure
            part.head = asked
        part.kind = bool(part.head) and part.head in _asked_kinds(s.morphs)
        if part.asks is Asks.definition:
            part.term = _definition_term(s.morphs) or part.phrase

    def _subject_en(self, part: Part, s: Sentence, asker: Asker) -> None:
        text = s.text
        for w in sorted(asker.words, key=len, reverse=True):
            text = text.replace(w, " ")
        # the words that say what kind of answer is wanted ("how big", "how much") are not
        # what it is about, as the Japanese cues are not
        shapes = [
            p
            for name, rule in self.rules.asks.items()
            if name in part.cues and not rule.subject
            for p in rule.cues.en
        ]
        text = _strip_en(text.lower(), tuple(shapes))
        words = [re.sub(r"'s?$", "", w) for w in _en_words(text)]  # "Governments'" → governments
        words = [w for w in words if w and w not in EN_STOP]
        said = _en_words(s.text)
        part.anaphoric = any(
            w in EN_ANAPHORA
            # "this vision", "that law": the document, not the last answer's subject
            and not (w in ("this", "that") and k + 1 < len(said) and said[k + 1] in _EN_DOCS)
            for k, w in enumerate(said)
        )
        part.subject = words
        part.phrase = " ".join(words[:6])
        ja_span = re.findall(r"[\u30a0-\u30ff\u3400-\u9fff（）()\-ー]{2,}", s.text)
        if part.asks is Asks.definition and ja_span:
            part.term = max(ja_span, key=len)  # 'what does "spillover" (スピルオーバー) mean?'
        elif part.asks is Asks.definition:
            m = re.search(
                r"(?:what is|what's|what are|what does|meaning of|define)\s+(?:an?\s+|the\s+)?([\w\-\" ]{1,40}?)(?:\s+mean|\?|$)",
                text.lower(),
            )
            part.term = m.group(1).strip(' "') if m else part.phrase

    # ---- follow-ups -------------------------------------------------------------------------
    def _carry_over(
        self, parts: list[Part], sentences: list[Sentence], history: list[Message]
    ) -> None:
        """A part with no subject of its own takes the one before it: earlier part, the context
        sentences of the same message, or the previous turn (its question, and the names the
        assistant's answer quoted 「…」)."""
        previous: Part | None = None
        for p in parts:
            item = _ordinal_item(p.text, history)
            if item:  # 「2番目のやつ、もう少し詳しく」: the second thing the last answer listed
                self._inherit(p, item, None)
                p.from_history = True
                previous = p
                continue
            own = _specific(p) and self._known(p)
            if own and not p.anaphoric and (_generic(p) or self._names_only_a_document(p)):
                # 「海のプラごみ問題に関心があります。…関西広域連合としてはどんな事業を？」: a part
                # that names only the publisher and its offers is about the message's topic
                before = [
                    s
                    for s in sentences[: p.sentence]
                    if s.role in (Role.context, Role.profile) and self._has_topic(s, p.lang)
                ]
                if before:
                    self._take_situation(p, before[-1].text)
                previous = p
                continue
            named = self._quoted_before(p, sentences)
            if named is not None:
                # 「「国際拠点空港」という言葉が出てきました。どういう空港のことを…」: the
                # definition asks about the word the message quoted before it
                self._take_situation(p, named.text)
                previous = p
                continue
            if own and not p.anaphoric:
                if (
                    previous is not None
                    and p.polar
                    and p.sentence < len(sentences)
                    and not _has_topic_marker(sentences[p.sentence].morphs)
                ):
                    # 「…一緒に申請できますか？一つの市町村ごとでないとだめでしょうか。」「…誰の
                    # 認定が必要？ちょっとした修正でも要る？」: a yes-no question with no topic of its
                    # own weighs the matter of the one before
                    self._inherit(p, previous.phrase or previous.text, previous)
                elif previous is None and _thin(p):
                    situation = [
                        s.text
                        for s in sentences[: p.sentence]
                        if s.role in (Role.context, Role.profile) and self._has_topic(s, p.lang)
                    ]
                    p.situation = " ".join(situation[-2:])
                    full = self._named_by_head(p, situation[-2:])
                    if full:
                        # 「外国人観光旅客利便増進実施計画を作ることになりました。計画に書かないと
                        # いけない事項は？」: the 計画 is the one the sentence before names
                        self._inherit(p, full, None)
                previous = p
                continue
            if previous is not None:
                # (with what the part before took from its own context: 「…実施計画を作る。計画に
                # 書く事項は？作ったらどこに出す？」 is about that 実施計画)
                source = " ".join(x for x in (previous.inherited, previous.phrase) if x)
                self._inherit(p, source or previous.text, previous)
            else:
                before = [
                    s
                    for s in sentences[: p.sentence]
                    if s.role in (Role.context, Role.profile) and any(m.content for m in s.morphs)
                ]
                if before:
                    self._inherit(p, before[-1].text, None)
                else:
                    topic, prev_part, quoted = self._history_topic(history)
                    if topic:
                        self._inherit(p, topic, prev_part, quoted)
                        p.from_history = True
            previous = p

    def _named_by_head(self, p: Part, texts: list[str]) -> str:
        """The compound of the sentences before that ends in one of the part's nouns (「計画」 →
        「外国人観光旅客利便増進実施計画」), or ""."""
        heads = [c for c in (p.head, *p.compounds) if len(c) >= 2]
        for text in reversed(texts):
            for unit in sorted(self._units(text), key=len, reverse=True):
                if any(unit.endswith(h) and len(unit) > len(h) + 1 for h in heads):
                    return unit
        return ""

    @staticmethod
    def _quoted_before(p: Part, sentences: list[Sentence]) -> Sentence | None:
        """The earlier sentence of the message that quotes the word a definition part asks
        about by its head alone (「どういう空港」 of 「国際拠点空港」)."""
        if p.asks is not Asks.definition or p.lang != "ja" or "「" in p.text or not p.term:
            return None
        for s in reversed(sentences[: p.sentence]):
            if s.role is Role.question:
                continue
            if any(q.endswith(p.term) for q in re.findall(r"「([^「」]{1,30})」", s.text)):
                return s
        return None

    def _inherit(
        self, p: Part, source: str, src: Part | None, quoted: list[str] | None = None
    ) -> None:
        extra = [q for q in quoted or [] if q not in source]  # 「関西パビリオン」 once
        p.inherited = " ".join(dict.fromkeys([*extra, source])).strip()
        if src is not None and src.phrase and not _specific(p):
            p.phrase = src.phrase  # 「前回掲げていた目標額は？」 is about GRP, not 「掲げ」
        terms = list(src.subject) if src is not None else self._terms(source)
        for q in quoted or []:
            terms += self._terms(q)
        p.subject = p.subject + [t for t in dict.fromkeys(terms) if t not in p.subject]
        units = list(src.compounds) if src is not None else self._units(source)
        for q in quoted or []:
            units += self._units(q)
        p.compounds += [c for c in dict.fromkeys(units) if c not in p.compounds]
        if src is not None and not p.years and src.years:
            p.years = list(src.years)

    def _take_situation(self, p: Part, text: str) -> None:
        """The part is about what the sentence or clause before it says; a definition asks for
        the term quoted there (「「経営資源」と出てくるのですが、これは何を指す」, 「「自治事務」という
        言葉が…。地方自治法ではどう定義？」)."""
        self._inherit(p, text, None)
        quoted = re.findall(r"「([^」]{1,30})」", text)
        if p.asks is Asks.definition and quoted:
            p.term = quoted[-1]

    def _names_only_a_document(self, p: Part) -> bool:
        """「地方自治法ではどう定義されていますか」: the subject is the law that scopes the
        question, not what is asked about."""
        phrase = unicodedata.normalize("NFKC", p.phrase or "")
        return bool(phrase) and phrase in self.titles and len(p.compounds) <= 2

    def _known(self, p: Part) -> bool:
        v = self._vocabulary
        return v is None or p.lang != "ja" or any(t in v for t in p.subject if t not in p.soft)

    def _units(self, text: str) -> list[str]:
        if detect_lang(text) != "ja":
            return []
        ms = self.tok.parse(text)
        keep = [
            m.content
            and m.normalized.lower() not in QUESTION_WORDS
            and m.normalized not in ANAPHORA
            for m in ms
        ]
        return _compounds(ms, keep)

    def _history_topic(self, history: list[Message]) -> tuple[str, Part | None, list[str]]:
        """The subject of the last user turn that had one, and what the answer after it quoted."""
        quoted: list[str] = []
        for i in range(len(history) - 1, -1, -1):
            m = history[i]
            if m.role == "assistant" and not quoted:
                quoted = [
                    q
                    for q in re.findall(r"「([^「」]{2,60})」", m.content)
                    if unicodedata.normalize("NFKC", q) not in self.titles  # 「…ビジョン」には
                ][:3]
                continue
            if m.role != "user" or not m.content.strip():
                continue
            u = self.understand(m.content, vocabulary=self._vocabulary)
            for part in reversed(u.parts):
                if _specific(part) and not part.anaphoric:
                    return part.phrase or part.text, part, quoted
                if part.inherited:
                    return part.inherited, part, quoted
            if u.parts:  # 「数値目標は何ですか？」: no specific word, the question itself
                return u.parts[-1].text, u.parts[-1], quoted
        return "", None, quoted

    def _terms(self, text: str) -> list[str]:
        if detect_lang(text) == "en":
            return [w for w in _en_words(text) if w not in EN_STOP]
        return [
            m.normalized.lower()
            for m in self.tok.parse(text)
            if m.content
            and m.normalized.lower() not in QUESTION_WORDS
            and m.normalized not in ANAPHORA
        ]

    def _has_topic(self, s: Sentence, lang: str) -> bool:
        """A statement has something to search only if it names something: 「とても分かりやすかった
        です」 (no noun) is a remark on the exchange, 「海外に輸出したい」 names 海外 and 輸出."""
        if lang != "ja":
            return bool(set(_en_words(_strip_en(s.text.lower(), self.rules.social.en))) - EN_STOP)
        if self._remark(s):
            return False
        return any(
            m.coarse == "名詞"
            and not m.is_("名詞", "数詞")
            and m.normalized not in self.rules.social_words
            and m.normalized not in ANAPHORA
            for m in s.morphs
        )

    # ---- chit-chat -----------------------------------------------------------------------------
    def _identity_question(self, text: str, lang: str) -> bool:
        """「あなたは誰？」, "are you a bot?", 「何ができるの？」: about the assistant itself.
        Only a short message that is nothing but that (「AIについて触れていますか」 is not); a
        second sentence may offer the alternative (「あなたってAI？それとも中の人がいるの？」)."""
        sentences = [s for s in self._sentences(text, lang) if s.role is not Role.social]
        if len(text) > 80 or not sentences:
            return False
        if len(sentences) > 1:
            if not all(_alternative(s) for s in sentences[1:]):
                return False
            text = sentences[0].text
        if len(text) > 40:
            return False
        if self.rules.chitchat["identity"].cues.match_en(text) or (
            lang == "ja"
            and re.search(
                r"(あなた|君|きみ)(は|って).{0,12}(誰|だれ|何|なに|ロボット|ボット|AI|人間)", text
            )
        ):
            self._chit = "identity"
            return True
        rule = self.rules.chitchat["help"]
        if rule.cues.match_en(text) or (
            lang == "ja" and rule.cues.match_ja(norm_forms(self.tok.parse(text)))
        ):
            self._chit = "help"
            return True
        return False

    def _remark(self, s: Sentence) -> bool:
        """「説明がわかりやすかったです」「とても参考になりました」: a statement on the exchange
        itself, past or evaluative, made only of remark and social words; not a request
        (「詳しく説明して」 has neither tense nor judgement) and not a question."""
        if s.role is Role.question:
            return False
        judged = any(
            (m.is_("助動詞") and m.normalized == "た")
            or m.coarse == "形容詞"
            or m.is_("接尾辞", "形容詞的")
            for m in s.morphs
        )
        words = self.rules.remark_words | self.rules.social_words
        return judged and all(
            m.normalized.lower() in words or m.surface in words
            for m in s.morphs
            if (m.content and m.coarse != "接尾辞") or m.is_("接尾辞", "形容詞的")
        )

    def _chitchat(self, text: str, lang: str) -> str:
        morphs = self.tok.parse(text)
        if lang == "ja" and self.rules.chitchat["ack"].cues.match_ja(norm_forms(morphs)):
            return "ack"  # 「承知しました」 takes the answer in; it thanks no one
        if lang == "ja" and any(self._remark(s) for s in self._sentences(text, lang)):
            return "thanks"
        for name in ("identity", "help", "thanks", "bye", "test", "ack", "greeting"):
            rule = self.rules.chitchat[name]
            if rule.cues.match_en(text) or (
                lang == "ja" and rule.cues.match_ja(norm_forms(morphs))
            ):
                return name
        return "greeting"


# question words that ask for an actor: 「誰が作る？」 asks who, not which programmes fit
_WHO_WH = frozenset(["誰", "どなた"])
_WH = frozenset(
    [
        "何",
        "なに",
        "どれ",
        "どこ",
        "何処",
        "いつ",
        "どう",
        "如何",
        "どの",
        "どんな",
        "どのような",
        "どういう",
        "どういった",
        "誰",
        "なぜ",
        "何故",
        "幾ら",
        "幾つ",
        "どちら",
        "どなた",
    ]
)


_COUNTERS = frozenset(["つ", "個", "種類", "点", "項目", "分野", "本", "柱", "項"])
_EN_NUMBERS = frozenset(
    [
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "2",
        "3",
        "4",
        "5",
        "6",
        "7",
        "8",
        "9",
        "10",
    ]
)


def _counted(s: Sentence, lang: str) -> bool:
    """A counted noun: 「4つのバリュー」「2つの将来像」, "the three Kansai Challenges"."""
    if lang == "en":
        words = _en_words(s.text)
        return any(
            w in _EN_NUMBERS and any(x.endswith("s") for x in words[i + 1 : i + 4])
            for i, w in enumerate(words)
        )
    ms = s.morphs
    return any(
        m.is_("名詞", "数詞") and i + 1 < len(ms) and ms[i + 1].surface in _COUNTERS
        for i, m in enumerate(ms)
    ) or any(m.coarse == "名詞" and re.fullmatch(r"\d+つ", m.surface) for m in ms)


_MAX = (
    "一番",
    "いちばん",
    "最も",
    "最大",
    "最高",
    "トップ",
    "一位",
    "largest",
    "biggest",
    "highest",
    "most",
)
_MIN = (
    "最小",
    "最低",
    "最も少な",
    "一番少な",
    "いちばん少な",
    "一番小さ",
    "smallest",
    "lowest",
    "least",
)


def _rank(s: Sentence) -> str:
    """「いちばん予算が大きいのは？」: the largest (or smallest) of a list of figures."""
    t = s.text.lower()
    if any(w in t for w in _MIN):
        return "min"
    if not any(w in t for w in _MAX):
        return ""
    # 「最も予算が少ないのは？」: the superlative's adjective says which end
    after = {m.normalized for m in s.morphs if m.coarse == "形容詞"}
    return "min" if after & {"少ない", "小さい", "低い", "安い", "短い"} else "max"


_EN_DOCS = frozenset(["vision", "document", "documents", "law", "act", "plan", "report", "paper"])
# an English yes-no question opens with its auxiliary; only a verb that asks for a list
# ("Can you list…", "Could you name…") makes one a list question
_EN_POLAR = re.compile(
    r"\s*(?:is|are|was|were|do|does|did|can|could|must|should|may|will|would|has|have|need)\b"
)
_EN_LIST_VERB = re.compile(r"\b(?:list|name|enumerate|give me)\b")
_REQUEST_VERBS = frozenset(["教える", "知る", "示す", "挙げる", "伺う", "聞く", "紹介", "案内"])


_EN_SUBORDINATE = re.compile(r"\s*(?:when|if|once|after|before|where|while)\b[^,?]*,\s*", re.I)


_CONDITIONAL = frozenset(["と", "ば", "たら", "なら"])


def _en_main_clause(text: str) -> str:
    """ "When the minister sets the policy, must any other minister be consulted?": what is
    asked is the main clause; the clause before the comma only sets the scene."""
    m = _EN_SUBORDINATE.match(text)
    return text[m.end() :] if m and len(text) > m.end() + 3 else text


_CITES_ARTICLE = re.compile(
    r"第?\s*[0-9一二三四五六七八九十百千]+\s*条(?:の\s*[0-9一二三四五六七八九十]+)?"
)


# verbs of handing something over: 「どこに」 with them asks for the addressee
_HAND_OVER = frozenset(
    [
        "出す",
        "提出",
        "届け出る",
        "届出",
        "届ける",
        "申請",
        "申し込む",
        "送る",
        "報告",
        "通知",
        "申し出る",
    ]
)


def _addressee_asked(ms: list[Morpheme]) -> bool:
    """「どこに出す」「どこへ提出すれば」「どこに届け出る」: どこ + に/へ before a verb of handing over."""
    for i, m in enumerate(ms[:-2]):
        if m.normalized in ("何処", "どこ") and ms[i + 1].surface in ("に", "へ"):
            rest = [x.normalized for x in ms[i + 2 : i + 4]]
            return any(r in _HAND_OVER for r in rest)
    return False


# suffixes that only distribute (「号ごとに」「一人ずつ」): no subject
_DISTRIBUTIVE = frozenset(["ごと", "毎", "ずつ"])


def _polar(s: Sentence, lang: str) -> bool:
    """A yes-no question: "Does … need approval?", 「…兼ねるのは問題ないですか」 (no question
    word, not a request to tell: 「担当者を教えてもらえますか」 asks for the person)."""
    if lang != "ja":
        text = _en_main_clause(s.text).lower()
        return bool(_EN_POLAR.match(text)) and not _EN_LIST_VERB.search(text)
    norms = {m.normalized for m in s.morphs}
    if norms & _WH or norms & _REQUEST_VERBS:
        return False
    content = [m for m in s.morphs if m.coarse not in ("補助記号", "空白")]
    while content and (content[-1].is_("助詞", "終助詞") or content[-1].is_("助詞", "準体助詞")):
        content = content[:-1]  # 「…のかな」「…んですよね」: the predicate is before them
    # it ends in a predicate: 「…問題ないですか」 is polar, 「担当者の名前は？」 is not
    return bool(content) and content[-1].coarse in ("動詞", "形容詞", "助動詞")


_FRAMING_NOUNS = frozenset(
    [
        "観点",
        "視点",
        "考え",
        "考え方",
        "点",
        "事",
        "こと",
        "内容",
        "記述",
        "話",
        "趣旨",
        "文言",
        "言葉",
    ]
)
# nouns whose 「どこ」 asks which one of them (a country, a prefecture, a company), not a place
_WHICH_ENTITY = (
    "国",
    "府県",
    "県",
    "都市",
    "市",
    "地域",
    "企業",
    "会社",
    "大学",
    "団体",
    "機関",
    "組織",
    "自治体",
)


def _only_places(ms: list[Morpheme], lang: str, text: str) -> list[str]:
    """「大阪府だけの出生率」「関西だけで見ると」, "for Osaka alone": a place name the question
    limits itself to (a proper noun right before だけ/のみ/限定)."""
    if lang != "ja":
        hit = re.search(r"\b(?:for|in)\s+([A-Z][a-z]+)\s+(?:alone|only)\b", text)
        return [hit.group(1)] if hit else []
    out = []
    for i, m in enumerate(ms[:-1]):
        nxt = ms[i + 1]
        if m.pos[:2] == ("名詞", "固有名詞") and (
            nxt.surface in ("だけ", "のみ") or nxt.normalized == "限定"
        ):
            out.append(m.surface)
    return out


# the adnominal interrogatives, as Sudachi may also write them (どのよう, 如何)
_WHAT_KIND = _WHICH_ADNOMINAL | {"どの様", "どのよう", "どういった", "如何"}


def _what_kind_of(ms: list[Morpheme]) -> bool:
    """「関西広域産業ビジョンってどんな文書？」「シナジーとはどういうものですか」: a topic, then
    どんな + one noun that ends the question (copula and particles aside) asks what it is."""
    words = [m for m in ms if m.coarse not in ("補助記号", "空白")]
    for i, m in enumerate(words[1:-1], start=1):
        if m.surface not in _WHAT_KIND and m.normalized not in _WHAT_KIND:
            continue
        before, noun, rest = words[i - 1], words[i + 1], words[i + 2 :]
        if before.surface not in ("って", "とは", "は") or noun.coarse != "名詞":
            return False
        return all(r.coarse in ("助動詞", "助詞") for r in rest)
    return False


def _quoted_positions(morphs: list[Morpheme]) -> set[int]:
    """Positions, in :func:`norm_forms` numbering (symbols and spaces left out), of the words
    inside 「…」 or 『…』."""
    out: set[int] = set()
    depth, k = 0, 0
    for m in morphs:
        if m.coarse in ("補助記号", "空白"):
            depth += m.surface.count("「") + m.surface.count("『")
            depth = max(0, depth - m.surface.count("」") - m.surface.count("』"))
            continue
        if depth:
            out.add(k)
        k += 1
    return out


def _asks_change(s: Sentence) -> bool:
    norms = {m.normalized for m in s.morphs}
    return bool(
        norms & {"変わる", "変える", "変更", "違う", "同じ", "修正", "見直す", "上がる", "下がる"}
    ) or bool(re.search(r"\b(change|changed|different|same)\b", s.text.lower()))


_ORDINAL = re.compile(
    r"(\d+|[一二三四五六七八九十])\s*(?:番目|つ目|個目)|(最初|一番目|はじめ)の|(最後)の|"
    r"\b(first|second|third|fourth|fifth|last|\d)(?:st|nd|rd|th)?\s+(?:one|item|point|value|vision|programme|program)\b",
    re.I,
)
_EN_ORD = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "last": -1}
_KANJI_ORD = {**{k: v for k, v in DIGITS.items() if v}, "十": 10}  # 一 … 十


def _ordinal_item(text: str, history: list[Message]) -> str:
    """The item an ordinal points at in the last answer (「2番目の」, "the second one")."""
    m = _ORDINAL.search(text)
    if not m or not history:
        return ""
    if m.group(1):
        g = m.group(1)
        n = int(g) if g.isdigit() else _KANJI_ORD.get(g, 0)
    elif m.group(2):
        n = 1
    elif m.group(3):
        n = -1
    else:
        g = m.group(4).lower()
        n = int(g) if g.isdigit() else _EN_ORD.get(g, 0)
    answer = next((h.content for h in reversed(history) if h.role == "assistant"), "")
    items = _listed(answer)
    if not n or not items:
        return ""
    if n == -1:
        return items[-1]
    return items[n - 1] if n <= len(items) else ""


def _listed(answer: str) -> list[str]:
    """What an answer lists: bullet or numbered lines, else 「…」 quotes, else 「A、B、Cです」."""
    lines = [
        re.sub(r"^\s*(?:[・\-•*]|\d+[.)、．])\s*", "", ln).strip()
        for ln in answer.splitlines()
        if re.match(r"^\s*(?:[・\-•*]|\d+[.)、．])\s*\S", ln)
    ]
    if len(lines) >= 2:
        return [re.sub(r"\[\d+\]", "", ln).strip() for ln in lines]
    # 「…として、①スケールメリット(規模の経済、域内最適化)、②シナジー(…)…を発揮し」: numbered inline
    circled = [
        _first_clause(x) for x in re.findall(r"[\u2460-\u2473]\s*([^\u2460-\u2473]+)", answer)
    ]
    if len(circled) >= 2:
        return [x for x in circled if x]
    quoted = re.findall(r"「([^「」]{2,60})」", answer)
    if len(quoted) >= 2:
        return quoted
    m = re.search(r"(?:は|:|：)\s*([^。]+?)(?:です|。|$)", answer)
    parts = [x.strip() for x in _split_outside_brackets(m.group(1))] if m else []
    return [x for x in parts if x] if len(parts) >= 2 else []


def _split_outside_brackets(text: str) -> list[str]:
    """``text`` cut at 「、」 and 「,」 that are not inside brackets (「A(a、b)、B」 → A(a、b), B)."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "(（「『[":
            depth += 1
        elif ch in ")）」』]":
            depth = max(0, depth - 1)
        elif ch in "、," and depth == 0:
            out.append(text[start:i])
            start = i + 1
    out.append(text[start:])
    return out


def _first_clause(text: str) -> str:
    """An inline item up to its end: the first 「、」 outside brackets, or its closing bracket
    when text follows it (「ダイバーシティ(多様性、地域特性)を発揮し、…」 → ダイバーシティ(…))."""
    item = _split_outside_brackets(text.split("。")[0])[0].strip()
    m = re.match(r"^(.+?[)）])(?=[^)）]*$)", item)
    return m.group(1) if m and len(m.group(1)) < len(item) else item


def _elliptical_request(morphs: list[Morpheme]) -> bool:
    """A request cut short after a question: 「あと、それぞれの取組アイデアを一つずつ。」「それと、
    予算も。」「また、2つの将来像についても。」 — a connective, or a noun phrase ending in も, and
    no predicate at its end (the request is the one before)."""
    ms = [m for m in morphs if m.coarse not in ("補助記号", "空白")]
    i = 0
    if ms and (_connective(ms, 0) or ms[0].surface in ("後", "ついで")):
        i = 1
        while i < len(ms) and ms[i].coarse == "助詞":  # それ|と, 加え|て, ついで|に
            i += 1
    rest = ms[i:]
    if not rest or rest[-1].coarse in ("動詞", "形容詞", "助動詞"):
        return False
    if not any(m.coarse == "名詞" and m.content for m in rest):
        return False
    return i > 0 or (rest[-1].surface == "も" and rest[-1].is_("助詞", "係助詞"))


def _has_predicate(morphs: list[Morpheme]) -> bool:
    return any(m.coarse in ("動詞", "形容詞", "助動詞") for m in morphs)


def _en_words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9][a-z0-9\-']*", text.lower())


def _strip_en(text: str, patterns: tuple[re.Pattern[str], ...]) -> str:
    for p in sorted(patterns, key=lambda p: -len(p.pattern)):  # "best regards" before "regards"
        text = p.sub(" ", text)
    return text


# a request inside a sentence that does not start as one ("Thanks, and could you tell me …")
_EN_REQUEST = re.compile(
    r"\?|\b(tell|please|could|can|would|know|explain|list|show|give|send|need|want|wonder|"
    r"what(?!\s+(?:i|we)\b)|which|who|when|where|why|how)\b",
    re.IGNORECASE,
)


def _en_question(text: str) -> bool:
    t = text.strip().lower()
    return t.endswith("?") or bool(
        re.match(
            r"(what|which|who|whom|whose|when|where|why|how|is|are|does|do|did|can|could|would|will|"
            r"should|tell|please|list|give|show|describe|explain|name|i'd like|i would like|i want)\b",
            t,
        )
    )


_RELATIVE_YEAR = {
    "来年度": 1,
    "来年": 1,
    "次年度": 1,
    "翌年度": 1,
    "再来年度": 2,
    "昨年度": -1,
    "前年度": -1,
    "昨年": -1,
}


def _years(text: str) -> list[str]:
    """Years a question names, as western years where possible (令和5 → 2023; 来年度 → the
    year after the document's)."""
    out = [
        str(DOCUMENT_YEAR + d)
        for w, d in _RELATIVE_YEAR.items()
        if w in text and not any(w in x and w != x for x in _RELATIVE_YEAR if x in text)
    ]
    for m in _YEAR.finditer(text):
        if m.group(1):
            n = 1 if m.group(2) == "元" else int(m.group(2))
            out.append(str((2018 if m.group(1) == "令和" else 1988) + n))
        else:
            out.append(m.group(3) or m.group(4) or m.group(5))
    return out


def _phrase(morphs: list[Morpheme], keep: list[bool]) -> str:
    """The longest run of subject words, with の・ and numbers allowed inside (「関西スタートアップの
    ポテンシャルの発信強化」, 「4つのバリュー」)."""
    best: list[Morpheme] = []
    run: list[Morpheme] = []
    for m, k in zip(morphs, keep, strict=True):
        glue = (
            m.surface in ("の", "・", "「", "」", "(", ")", "-")
            or m.is_("接尾辞")
            or m.surface == "つ"
        )
        if k or (glue and run):
            run.append(m)
        else:
            while run and (run[-1].surface in ("の", "・", "「", "(", "-")):
                run.pop()
            if len(run) >= len(best) and run and not _only_a_count(run):
                best = run  # on a tie the later run: Japanese puts the head noun last
            run = []
    while run and run[-1].surface in ("の", "・", "「", "(", "-"):
        run.pop()
    if len(run) > len(best) and not _only_a_count(run):
        best = run
    return "".join(m.surface for m in best).strip("「」()")


def _only_a_count(run: list[Morpheme]) -> bool:
    """「3つ」「一つずつ」「2点」: how many, not what the part is about."""
    return all(m.is_("名詞", "数詞") or m.is_("接尾辞") or m.surface in ("つ", "ずつ") for m in run)


def _explanatory_end(ms: list[Morpheme]) -> bool:
    """「…と出てくるのですが、」「…を検討しているんですけど、」: the explanatory の/ん, a copula and
    が/けど mark what comes before as the asker's situation, whatever words it uses."""
    words = [m.surface for m in ms if m.coarse not in ("補助記号", "空白")]
    tail = "".join(words[-3:])
    return bool(re.search(r"[のん](?:です|だ|でございます)(?:が|けど|けれど|けれども)$", tail))


def _frame_length(ms: list[Morpheme]) -> int:
    """How many words (symbols left out, as in norms) the topic frame the sentence opens with
    takes before its に (「補助金につきまして、…」 → 1), or 0."""
    for i, m in enumerate(ms):
        if m.surface in ("、", ",") and _topic_frame(ms[:i]):
            words = [w for w in ms[:i] if w.coarse not in ("補助記号", "空白")]
            return next(j for j in range(len(words) - 1, -1, -1) if words[j].surface == "に")
    return 0


def _topic_frame(ms: list[Morpheme]) -> bool:
    """A sentence that opens with what it is about: 「スタートアップ支援について、」「水素に関して
    は、」「補助金につきまして、」 — a noun phrase, に, 付く or 関する (polite or not), て."""
    words = [m for m in ms if m.coarse not in ("補助記号", "空白")]
    while words and words[-1].surface == "は" and words[-1].is_("助詞", "係助詞"):
        words.pop()
    if not words or words[-1].surface not in ("て", "ては"):
        return False
    words.pop()
    if words and words[-1].normalized == "ます":
        words.pop()
    if len(words) < 3 or words[-1].normalized not in ("付く", "つく", "関する"):
        return False
    if words[-2].surface != "に" or not words[-2].is_("助詞", "格助詞"):
        return False
    head = words[:-2]
    return all(m.coarse in ("名詞", "接頭辞", "接尾辞") or m.surface == "の" for m in head)


def _background_end(ms: list[Morpheme]) -> bool:
    """A clause that states the asker's situation ends in 〜ており, 〜ていますが, 〜ているので,
    〜ため: a predicate with a stative or a reason/contrast ending (not a bare 「活かして」)."""
    words = [m for m in ms if m.coarse not in ("補助記号", "空白")]
    if len(words) < 2:
        return False
    last, before = words[-1], words[-2]
    if last.coarse == "動詞" and last.normalized in ("居る", "おる"):
        return True  # 「検討しており」
    if last.is_("助詞", "接続助詞") and last.surface in (
        "が",
        "けど",
        "けれど",
        "けれども",
        "ので",
        "から",
    ):
        return before.coarse in ("動詞", "助動詞")
    if last.coarse == "助動詞" and last.surface == "で" and before.surface == "の":
        return True  # 「考えているので」
    return last.surface == "ため" and before.coarse in ("動詞", "助動詞")


def _connective(ms: list[Morpheme], i: int) -> bool:
    """A word that adds one more thing to ask after a comma: a conjunction (また, および), or what
    Sudachi writes as a pronoun and a particle (それから, それと), or an additive adverb (さらに,
    あと, 加えて)."""
    m = ms[i]
    nxt = ms[i + 1] if i + 1 < len(ms) else None
    if m.coarse == "接続詞":
        return True
    if m.surface == "それ" and nxt is not None and nxt.surface in ("から", "と", "に"):
        return True
    if m.normalized in ("更に", "さらに", "加える", "併せる") and m.coarse in ("副詞", "動詞"):
        return True
    return m.surface == "あと" and nxt is not None and nxt.coarse in ("名詞", "補助記号")


# organisation nouns that 御 (in kanji) makes "your …" in letters: 御社, 御連合, 御局
_ORG_NOUNS = frozenset(["社", "連合", "局", "庁", "省", "団体", "機構", "課", "部", "協会", "組合"])


def _addressee(ms: list[Morpheme], i: int) -> bool:
    """The morpheme at ``i`` (or the prefix before it) names the addressee: 貴 + a noun (貴連合,
    貴局, 貴団体), 御 in kanji + an organisation noun (御連合, 御社). 「ご支援」 is no addressee."""
    m = ms[i]
    nxt = ms[i + 1] if i + 1 < len(ms) else None
    if m.coarse == "接頭辞" and m.surface in ("貴", "御") and nxt is not None:
        return nxt.coarse == "名詞" and (m.surface == "貴" or nxt.normalized in _ORG_NOUNS)
    prev = ms[i - 1] if i else None
    return (
        prev is not None
        and m.coarse == "名詞"
        and prev.coarse == "接頭辞"
        and (prev.surface == "貴" or (prev.surface == "御" and m.normalized in _ORG_NOUNS))
    )


def _asked_noun(ms: list[Morpheme]) -> str:
    """The noun that どんな / どのような / どういった asks about (「どんな事項を」 → 事項)."""
    for i, m in enumerate(ms):
        if m.surface in ("どんな", "どういった") or (
            m.surface == "どの" and i + 1 < len(ms) and ms[i + 1].surface == "よう"
        ):
            j = i + 1
            while j < len(ms) and ms[j].surface in ("よう", "な", "様"):
                j += 1
            noun = ""
            while j < len(ms) and ms[j].coarse in ("名詞", "接尾辞"):
                noun += ms[j].surface
                j += 1
            return noun
    return _container(ms)


def _container(ms: list[Morpheme]) -> str:
    """The noun whose contents 何 asks for (「申請書には何を書けば」「計画には何を定める」 → the
    申請書, the 計画): the compound right before には/に that 何 follows."""
    for i, m in enumerate(ms):
        if m.normalized not in ("何", "なに", "なん") or i < 2:
            continue
        j = i - 1
        if ms[j].surface == "は":
            j -= 1
        if ms[j].surface != "に":
            continue
        noun = ""
        j -= 1
        while j >= 0 and ms[j].coarse in ("名詞", "接尾辞") and not ms[j].is_("名詞", "数詞"):
            noun = ms[j].surface + noun
            j -= 1
        return noun
    return ""


def _relative_head(ms: list[Morpheme]) -> bool:
    """What is asked is a noun modified by a clause ending in a verb (「取り上げられてる分野って
    何」, 「挙げられている事業とは何」, 「配慮しなければならない事項は何」, 「必ず定める事項を教えて」):
    the question asks for its members."""
    for i, m in enumerate(ms):
        topic = m.surface in ("って", "とは", "は") or (
            m.surface == "と" and i + 1 < len(ms) and ms[i + 1].surface == "は"
        )
        rest = [x.normalized for x in ms[i + 1 : i + 4] if x.coarse not in ("補助記号", "助詞")]
        # 「…分野って何？」, and 「…取り上げられている分野は？」 (nothing after は: what are they)
        what = (bool(rest) and rest[0] in ("何", "なに", "なん")) or (
            m.surface == "は" and not rest
        )
        told = m.surface == "を" and bool(rest) and rest[0] in ("教える", "知る")
        if not ((topic and what) or told) or i < 2:
            continue
        j = i - 1
        while j >= 0 and ms[j].coarse in ("名詞", "接尾辞") and ms[j].pos[1:2] != ("固有名詞",):
            j -= 1
        if j == i - 1 or j < 0:
            return False
        if ms[j].normalized in _FUNCTIONAL_VERBS:
            return False  # 「伝統産業に関する取組みは？」: a postposition, not a clause
        return ms[j].coarse in ("動詞", "助動詞") or ms[j].is_("助詞", "接続助詞")
    return False


# verbs that work as postpositions before a noun (「…に関する取組み」, 「…に向けた事業」)
_FUNCTIONAL_VERBS = frozenset(
    [
        "関する",
        "対する",
        "係る",
        "掛かる",
        "因る",
        "拠る",
        "於く",
        "伴う",
        "向ける",
        "基づく",
        "通じる",
        "亘る",
    ]
)


def _alternative(s: Sentence) -> bool:
    """「それとも中の人がいるの？」, "Or a person?": a short sentence offering another answer
    to the question before it."""
    words = [m for m in s.morphs if m.coarse not in ("補助記号", "空白")]
    if not words or len(s.text) > 25 or not s.text.rstrip(" 。.").endswith(("?", "か", "の")):
        return False
    first = words[0]
    return (
        first.coarse == "接続詞"
        or s.text.startswith(("それとも", "もしかして"))
        or first.surface.lower() in ("or", "maybe")
    )


def _self_refs(morphs: list[Morpheme], self_words: frozenset[str]) -> set[str]:
    """The asker's words for themselves (当社, うち, 弊社); 「…のうち」 is "among", not "we"."""
    out = set()
    for i, m in enumerate(morphs):
        if m.normalized in self_words and not (
            m.surface == "うち" and i > 0 and morphs[i - 1].surface == "の"
        ):
            out.add(m.normalized)
    return out


def _wish(s: Sentence) -> bool:
    """A sentence that says what the asker wants to do (〜たい, 検討して, めざして; "we want to")."""
    if detect_lang(s.text) == "en":
        return bool(re.search(r"\b(want|would like|plan|hope|looking)\b", s.text.lower()))
    return any(
        m.normalized in ("たい", "検討", "目指す", "希望", "計画")
        and m.coarse in ("助動詞", "名詞", "動詞")
        for m in s.morphs
    )


def _nominal(morphs: list[Morpheme]) -> bool:
    """A unit that ends in a noun (or a noun suffix): something a list can be *of*."""
    words = [m for m in morphs if m.coarse not in ("補助記号", "空白")]
    return bool(words) and words[-1].coarse in ("名詞", "接尾辞")


def _asked_kinds(morphs: list[Morpheme]) -> set[str]:
    """Nouns an interrogative determines: 「どのような取組み」「どんな施策」「何の事業」「どういった分野」.
    Japanese interrogatives are the ど-/何 words; the noun after them is the kind of thing asked for."""
    out: set[str] = set()
    for i, m in enumerate(morphs):
        asking = (
            (m.coarse in ("連体詞", "副詞") and m.surface.startswith("ど"))
            or (m.is_("代名詞") and m.surface in ("何", "なに", "なん"))
            # 「…という考え方」「…といった取組」: a quoted description names a kind, too
            or (m.normalized == "言う" and i > 0 and morphs[i - 1].surface == "と")
        )
        if not asking:
            continue
        for n in morphs[i + 1 : i + 4]:
            if n.coarse == "名詞":
                run = [n]
                k = morphs.index(n, i + 1) + 1
                while k < len(morphs) and morphs[k].coarse == "名詞":
                    run.append(morphs[k])
                    k += 1
                out.add("".join(x.surface for x in run))
                out.add(run[-1].surface)
                break
            if n.coarse not in ("助詞", "動詞", "助動詞"):
                break
    return out


def _compounds(morphs: list[Morpheme], keep: list[bool]) -> list[str]:
    """The subject's units as written: words joined by affixes or a verb stay one unit
    (「6次産業化」「空飛ぶクルマ」), two nouns side by side are two (「スタートアップ」「支援」)."""
    out: list[str] = []
    run: list[Morpheme] = []

    def flush() -> None:
        if run:
            text = "".join(m.surface for m in run)
            if len(text) >= 2:
                out.append(text)
        run.clear()

    for m, k in zip(morphs, keep, strict=True):
        if not k or m.coarse == "助詞":
            flush()
            continue
        prev = run[-1] if run else None
        plain = m.coarse == "名詞" and not m.is_("名詞", "数詞") and len(m.surface) >= 2
        prev_plain = (
            prev is not None
            and prev.coarse == "名詞"
            and not prev.is_("名詞", "数詞")
            and len(prev.surface) >= 2
        )
        if plain and prev_plain:
            flush()
        run.append(m)
    flush()
    return list(dict.fromkeys(out))


def _definition_term(morphs: list[Morpheme]) -> str:
    """The noun phrase before とは / って / の意味 (「シナジー」, 「関西(広域経済圏)」)."""
    surfaces = [m.surface for m in morphs]
    for i, s in enumerate(surfaces):
        if (
            s in ("とは", "って")
            or (s == "と" and i + 1 < len(surfaces) and surfaces[i + 1] == "は")
            or (s == "の" and i + 1 < len(morphs) and morphs[i + 1].normalized in ("意味", "定義"))
        ):
            j = i
            while j > 0 and (
                morphs[j - 1].coarse in ("名詞", "接頭辞", "接尾辞")
                or morphs[j - 1].surface in ("(", ")", "・", "-", "「", "」", "の")
            ):
                j -= 1
            while j < i and (
                morphs[j].normalized in ANAPHORA
                or morphs[j].surface in ("そのうち", "うち", "その", "この", "そもそも")
            ):
                j += 1
            written = "".join(surfaces[j:i])
            quoted = re.search(r"[「『]([^「」『』]+)[」』]$", written)
            if quoted:  # 「中小企業基本法の「経営資源」とは」: the quoted word is the term
                return quoted.group(1)
            term = written.strip("「」『』 の")
            if term:
                return term
    # 「…の「文化学術研究交流施設」はどう定められていますか」: the word it quotes
    words = re.findall(r"[「『]([^「」『』]{1,30})[」』]", "".join(surfaces))
    return words[-1] if words else ""


def _merge(parts: list[Part], vocabulary: set[str] | None) -> list[Part]:
    """A part with no subject of its own (「予算規模も教えてください」, 「中身もあわせて知りたい」)
    asks more about the part before it: it joins that part, its cues and needs with it."""
    out: list[Part] = []
    for p in parts:
        known = vocabulary is None or any(t in vocabulary for t in p.subject)
        asks_something = bool(p.needs) or p.asks is not Asks.other
        # 「庁内説明資料に使いたいので」 (words the documents never use, asking nothing) joins the
        # part before; 「パブコメの締め切りは？」 asks about an unknown thing: it stays a part
        own = _specific(p) and (known or asks_something)
        if out and (not own or (p.anaphoric and not p.names)):
            prev = out[-1]
            if p.asks not in (Asks.other, prev.asks) and prev.asks is not Asks.other:
                out.append(p)  # 「…ブランドと、令和5年度の予算額を」: its own question
                continue
            if (
                prev.asks is Asks.other
                and p.asks in (Asks.amount, Asks.how_many, Asks.date)
                and p.situation
                and not p.anaphoric
                and _specific(prev)
            ):
                # 「スタートアップ支援について、ブランドと、令和5年度の予算額を」: the budget is the
                # topic's (the sentence's frame), not the brand's
                out.append(p)
                continue
            if p.when not in (When.any, prev.when) and p.asks is not Asks.other:
                # 「目標額は？それと、前回の目標額は？」: the same figure at another time
                out.append(p)
                continue
            prev.cues |= p.cues
            prev.needs += [n for n in p.needs if n not in prev.needs]
            if prev.asks is Asks.other and p.asks is not Asks.other:
                prev.asks = p.asks
            if p.when is not When.any:
                prev.when = p.when
            prev.text = f"{prev.text} {p.text}"
            continue
        out.append(p)
    return out


def _possessors(spans: dict[str, list[tuple[int, int]]], ms: list[Morpheme]) -> list[str]:
    """Needs whose every cue only names what another need is asked of: 「補助金の申請締切」,
    「手数料の支払期限」 and 「補助金の問い合わせ先」 ask for a deadline and a contact; the
    subsidy and the fee are what they are about. A cue is a possessor when the noun phrase it
    opens (through 「の」 or as the head of a compound) goes on to another need's cue."""

    def noun_phrase_after(b: int) -> range:
        j = b
        while j < len(ms) and (
            ms[j].coarse in ("名詞", "接頭辞", "接尾辞") or ms[j].surface == "の"
        ):
            j += 1
        return range(b, j)

    out = []
    for name, own in spans.items():
        others = {a for n, sp in spans.items() if n != name for a, _ in sp}
        if own and others and all(any(i in others for i in noun_phrase_after(b)) for _, b in own):
            out.append(name)
    return out


def _has_topic_marker(ms: list[Morpheme]) -> bool:
    """The sentence sets a topic or subject of its own (「補助金は」「届出が」「中小企業って」)."""
    return any(
        (m.is_("助詞", "係助詞") and m.surface in ("は", "って"))
        # 「補助金も」 adds a topic; 「ちょっとした修正でも」 (even) does not
        or (m.is_("助詞", "係助詞") and m.surface == "も" and i > 0 and ms[i - 1].coarse == "名詞")
        or (m.is_("助詞", "格助詞") and m.surface == "が")
        or (m.is_("助詞", "副助詞") and m.surface == "って")
        for i, m in enumerate(ms)
    )


def _thin(p: Part) -> bool:
    """The part names one or two things of its own (「誰の許可が必要ですか」)."""
    own = [
        t
        for t in p.subject
        if t not in p.soft and t not in p.predicates and not _TIME_WORD.fullmatch(t)
    ]
    return len(set(own)) <= 2


def _specific(p: Part) -> bool:
    """The part names something of its own (not only cue words, a time, 関西 or what is
    done: 「じゃあ2030年にはどこまで伸びる見込み？」 names no thing)."""
    return any(
        t
        for t in p.subject
        if t not in ("関西", "kansai")
        and t not in p.soft
        and t not in p.predicates
        and not _TIME_WORD.fullmatch(t)
    )


_PUBLISHER = frozenset(["関西", "広域", "連合", "関西広域連合", "kansai", "union", "governments"])


def _generic(p: Part) -> bool:
    """The part names only the publisher and what it offers (「関西広域連合としてはどんな事業を」)."""
    own = [t for t in p.subject if t not in p.soft and t not in p.predicates]
    own = [t for t in own if not _TIME_WORD.fullmatch(t)]
    return bool(own) and all(t in _PUBLISHER or t in _OFFER for t in own)


_TIME_WORD = re.compile(r"\d+|年|年度|月|日|令和|平成|元|fy\d*")
_OFFER = frozenset(
    [
        "支援",
        "事業",
        "施策",
        "制度",
        "取組",
        "取組み",
        "取り組み",
        "プログラム",
        "補助",
        "助成",
        "メニュー",
        "セミナー",
        "イベント",
        "フォーラム",
    ]
)
_FIT = frozenset(
    [
        "使う",
        "活用",
        "利用",
        "当て嵌まる",
        "該当",
        "合う",
        "向く",
        "御勧め",
        "勧める",
        "受ける",
        "関わる",
        "関係",
        "関連",
        "参加",
        "相談",
        "乗る",
        "応援",
    ]
)
