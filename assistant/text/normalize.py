"""The search form of a text: what the tokenizers index and look up (never what is shown).

NFKC, kanji numerals as Arabic digits without digit-group commas (:mod:`assistant.text.numerals`)
and old kana as modern (:mod:`assistant.text.kana`), so 「二十人」 matches 「20人」,
「五千万円」 matches 「5,000万円」 and 「あつて」 matches 「あって」.
"""

from __future__ import annotations

from assistant.text.kana import modernize_kana
from assistant.text.numerals import Analyzer, normalize_numbers

# 2: 「十四・五パーセント」 ≡ 14.5% (a statute's decimal point); an index of 1 is re-tokenized by
# the next ingest (vectors reused)
VERSION = "search-form=2"


def search_form(text: str, analyze: Analyzer | None = None) -> str:
    return modernize_kana(normalize_numbers(text, analyze))
