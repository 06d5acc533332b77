"""e-Gov statutes (法令検索 HTML): parsed into their structure, chunked by article.

Recognised by e-Gov's markup (``id="lawTitle"`` and ``_div_ArticleTitle`` / ``MainProvision``);
any other HTML stays with the generic loader. The page chrome, the table of contents, CSS and
ruby readings are dropped. The text keeps the statute's own spelling (kanji numerals, old kana)
for display; the search form is made by the tokenizers (:mod:`assistant.text.normalize`).

Structure: 編/章/節/款/目 and 附則 are the heading path; an article (条, with its caption) is one
chunk, or one chunk per paragraph (項) when the article is long, or groups of items (号) when a
single paragraph is. Chunks never mix two articles. Every chunk has a citation label with
Arabic numbers (「中小企業基本法 第2条」, 「地方自治法 第252条の19第1項」), and the outline
(:mod:`ingest.structure`) gives every article, paragraph and item its own node and label.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from assistant.text.numerals import to_arabic
from ingest.chunker import Chunk, split_sentences
from ingest.structure import Node, NodeKind

SOURCE = "e-Gov 法令データ"
FORMAT = "egov-statute"
_FILE_NAME = re.compile(r"^(?P<law_id>\w+?)_(?P<date>\d{8})_(?P<amend>\w+)$")

# e-Gov's block classes (``_div_X``) → what they are
_HEADINGS = {"PartTitle": 1, "ChapterTitle": 2, "SectionTitle": 3, "SubsectionTitle": 4}
_HEADINGS["DivisionTitle"] = 5
_BLOCKS = {
    *_HEADINGS,
    "ArticleCaption",
    "ArticleTitle",
    "ParagraphCaption",
    "ParagraphSentence",
    "ItemSentence",
    "SupplProvisionLabel",
    "AppdxTableTitle",
    "TableStructTitle",
    "EnactStatement",
    *(f"Subitem{i}Sentence" for i in range(1, 11)),
}
_SPACES = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F\u200B-\u200F\u2028\u2029\uFEFF]")
_LEAD = re.compile(r"次の各号|次に掲げる|各号の|次の(?:いずれか|とおり)")


def _clean(text: str) -> str:
    """NFKC (circled paragraph numbers ② → 2 too), spaces collapsed; e-Gov text has no PDF
    artefacts, so the spaces between columns (「…の規定 公布の日」) stay."""
    text = unicodedata.normalize("NFKC", text)
    return _SPACES.sub(" ", _CONTROL.sub("", text)).strip()


def is_egov_statute(html: str) -> bool:
    """e-Gov 法令検索 markup: the law title block and article or paragraph blocks."""
    head = html[:400_000]
    return 'id="lawTitle"' in head and (
        "_div_ArticleTitle" in html or "_div_ParagraphSentence" in html
    )


@dataclass
class Block:
    kind: str  # an e-Gov class without ``_div_``, or "Row" for a table row
    num: str = ""  # the bold number: 第二条, ２, 一, イ, （１）
    text: str = ""
    cells: tuple[str, ...] = ()
    in_suppl: bool = False


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self.law_title = ""
        self.law_num = ""
        self._div_depth = 0
        self._block: Block | None = None
        self._block_depth = 0
        self._bold = False
        self._skip_depth = 0  # inside the table of contents
        self._section_depth = 0
        self._rt = 0
        self._id_block = ""  # lawTitle / lawTitleNo
        self._id_depth = 0
        self._in_suppl_depth = 0
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._text: list[str] = []

    # tags ------------------------------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        classes = a.get("class", "").split()
        if tag == "section":
            self._section_depth += 1
            if a.get("id") == "TOC" and not self._skip_depth:
                self._skip_depth = self._section_depth
            if "SupplProvision" in classes and not self._in_suppl_depth:
                self._in_suppl_depth = self._section_depth
        if self._skip_depth:
            return
        if tag == "rt":
            self._rt += 1
        elif tag == "tr":
            self._row = []
        elif tag == "td" or tag == "th":
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")
        elif tag == "span" and "bold" in a.get("style", "") and self._block is not None:
            self._bold = True
        if tag != "div":
            return
        self._div_depth += 1
        if a.get("id") in ("lawTitle", "lawTitleNo") and not self._id_block:
            self._id_block, self._id_depth = a["id"], self._div_depth
            self._text = []
            return
        if self._block is not None:
            return
        kind = next((c[5:] for c in classes if c.startswith("_div_") and c[5:] in _BLOCKS), "")
        if kind:
            self._block = Block(kind=kind, in_suppl=bool(self._in_suppl_depth))
            self._block_depth = self._div_depth
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            if self._skip_depth == self._section_depth:
                self._skip_depth = 0
            elif self._in_suppl_depth == self._section_depth:
                self._in_suppl_depth = 0
            self._section_depth -= 1
            return
        if self._skip_depth:
            return
        if tag == "rt":
            self._rt = max(0, self._rt - 1)
        elif tag == "span":
            self._bold = False
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(_clean("".join(self._cell)))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            cells = tuple(c for c in self._row if c)
            if cells:
                self.blocks.append(
                    Block(
                        "Row",
                        text=" | ".join(cells),
                        cells=cells,
                        in_suppl=bool(self._in_suppl_depth),
                    )
                )
            self._row = None
        if tag != "div":
            return
        if self._id_block and self._div_depth == self._id_depth:
            text = _clean("".join(self._text))
            if self._id_block == "lawTitle":
                self.law_title = text
            else:
                self.law_num = text
            self._id_block = ""
        elif self._block is not None and self._div_depth == self._block_depth:
            b = self._block
            b.num = _clean(b.num)
            b.text = _clean("".join(self._text))
            if b.text or b.num:
                self.blocks.append(b)
            self._block = None
        self._div_depth -= 1

    def handle_data(self, data: str) -> None:
        if self._skip_depth or self._rt:
            return
        if self._cell is not None:
            self._cell.append(data)
            return
        if self._id_block:
            self._text.append(data)
        elif self._block is not None:
            if self._bold and not self._text and not self._block.num.strip():
                self._block.num = data
            elif self._bold and not "".join(self._text).strip():
                self._block.num += data
            else:
                self._text.append(data)


# ---- the statute as units ---------------------------------------------------------------------
@dataclass
class Line:
    """One rendered line of the statute, with its outline node."""

    text: str
    node: Node


@dataclass
class Unit:
    """An article (or a supplementary paragraph, a table, a preamble): never split across units."""

    path: list[str]  # heading path (編 > 章 > 節 > … > 第二条(見出し))
    label: str  # 第2条, 附則第3条, 別表第1
    lines: list[Line] = field(default_factory=list)
    paragraphs: list[list[Line]] = field(default_factory=list)  # lines per 項 (for long units)


@dataclass
class Statute:
    law_name: str
    law_num: str
    law_id: str
    effective: str  # 2025-04-01 (from the file name)
    amended_by: str
    units: list[Unit]
    outline: list[Node]
    lines: list[str]  # rendered text, one block per line (positions refer to these)

    def meta(self) -> dict[str, Any]:
        return {
            "kind": "statute",
            "law_name": self.law_name,
            "law_num": self.law_num,
            "law_num_arabic": to_arabic(self.law_num),
            "law_id": self.law_id,
            "effective": self.effective,
            "amended_by": self.amended_by,
            "source": SOURCE,
        }


def version_from_name(path: Path) -> tuple[str, str, str]:
    """(law id, effective date YYYY-MM-DD, amending law id) from e-Gov's file name."""
    m = _FILE_NAME.match(path.stem)
    if not m:
        return "", "", ""
    d = m.group("date")
    return m.group("law_id"), f"{d[:4]}-{d[4:6]}-{d[6:]}", m.group("amend")


def parse(html: str, path: Path, doc_id: str) -> Statute:
    p = _Parser()
    p.feed(html)
    p.close()
    law_id, effective, amend = version_from_name(path)
    builder = _Builder(doc_id, p.law_title or path.stem)
    for b in p.blocks:
        builder.add(b)
    return Statute(
        law_name=p.law_title or path.stem,
        law_num=p.law_num,
        law_id=law_id,
        effective=effective,
        amended_by=amend,
        units=builder.finish(),
        outline=builder.nodes,
        lines=builder.rendered,
    )


def arabic_label(num: str) -> str:
    """第二百九十一条の二 → 第291条の2; ２ / ② → 2; 一の二 → 1の2."""
    num = num.strip()
    circled = {chr(0x2460 + i): str(i + 1) for i in range(20)}
    num = "".join(circled.get(c, c) for c in num)
    return to_arabic(num, lambda _t: [(0, len(_t), "名詞", "数詞")])


class _Builder:
    """Turns the block stream into units, rendered lines and outline nodes."""

    def __init__(self, doc_id: str, law_name: str) -> None:
        self.doc_id = doc_id
        self.nodes: list[Node] = []
        self.rendered: list[str] = []
        self.units: list[Unit] = []
        self.headings: dict[int, tuple[str, Node]] = {}  # level → (text, node)
        self.suppl: tuple[str, str, Node] | None = None  # (heading, label prefix, node)
        self.caption = ""  # an article caption waiting for its article
        self.pcaption = ""  # a paragraph caption (附則) waiting for its paragraph
        self.unit: Unit | None = None
        self.article: Node | None = None  # the article (or 別表) the current unit is
        self.paragraph: Node | None = None
        self.items: dict[int, Node] = {}  # depth (1 = 号, 2 = イ, …) → node
        self.title = self._node(NodeKind.document, law_name, None, level=1)

    def _render(self, text: str) -> int:
        self.rendered.append(text)
        return len(self.rendered)

    def _node(
        self,
        kind: NodeKind,
        text: str,
        parent: Node | None,
        level: int = 0,
        label: str = "",
        cells: tuple[str, ...] = (),
        extra: dict[str, Any] | None = None,
        line: int | None = None,
    ) -> Node:
        node = Node(
            id=f"{self.doc_id}#n{len(self.nodes)}",
            doc_id=self.doc_id,
            kind=kind,
            text=text,
            parent=parent.id if parent else None,
            level=level,
            line=self._render(text) if line is None else line,
            cells=cells,
            label=label,
            extra=extra or {},
        )
        self.nodes.append(node)
        return node

    def _path(self) -> list[str]:
        if self.suppl:
            return [self.suppl[0]]
        return [t for _lvl, (t, _n) in sorted(self.headings.items())]

    def _parent_heading(self) -> Node:
        if self.suppl:
            return self.suppl[2]
        if self.headings:
            return self.headings[max(self.headings)][1]
        return self.title

    def _prefix(self) -> str:
        return self.suppl[1] if self.suppl else ""

    def _new_unit(self, path: list[str], label: str) -> Unit:
        self._close_unit()
        self.unit = Unit(path=path, label=label)
        return self.unit

    def _add_line(self, text: str, node: Node, new_paragraph: bool = False) -> None:
        if self.unit is None:
            self._new_unit(self._path() or ["本則"], node.label)
        assert self.unit is not None
        self.unit.lines.append(Line(text, node))
        if new_paragraph or not self.unit.paragraphs:
            self.unit.paragraphs.append([])
        self.unit.paragraphs[-1].append(Line(text, node))

    # the stream --------------------------------------------------------------------------------
    def add(self, b: Block) -> None:
        kind = b.kind
        if kind in _HEADINGS:
            self._close_unit()
            level = _HEADINGS[kind]
            self.headings = {k: v for k, v in self.headings.items() if k < level}
            parent = self._parent_heading()
            label = self._prefix() + arabic_label(b.text.split(" ")[0])
            node = self._node(NodeKind.heading, b.text, parent, level=parent.level + 1, label=label)
            self.headings[level] = (b.text, node)
        elif kind == "SupplProvisionLabel":
            self._close_unit()
            self.headings = {}
            heading = _suppl_heading(b.text)
            label = "附則" + _suppl_amend(b.text)
            node = self._node(NodeKind.heading, heading, self.title, level=2, label=label)
            self.suppl = (heading, label, node)
        elif kind == "ArticleCaption":
            self._close_unit()
            self.caption = b.text
        elif kind == "ArticleTitle":
            self._article(b)
        elif kind == "ParagraphCaption":
            self.pcaption = b.text
        elif kind == "ParagraphSentence":
            self._paragraph(b)
        elif kind == "ItemSentence" or kind.startswith("Subitem"):
            depth = 1 if kind == "ItemSentence" else int(re.sub(r"\D", "", kind)) + 1
            self._item(b, depth)
        elif kind == "Row":
            parent = self.paragraph or self.article or self._parent_heading()
            node = self._node(NodeKind.row, b.text, parent, label=parent.label, cells=b.cells)
            self._add_line(b.text, node)
        elif kind == "AppdxTableTitle":
            self.suppl = None
            self.headings = {}
            label = arabic_label(b.text.split(" ")[0])
            node = self._node(NodeKind.heading, b.text, self.title, level=2, label=label)
            self._new_unit([b.text], label)
            self.article = node
            self._add_line(b.text, node)
        elif kind == "EnactStatement":
            node = self._node(NodeKind.text, b.text, self.title, label="制定文")
            self._new_unit(["制定文"], "制定文")
            self._add_line(b.text, node)
            self._close_unit()
        elif kind == "TableStructTitle":
            parent = self.article or self._parent_heading()
            node = self._node(NodeKind.text, b.text, parent, label=parent.label)
            self._add_line(b.text, node)

    def _article(self, b: Block) -> None:
        num = b.num or b.text.split(" ")[0]
        label = self._prefix() + arabic_label(num)
        heading = f"{num}{self.caption}"
        parent = self._parent_heading()
        self._new_unit([*self._path(), heading], label)
        caption_line = self._render(self.caption) if self.caption else None
        node = self._node(
            NodeKind.heading,
            heading,
            parent,
            level=parent.level + 1,
            label=label,
            extra={"caption": self.caption} if self.caption else {},
            line=caption_line or len(self.rendered) + 1,
        )
        self.article = node
        if self.caption:
            self._add_line(self.caption, node)
        self.caption = ""
        line = f"{num} {b.text}" if b.text else num
        self._paragraph_node(line, b.text, "1")

    def _paragraph(self, b: Block) -> None:
        num = arabic_label(b.num) if b.num else ""
        if self.article is None:
            # outside an article (附則 paragraphs, the preamble): a paragraph is its own unit;
            # the preamble's unnumbered paragraphs stay together
            label = self._prefix() + (f"第{num}項" if num else "前文")
            if num or self.unit is None or self.unit.label != label:
                self._new_unit(self._path() or ["前文"], label)
        line = f"{b.num} {b.text}" if b.num else b.text
        self._paragraph_node(line, b.text, num)

    def _paragraph_node(self, line: str, sentence: str, num: str) -> None:
        assert self.unit is not None
        if self.article is not None:
            parent = self.article
            label = f"{self.article.label}第{num}項" if num else self.article.label
        else:
            parent = self._parent_heading()
            label = self.unit.label
        caption_line = self._render(self.pcaption) if self.pcaption else None
        kind = NodeKind.lead if _LEAD.search(sentence) else NodeKind.text
        extra = {"caption": self.pcaption} if self.pcaption else {}
        node = self._node(kind, line, parent, label=label, extra=extra)
        if self.pcaption and caption_line:
            self.unit.lines.append(Line(self.pcaption, node))
            self.unit.paragraphs.append([Line(self.pcaption, node)])
            self.pcaption = ""
            self.unit.lines.append(Line(line, node))
            self.unit.paragraphs[-1].append(Line(line, node))
        else:
            self._add_line(line, node, new_paragraph=True)
        self.paragraph = node
        self.items = {}

    def _item(self, b: Block, depth: int) -> None:
        parent = self.items.get(depth - 1) if depth > 1 else None
        parent = parent or self.paragraph or self.article or self._parent_heading()
        num = arabic_label(b.num)
        label = f"{parent.label}第{num}号" if depth == 1 else f"{parent.label}{num}"
        line = f"{b.num} {b.text}".strip()
        node = self._node(NodeKind.item, line, parent, level=depth, label=label)
        self.items = {k: v for k, v in self.items.items() if k < depth}
        self.items[depth] = node
        self._add_line(line, node)

    def _close_unit(self) -> None:
        if self.unit is not None and self.unit.lines:
            self.units.append(self.unit)
        self.unit = None
        self.article = None
        self.paragraph = None
        self.items = {}

    def finish(self) -> list[Unit]:
        self._close_unit()
        return self.units


def _suppl_amend(text: str) -> str:
    """「附 則 (昭和四八年一〇月一五日法律第一一五号) 抄」 → 「(昭和48年10月15日法律第115号)」."""
    m = re.search(r"\(([^()]*)\)", text)
    return f"({to_arabic(m.group(1))})" if m else ""


def _suppl_heading(text: str) -> str:
    """「附 則 (…) 抄」 → 「附則 (…) 抄」."""
    return re.sub(r"^附\s*則", "附則", text).strip()


# ---- chunks --------------------------------------------------------------------------------------
@dataclass
class StatuteChunker:
    """An article per chunk; a long article per paragraph; a long paragraph in item groups."""

    limit: int = 900  # an article up to this many characters stays whole
    hard_limit: int = 1200  # a single sentence longer than this is cut at sentence ends

    def chunks(self, doc_id: str, statute: Statute) -> list[Chunk]:
        out: list[Chunk] = []
        for unit in statute.units:
            for label, lines, extra_path in self._pieces(unit):
                text_lines = self._cut(lines)
                for part in text_lines:
                    nodes = [ln.node for ln in part]
                    out.append(
                        Chunk(
                            doc_id=doc_id,
                            title=statute.law_name,
                            headings=[*unit.path, *extra_path],
                            text="\n".join(ln.text for ln in part),
                            line_start=min(n.line for n in nodes),
                            line_end=max(n.line for n in nodes),
                            extra={
                                "label": f"{statute.law_name} {label}".strip(),
                                "version": statute.effective,
                                "nodes": [n.id for n in nodes],
                            },
                        )
                    )
        unique: list[Chunk] = []
        seen: set[str] = set()
        for c in out:
            if c.content_hash in seen:
                continue
            seen.add(c.content_hash)
            c.index = len(unique)
            unique.append(c)
        return unique

    def _pieces(self, unit: Unit) -> list[tuple[str, list[Line], list[str]]]:
        size = sum(len(ln.text) + 1 for ln in unit.lines)
        head: list[Line] = []  # the caption line(s) before the first paragraph
        paras: list[list[Line]] = []
        for para in unit.paragraphs:
            if not paras and all(ln.node.kind is NodeKind.heading for ln in para):
                head.extend(para)
            else:
                paras.append(para)
        if size <= self.limit or len(paras) <= 1:
            return [(unit.label, unit.lines, [])]
        pieces: list[tuple[str, list[Line], list[str]]] = []
        for i, para in enumerate(paras):
            lines = [*head, *para] if i == 0 else para
            plabel = next((ln.node.label for ln in para if ln.node.label), unit.label)
            pieces.append((plabel, lines, [_paragraph_heading(plabel, unit.label)]))
        return pieces

    def _cut(self, lines: list[Line]) -> list[list[Line]]:
        """Item groups under ``limit`` (a paragraph with many 号); over-long sentences split."""
        flat: list[Line] = []
        for ln in lines:
            if len(ln.text) <= self.hard_limit:
                flat.append(ln)
                continue
            piece = ""
            for sentence in split_sentences(ln.text):
                while len(sentence) > self.hard_limit:
                    if piece:
                        flat.append(Line(piece, ln.node))
                        piece = ""
                    flat.append(Line(sentence[: self.hard_limit], ln.node))
                    sentence = sentence[self.hard_limit :]
                if piece and len(piece) + len(sentence) > self.hard_limit:
                    flat.append(Line(piece, ln.node))
                    piece = ""
                piece += sentence
            if piece:
                flat.append(Line(piece, ln.node))
        groups: list[list[Line]] = [[]]
        size = 0
        for ln in flat:
            if groups[-1] and size + len(ln.text) + 1 > self.limit:
                groups.append([])
                size = 0
            groups[-1].append(ln)
            size += len(ln.text) + 1
        return [g for g in groups if g]


def _paragraph_heading(plabel: str, unit_label: str) -> str:
    """The part of a paragraph's label below its article: 第2条第3項 → 第3項."""
    return (
        plabel[len(unit_label) :]
        if plabel.startswith(unit_label) and plabel != unit_label
        else plabel
    )
