"""Old kana usage in statutes searchable as modern: あつて → あって, のつとり → のっとり.

Statutes before the 1988 notation reform write the small っ (促音) as a full-size つ. The
index and the query both go through :func:`modernize_kana`, so a question written today finds
the old text; the text shown to users keeps the original spelling.

Only つ before て/た (あつて, 従つて, 行つた, なかつた), in のつと(り|る) and in あつせん
becomes っ: a full-size つ elsewhere is a real つ (について, かつ, しつつ, ずつ, 持つこと).
"""

from __future__ import annotations

import re

_KANA_OR_KANJI = r"\u3041-\u309F\u4E00-\u9FFF々"
# つ before て/た after a kana or kanji; not the second つ of つつ, not ずつ, not a word start.
_TSU_TE = re.compile(rf"(?<=[{_KANA_OR_KANJI}])(?<![ずつ])つ(?=[てた])")
_NOTTO = re.compile(r"のつと(?=[りるらっつれろ])")
_ASSEN = re.compile(r"あつせん")


def modernize_kana(text: str) -> str:
    """「にあつては」→「にあっては」, 「にのつとり」→「にのっとり」; the rest unchanged."""
    if "つ" not in text:
        return text
    text = _ASSEN.sub("あっせん", text)
    text = _NOTTO.sub("のっと", text)
    return _TSU_TE.sub(lambda m: _tsu(text, m.start()), text)


def _tsu(text: str, i: int) -> str:
    """かつて (formerly) at a word start stays; はかつて (図って) becomes はかって."""
    if (
        i >= 1
        and text[i - 1] == "か"
        and (i < 2 or not re.match(rf"[{_KANA_OR_KANJI}]", text[i - 2]))
    ):
        return "つ"
    return "っ"
