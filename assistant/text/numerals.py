"""Kanji numerals as Arabic digits: 三億円 → 3億円, 二十人 → 20人, 第二百八十四条 → 第284条.

One normaliser for search (index and query side, through the tokenizers), citation labels, the
abstainer and the guard. A run of kanji digits is a number only where the context says so: after
第, before a counter or unit (人, 円, 条, 年, …), or where Sudachi tags it 数詞 (part of speech);
words that merely contain a digit kanji (一体的, 一般, 統一, 十分, 三重県, 万一) stay as they are.

- :func:`to_arabic` — kanji numerals → Arabic digits (units 万/億/兆 kept where the number is
  round in them: 五千万 → 5000万, 一億五千万 → 1億5000万; 一万二千三百 → 12300); positional
  digits too (昭和四八年一〇月 → 昭和48年10月).
- :func:`normalize_numbers` — :func:`to_arabic`, then digit-group commas dropped (5,000万 →
  5000万): the form to compare figures in (search, abstainer, guard).
- :func:`number_values` — the values of the figures in a text (3億 → 300000000.0), for
  comparing a figure written two ways.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence

DIGITS = {
    "〇": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
SMALL = {"十": 10, "百": 100, "千": 1000}
LARGE = {"万": 10**4, "億": 10**8, "兆": 10**12}
_KANJI_NUM = "".join(DIGITS) + "".join(SMALL) + "".join(LARGE)
_RUN = re.compile(f"[{_KANJI_NUM}]+")

# A run followed by one of these is a count or an ordinal (after NFKC).
COUNTERS = (
    "条",
    "項",
    "号",
    "款",
    "目",
    "章",
    "節",
    "編",
    "人",
    "名",
    "円",
    "年",
    "箇月",
    "か月",
    "ヶ月",
    "月",
    "日",
    "時",
    "歳",
    "回",
    "件",
    "社",
    "者",
    "倍",
    "割",
    "分の",
    "%",
    "パーセント",
    "以上",
    "以下",
    "未満",
    "を超え",
    "ドル",
    "トン",
    "キロ",
    "メートル",
    "平方",
    "ヘクタール",
    "期",
    "次",
    "周年",
    "世紀",
    "年度",
    "週",
    "都道府県",
    "府県",
    "市町村",
    "か国",
    "カ国",
    "ヵ国",
    "か所",
    "箇所",
    "カ所",
    "ヵ所",
    "つ",
    "位",
    "級",
    "区",
    "種",
    "点",
    "台",
    "校",
    "票",
    "議席",
    "本",
)
# Words whose digit kanji are not a number, even before a counter (checked before the rules).
NOT_NUMBERS = (
    "一体",
    "一般",
    "統一",
    "同一",
    "唯一",
    "均一",
    "単一",
    "画一",
    "一部",
    "一層",
    "一定",
    "一環",
    "一律",
    "一時",
    "一切",
    "一致",
    "一括",
    "一元",
    "一連",
    "一貫",
    "一方",
    "一面",
    "一同",
    "一旦",
    "一概",
    "一向",
    "一緒",
    "一員",
    "一帯",
    "一翼",
    "一覧",
    "一新",
    "一掃",
    "一気",
    "一挙",
    "一段",
    "一様",
    "一例",
    "一助",
    "一端",
    "一因",
    "一手",
    "一身",
    "一見",
    "一番",
    "一層",
    "一丸",
    "万一",
    "万全",
    "万博",
    "万国",
    "万能",
    "千差万別",
    "十分",
    "十全",
    "三重",
    "九州",
    "四国",
    "千代田",
    "八尾",
    "八幡",
    "四日市",
    "十和田",
    "五輪",
    "百貨",
    "千葉",
    "九十九",
    "一宮",
    "二子",
    "七尾",
    "三田",
    "三木",
    "四條畷",
    "八千代",
    "万年",
    "百選",
    "千里",
    "一橋",
    "二重",
    "三権",
    "三位一体",
    "一石二鳥",
    "四半期",
    "再三",
    "十人十色",
    "一人ひとり",
    "一人一人",
    "一つ一つ",
    "一から",
    "一朝一夕",
    "一長一短",
    "第一線",
    "第一人者",
    "一流",
    "一級",
)
# Sudachi parts of speech whose morpheme, when it is exactly the run, makes it a number.
_NUMERIC_POS = ("数詞",)

Analyzer = Callable[[str], Sequence[tuple[int, int, str, str]]]
"""text → [(begin, end, pos, pos subcategory)] of its morphemes (character offsets)."""


def kanji_value(run: str) -> int | None:
    """The value of one run of kanji numerals (二百八十四 → 284, 四八 → 48); None if malformed."""
    if not run or any(c not in _KANJI_NUM for c in run):
        return None
    if all(c in DIGITS for c in run):  # positional: 一〇 → 10, 四八 → 48
        return int("".join(str(DIGITS[c]) for c in run))
    total, section, digit = 0, 0, None
    for c in run:
        if c in DIGITS:
            # 二三百: two digits in a row inside a counted number
            digit = DIGITS[c] if digit is None else digit * 10 + DIGITS[c]
        elif c in SMALL:
            section += (1 if digit is None else digit) * SMALL[c]
            digit = None
        else:  # 万 億 兆
            section += digit or 0
            if section == 0:
                section = 1 if total == 0 else 0
                if section == 0:
                    return None
            total += section * LARGE[c]
            section, digit = 0, None
    return total + section + (digit or 0)


def arabic(value: int) -> str:
    """Digits, with 万/億/兆 kept when the number is round in them (50000000 → 5000万)."""
    if value < 10**4 or value % 10**4:
        return str(value)
    parts = []
    rest = value
    for unit, size in (("兆", 10**12), ("億", 10**8), ("万", 10**4)):
        q, rest = divmod(rest, size)
        if q:
            parts.append(f"{q}{unit}")
    return "".join(parts)


def _convert_run(run: str) -> str | None:
    value = kanji_value(run)
    if value is None:
        return None
    if all(c in DIGITS for c in run) or not any(c in LARGE for c in run):
        return str(value)
    return arabic(value)


_NOT_NUMBER_RE = re.compile("|".join(sorted(map(re.escape, NOT_NUMBERS), key=len, reverse=True)))


def _lexical_spans(text: str) -> set[int]:
    """The character positions covered by the listed non-numeric words in ``text``."""
    return {i for m in _NOT_NUMBER_RE.finditer(text) for i in range(m.start(), m.end())}


def _inside(covered: set[int], start: int, end: int) -> bool:
    return any(i in covered for i in range(start, end))


def _after_counter(text: str, end: int) -> bool:
    tail = text[end : end + 6]
    return tail.startswith(COUNTERS)


def _numeric_by_pos(analysis: Sequence[tuple[int, int, str, str]], start: int, end: int) -> bool:
    for b, e, _pos, sub in analysis:
        if b <= start < e:
            # the morpheme that holds the run's first character: a 数詞 (Sudachi joins 三億)
            return sub in _NUMERIC_POS and b >= start
    return False


def to_arabic(text: str, analyze: Analyzer | None = None) -> str:
    """Kanji numerals in ``text`` as Arabic digits; other kanji untouched.

    ``analyze`` gives Sudachi's morphemes (the default tokenizer's when None); it decides the
    runs that neither 第 nor a counter marks (「一の」, 「二及び三」).
    """
    if not _RUN.search(text):
        return text
    analysis: Sequence[tuple[int, int, str, str]] | None = None
    lexical = _lexical_spans(text)
    out: list[str] = []
    last = 0
    for m in _RUN.finditer(text):
        start, end = m.start(), m.end()
        run = m.group()
        numeric = False
        if start > 0 and text[start - 1].isdigit() and run[0] not in DIGITS:
            continue  # 5000万, 3億, 2千: units of Arabic digits, already in canonical form
        if _inside(lexical, start, end) or (start > 0 and text[start - 1] in "数何幾"):
            numeric = False
        elif (
            (start > 0 and text[start - 1] == "第")
            or _after_counter(text, end)
            or _is_label_tail(text, start)
        ):
            numeric = True
        else:
            if analysis is None:
                analysis = (analyze or _default_analyzer())(text)
            numeric = _numeric_by_pos(analysis, start, end)
        new = _convert_run(run) if numeric else None
        if new is None:
            continue
        out.append(text[last:start])
        out.append(new)
        last = end
    out.append(text[last:])
    return "".join(out)


def _is_label_tail(text: str, start: int) -> bool:
    """「条の二」「号の三」: the number after の in an article or item number."""
    return start >= 2 and text[start - 1] == "の" and text[start - 2] in "条項号" + "0123456789"


_COMMA_NUM = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


def normalize_numbers(text: str, analyze: Analyzer | None = None) -> str:
    """NFKC, kanji numerals as digits, digit-group commas dropped: 五千万円 ≡ 5,000万円 ≡ 5000万円."""
    text = _COMMA_NUM.sub("", unicodedata.normalize("NFKC", text))
    return _DECIMAL.sub(r"\1.\2", to_arabic(text, analyze))


# 「年十四・五パーセント」: a statute writes the decimal point as 「・」 before a unit of measure
# (「一・二・三」 or 「十四・五」 alone stay as they are)
_DECIMAL = re.compile(
    r"(?<![\d・])(\d+)・(\d+)(?![\d・])(?=\s*(?:パーセント|%|倍|ヘクタール|キロメートル|メートル|トン))"
)


_FIGURE = re.compile(r"\d+(?:\.\d+)?(?:兆\d*(?:\.\d+)?)?(?:億\d*(?:\.\d+)?)?(?:万\d*(?:\.\d+)?)?")
_UNIT = {"兆": 10**12, "億": 10**8, "万": 10**4}


def number_values(text: str, analyze: Analyzer | None = None) -> list[float]:
    """The values of the figures in ``text``: 「3億円」「三億円」「300,000,000円」 → [300000000.0]."""
    values = []
    for m in _FIGURE.finditer(normalize_numbers(text, analyze)):
        values.append(_figure_value(m.group()))
    return values


def _figure_value(fig: str) -> float:
    total = 0.0
    rest = fig
    for unit, size in _UNIT.items():
        if unit in rest:
            head, rest = rest.split(unit, 1)
            total += float(head or 1) * size
    if rest:
        total += float(rest)
    return total


def _default_analyzer() -> Analyzer:
    from assistant.text.tokenizer import get_tokenizer

    tok = get_tokenizer("sudachi")
    spans = getattr(tok, "spans", None)
    if spans is None:  # pragma: no cover - only the Sudachi tokenizer is registered as "sudachi"
        return lambda _t: []
    return spans  # type: ignore[no-any-return]
