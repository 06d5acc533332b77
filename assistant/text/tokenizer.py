"""Lexical tokenizers for BM25 and the faithfulness guard.

``Tokenizer.tokenize(text) -> list[str]`` is the one seam. The product uses
:class:`SudachiTokenizer`: split modes C and A together (both units, like Elasticsearch's
sudachi "search" mode), ``normalized_form``, dropping particles, auxiliary verbs, symbols
and whitespace. Measured on JSQuAD this beat mode C surface forms (see README).

Both tokenizers see the *search form* of a text (:mod:`assistant.text.normalize`): kanji
numerals as digits and old kana as modern, on the index side and the query side alike.
"""

from __future__ import annotations

import importlib.metadata
import re
import threading
import unicodedata
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from assistant.text.normalize import VERSION as SEARCH_FORM_VERSION
from assistant.text.normalize import search_form

# SudachiPy refuses input longer than 49,149 bytes; stay well below it.
MAX_CHUNK_BYTES = 40_000

DROP_POS = frozenset({"助詞", "助動詞", "補助記号", "空白", "記号"})


@dataclass(frozen=True)
class Morpheme:
    """One word of the analysis the answer rules read (Sudachi's, or a plain stand-in)."""

    surface: str
    normalized: str
    pos: tuple[str, ...]  # part of speech, coarse to fine: ("名詞", "固有名詞", "人名", "姓")

    @property
    def coarse(self) -> str:
        return self.pos[0] if self.pos else ""

    def is_(self, *path: str) -> bool:
        """True when the part of speech starts with ``path`` (``m.is_("名詞", "固有名詞")``)."""
        return self.pos[: len(path)] == path

    @property
    def content(self) -> bool:
        return self.coarse in CONTENT_POS


CONTENT_POS = frozenset({"名詞", "動詞", "形容詞", "形状詞", "副詞", "接頭辞", "接尾辞", "代名詞"})


@runtime_checkable
class Tokenizer(Protocol):
    """The lexical seam: text in, normalized terms out; and the analysis behind them."""

    name: str

    def tokenize(self, text: str) -> list[str]: ...

    def parse(self, text: str) -> list[Morpheme]: ...

    def version(self) -> str: ...


def split_for_sudachi(text: str, max_bytes: int = MAX_CHUNK_BYTES) -> list[str]:
    """Split ``text`` into pieces under ``max_bytes`` (UTF-8), at line or sentence ends."""
    if len(text.encode("utf-8")) <= max_bytes:
        return [text]
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for unit in _units(text):
        b = len(unit.encode("utf-8"))
        if b > max_bytes:  # a single enormous "sentence": cut by characters
            if current:
                pieces.append("".join(current))
                current, size = [], 0
            step = max_bytes // 4
            pieces.extend(unit[i : i + step] for i in range(0, len(unit), step))
            continue
        if size + b > max_bytes and current:
            pieces.append("".join(current))
            current, size = [], 0
        current.append(unit)
        size += b
    if current:
        pieces.append("".join(current))
    return pieces


def _units(text: str) -> list[str]:
    out: list[str] = []
    start = 0
    for i, ch in enumerate(text):
        if ch in "。！？!?\n":
            out.append(text[start : i + 1])
            start = i + 1
    if start < len(text):
        out.append(text[start:])
    return out


class SudachiTokenizer:
    """SudachiPy with one underlying tokenizer per thread (a shared one raises SudachiError)."""

    name = "sudachi"

    def __init__(self, modes: str = "CA", drop_pos: frozenset[str] = DROP_POS) -> None:
        from sudachipy import Dictionary, SplitMode

        self._split_mode = SplitMode
        self._modes = modes
        self._drop_pos = drop_pos
        self._dictionary = Dictionary(dict="core")
        self._local = threading.local()

    def _tok(self):  # type: ignore[no-untyped-def]
        tok = getattr(self._local, "tok", None)
        if tok is None:
            tok = self._dictionary.tokenizer(mode=self._split_mode.C)
            self._local.tok = tok
        return tok

    def morphemes(self, text: str) -> list[tuple[str, str, str]]:
        """(surface, normalized form, coarse POS) for every mode-C morpheme."""
        out: list[tuple[str, str, str]] = []
        tok = self._tok()
        for piece in split_for_sudachi(text):
            for m in tok.tokenize(piece):
                out.append((m.surface(), m.normalized_form(), m.part_of_speech()[0]))
        return out

    def analyze(self, text: str) -> list[tuple[str, str, str, str]]:
        """(surface, normalized form, POS, POS subcategory) for every mode-C morpheme."""
        tok = self._tok()
        out: list[tuple[str, str, str, str]] = []
        for piece in split_for_sudachi(text):
            for m in tok.tokenize(piece):
                pos = m.part_of_speech()
                out.append((m.surface(), m.normalized_form(), pos[0], pos[1]))
        return out

    def parse(self, text: str) -> list[Morpheme]:
        """Every mode-C morpheme with its normalized form and full part of speech."""
        tok = self._tok()
        out: list[Morpheme] = []
        for piece in split_for_sudachi(unicodedata.normalize("NFKC", text)):
            for m in tok.tokenize(piece):
                pos = tuple(p for p in m.part_of_speech()[:4] if p != "*")
                out.append(Morpheme(m.surface(), m.normalized_form(), pos))
        return out

    def spans(self, text: str) -> list[tuple[int, int, str, str]]:
        """(begin, end, POS, POS subcategory) of every mode-C morpheme (character offsets)."""
        tok = self._tok()
        out: list[tuple[int, int, str, str]] = []
        offset = 0
        for piece in split_for_sudachi(text):
            for m in tok.tokenize(piece):
                pos = m.part_of_speech()
                out.append((offset + m.begin(), offset + m.end(), pos[0], pos[1]))
            offset += len(piece)
        return out

    def tokenize(self, text: str) -> list[str]:
        text = search_form(text, self.spans)
        tok = self._tok()
        terms: list[str] = []
        use_a = "A" in self._modes
        for piece in split_for_sudachi(text):
            for m in tok.tokenize(piece):
                if m.part_of_speech()[0] in self._drop_pos:
                    continue
                norm = m.normalized_form().lower()
                if not norm.strip():
                    continue
                terms.append(norm)
                if use_a:
                    subs = m.split(self._split_mode.A)
                    if len(subs) > 1:
                        for s in subs:
                            if s.part_of_speech()[0] in self._drop_pos:
                                continue
                            sn = s.normalized_form().lower()
                            if sn.strip() and sn != norm:
                                terms.append(sn)
        return terms

    def version(self) -> str:
        return (
            f"sudachipy={importlib.metadata.version('sudachipy')};"
            f"sudachidict-core={importlib.metadata.version('sudachidict-core')};"
            f"modes={self._modes};drop={','.join(sorted(self._drop_pos))};{SEARCH_FORM_VERSION}"
        )


class CharBigramTokenizer:
    """Character bigrams: a dictionary-free baseline for benchmarks and fast fakes."""

    name = "char-bigram"

    def tokenize(self, text: str) -> list[str]:
        text = search_form(text).lower()
        chars = [c for c in text if not c.isspace() and unicodedata.category(c)[0] in "LN"]
        if len(chars) < 2:
            return chars
        return [chars[i] + chars[i + 1] for i in range(len(chars) - 1)]

    def parse(self, text: str) -> list[Morpheme]:
        """No dictionary: runs of letters or digits are nouns, the rest symbols."""
        out: list[Morpheme] = []
        for m in _RUNS.finditer(unicodedata.normalize("NFKC", text)):
            word = m.group()
            pos = ("名詞", "普通名詞") if word[0].isalnum() else ("補助記号",)
            out.append(Morpheme(word, word.lower(), pos))
        return out

    def version(self) -> str:
        return f"char-bigram=1;{SEARCH_FORM_VERSION}"


_RUNS = re.compile(r"\w+|[^\w\s]")


_shared: dict[str, Tokenizer] = {}
_lock = threading.Lock()


def get_tokenizer(name: str = "sudachi") -> Tokenizer:
    """A process-wide tokenizer (thread-safe: Sudachi keeps one tokenizer per thread)."""
    with _lock:
        tok = _shared.get(name)
        if tok is None:
            if name == "sudachi":
                tok = SudachiTokenizer()
            elif name == "char-bigram":
                tok = CharBigramTokenizer()
            else:
                raise ValueError(f"unknown tokenizer {name!r}")
            _shared[name] = tok
        return tok
