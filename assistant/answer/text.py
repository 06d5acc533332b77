"""Language detection, sentence splitting and the content terms used by the guard."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from assistant.text.numerals import normalize_numbers
from assistant.text.tokenizer import SudachiTokenizer, Tokenizer

_JA_CHARS = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
_JA_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]+")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]+")
_MARKER = re.compile(r"\[(\d{1,3}(?:\s*[,、]\s*\d{1,3})*)\]")
_NUMBER = re.compile(r"\d+(?:[,.]\d+)*")
_BULLET = re.compile(r"^(?:[-–—・◇◆●■▶*]\s*)+")
_SENT = re.compile(r"[^。！？!?\n]+(?:[。！？]+|[.!?]+(?=\s|$)|$)|[。！？]")
CONTENT_POS = frozenset({"名詞", "動詞", "形容詞", "形状詞", "副詞", "接頭辞", "接尾辞"})
GENERIC_TERMS = frozenset(
    [
        "為る",
        "成る",
        "居る",
        "有る",
        "在る",
        "無い",
        "言う",
        "思う",
        "出来る",
        "こと",
        "もの",
        "よう",
        "ため",
        "等",
        "方",
        "的",
        "化",
        "性",
        "つい",
        "関する",
        "対する",
        "於く",
        "通す",
        "係る",
        "記載",
        "資料",
        "ビジョン",
        "文書",
        "教える",
        "質問",
        "回答",
        "何",
        "どう",
        "どの",
        "どれ",
        "くらい",
        "具体",
        "内容",
        "について",
        "ある",
        "いる",
        "下さる",
        "宜しい",
        "宜しく",
        "御",
        "願う",
        "頂く",
        "致す",
        "申す",
        "存じる",
        "伺う",
        "貰う",
        "呉れる",
        "欲しい",
        "つく",
    ]
)
_PLEASANTRY = re.compile(
    r"^(いつも)?お世話になって|よろしくお願い|宜しくお願い|お忙しいところ|突然のご連絡|"
    r"失礼いたします|ありがとうございま|^(はじめまして|初めまして)|^(拝啓|敬具)|"
    r"^thank you|^best regards|^hello|^hi\b|^dear\b|ご?担当者?様|御中|^.{0,25}様$",
    re.IGNORECASE,
)


def focus(text: str) -> str:
    """The question without pleasantries ("よろしくお願いします"), which only add noise to search."""
    kept = [s for s in split_sentences(text) if not _PLEASANTRY.search(s.strip())]
    return " ".join(kept).strip() or text.strip()


_INSTRUCTION = re.compile(
    r"(指示|命令|ルール).{0,12}(無視|従わ|忘れ)|無視して|と(答え|回答し|出力し|言い)(なさい|ろ|よ|てください|て下さい)|"
    r"(答え|出力し|回答し)なさい|(ignore|disregard|forget) (all |any |the )?(previous|prior|above|earlier)|"
    r"you are now|developer mode|system prompt|</?passages?\b|^\s*(system|assistant|user)\s*:|^\s*【出典】",
    re.IGNORECASE,
)


def looks_like_instruction(text: str) -> bool:
    """Text addressed to the model ("ignore previous instructions", 「…」と答えなさい, fake
    prompt markup or source lists). Document text is data: such lines are never evidence."""
    return bool(_INSTRUCTION.search(text))


def japanese_runs(text: str) -> list[str]:
    """The runs of Japanese in a text (「中小企業支援法」 of "Under the 中小企業支援法, who…")."""
    return _JA_RUN.findall(text or "")


def detect_lang(text: str) -> str:
    """'ja' when the text is written in Japanese, else 'en'. An English sentence that quotes
    Japanese terms ("Under the 中小企業支援法, who draws up…", "a plan (外客来訪促進計画)") is
    English: its words far outnumber the runs of Japanese it quotes."""
    runs = japanese_runs(text)
    if not runs:
        return "en"
    words = _LATIN_WORD.findall(text)
    opens_in_english = bool(re.match(r"\W*[A-Za-z]", text))
    return "en" if opens_in_english and len(words) >= max(4, 2 * len(runs)) else "ja"


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def markers(text: str) -> list[int]:
    out: list[int] = []
    for m in _MARKER.finditer(text):
        out.extend(int(x) for x in re.split(r"[,、]", m.group(1)) if x.strip())
    return out


def strip_markers(text: str) -> str:
    return _MARKER.sub("", text).strip()


def strip_bullet(text: str) -> str:
    return _BULLET.sub("", text).strip()


def split_sentences(text: str) -> list[str]:
    """Sentences of a passage: line breaks and 。！？ end them (markers stay attached), but
    not inside brackets: a statute's 「…広域計画(以下「広域計画」という。)を作成し…」 is one
    sentence, not one ending in 「という。」 and one starting with 「)を作成し」."""
    out: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        # a line that opens with a closing bracket goes on with the sentence above it (a
        # statute's 別表 breaks its lines inside 「(…に限る。)」)
        depth = 1 if out and line[0] in ")）」』" else 0
        for m in _SENT.finditer(line):
            s = m.group().strip()
            if not s:
                continue
            if depth > 0 and out:
                out[-1] += s
            else:
                out.append(s)
            depth = max(0, depth + _depth(s))
    return out


_OPEN, _CLOSE = "(（「『", ")）」』"


def _depth(s: str) -> int:
    return sum(s.count(c) for c in _OPEN) - sum(s.count(c) for c in _CLOSE)


def split_answer(text: str) -> list[str]:
    """Units of an answer: sentences with their trailing citation markers; "\n" keeps layout."""
    units: list[str] = []
    for li, line in enumerate(text.split("\n")):
        if li:
            units.append("\n")
        buf = ""
        i = 0
        while i < len(line):
            ch = line[i]
            buf += ch
            i += 1
            ends = ch in "。！？" or (ch in ".!?" and (i == len(line) or line[i] in " [\t"))
            if not ends:
                continue
            while i < len(line) and line[i] in "。！？.!?":
                buf += line[i]
                i += 1
            # trailing spaces and markers belong to this sentence
            while True:
                m = re.match(r"\s*\[\d{1,3}(?:\s*[,、]\s*\d{1,3})*\]", line[i:])
                if not m:
                    break
                buf += m.group()
                i += m.end()
            units.append(buf)
            buf = ""
            while i < len(line) and line[i] == " ":
                i += 1
        if buf.strip():
            units.append(buf)
    return units


_LOOP = re.compile(r"(.{3,40}?)\1{2,}", re.DOTALL)


def looping(text: str) -> bool:
    """The same run of words three times in a row (「三重県を加えた福井県、三重県を加えた福井県、…」):
    a model stuck in a loop, not a sentence. The run holds at least three letters, so 「…・・・」
    or a ruled line is not one."""
    return any(sum(1 for c in m.group(1) if c.isalpha()) >= 3 for m in _LOOP.finditer(text))


def numbers(text: str) -> set[str]:
    """Numbers written in ``text``, normalised (NFKC, kanji numerals as digits — 二十人 and 20人
    are one number — no thousands separators)."""
    return {n.replace(",", "") for n in _NUMBER.findall(normalize_numbers(nfkc(text)))}


@dataclass
class Terms:
    content: set[str]
    proper: set[str]


def content_terms(tokenizer: Tokenizer, text: str) -> Terms:
    """Normalised content words (C and A units) and the proper nouns written in ``text``."""
    text = nfkc(strip_markers(text))
    content: set[str] = set(t for t in tokenizer.tokenize(text) if t not in GENERIC_TERMS)
    proper: set[str] = set()
    if isinstance(tokenizer, SudachiTokenizer):
        content = set()
        for _surface, norm, pos, _sub in tokenizer.analyze(text):
            if pos in CONTENT_POS and norm not in GENERIC_TERMS and _wordlike(norm):
                content.add(norm.lower())
        for t in tokenizer.tokenize(text):
            if t not in GENERIC_TERMS and _wordlike(t):
                content.add(t)
        proper = proper_nouns(tokenizer, text)
    return Terms(content=content, proper=proper)


def _wordlike(term: str) -> bool:
    """A word, not a number or a symbol (numbers are checked separately, exactly)."""
    return any(unicodedata.category(c)[0] == "L" for c in term) and term not in ("約",)


_KATAKANA = re.compile(r"[\u30a0-\u30ffー]{4,}")
_LATIN = re.compile(r"[A-Za-z][A-Za-z0-9\-]{1,}")


def proper_nouns(tokenizer: SudachiTokenizer, text: str) -> set[str]:
    """Names a sentence must not invent: Sudachi proper nouns, long katakana words, acronyms."""
    text = nfkc(text)
    found: set[str] = set()
    for surface, _norm, pos, sub in tokenizer.analyze(text):
        if pos == "名詞" and sub == "固有名詞" and len(surface) >= 2:
            found.add(surface)
    for m in _KATAKANA.finditer(text):
        found.add(m.group())
    for m in _LATIN.finditer(text):
        word = m.group()
        if sum(1 for c in word if c.isupper()) >= 2:  # GRP, MICE, MaaS, KANSAI
            found.add(word)
    return found


def of_article(label: str, articles: list[str]) -> bool:
    """A citation label (「中小企業支援法 第13条第2項」, or 「第13条第2項」) is of one of the
    articles (「第13条」; not 「第13条の2」)."""
    title, _, rest = label.partition(" ")
    art = rest if rest and not title.startswith("附則") else label  # 「附則 第2条」 is no 第2条
    return any(art == a or art.startswith(a + "第") for a in articles)
