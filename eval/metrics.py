"""Pure metric functions: plain inputs in, numbers out (unit-tested on hand-made inputs).

Definitions (eval/README.md "Metrics"):
- retrieval: a retrieved chunk is *relevant* when its text contains a gold span (after
  :func:`norm`); hit@k, recall@k (share of gold spans found in the top k), MRR and nDCG@k with
  one unit of gain per gold span found for the first time;
- citations as ALCE: recall = supported sentences / sentences, precision = needed citations /
  citations;
- answer correctness: key facts present after :func:`norm`;
- abstention: precision/recall of ``grounded == false`` on the unanswerable cases.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3})")
_SPACE = re.compile(r"\s+")


def norm(text: str) -> str:
    """NFKC, no thousands separators, no whitespace: how gold spans and key facts are matched."""
    text = unicodedata.normalize("NFKC", text or "")
    text = _THOUSANDS.sub("", text)
    return _SPACE.sub("", text)


def gold_found(texts: Sequence[str], gold: Sequence[str]) -> list[set[int]]:
    """For each retrieved text, the indexes of the gold spans it contains."""
    spans = [norm(g) for g in gold]
    out = []
    for t in texts:
        nt = norm(t)
        out.append({i for i, g in enumerate(spans) if g and g in nt})
    return out


def hit_at_k(found: Sequence[set[int]], k: int) -> float:
    return 1.0 if any(found[:k]) else 0.0


def recall_at_k(found: Sequence[set[int]], n_gold: int, k: int) -> float:
    if n_gold == 0:
        return 0.0
    covered: set[int] = set().union(*found[:k]) if found[:k] else set()
    return len(covered) / n_gold


def mrr(found: Sequence[set[int]], k: int = 10) -> float:
    for rank, f in enumerate(found[:k], start=1):
        if f:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(found: Sequence[set[int]], n_gold: int, k: int = 10) -> float:
    """Gain = number of gold spans a chunk adds (not already found higher up), log2 discount."""
    if n_gold == 0:
        return 0.0
    seen: set[int] = set()
    dcg = 0.0
    for rank, f in enumerate(found[:k], start=1):
        new = f - seen
        seen |= f
        dcg += len(new) / math.log2(rank + 1)
    # ideal: one new gold span at each of the first min(n_gold, k) ranks
    idcg = sum(1.0 / math.log2(r + 1) for r in range(1, min(n_gold, k) + 1))
    return dcg / idcg


# ---- citations (ALCE) -------------------------------------------------------------------
Supports = Callable[[str, Sequence[int]], bool]


@dataclass
class CitationScore:
    sentences: int
    supported: int  # sentences entailed by all their citations together
    citations: int
    precise: int  # citations that are needed (ALCE)

    @property
    def recall(self) -> float | None:
        return self.supported / self.sentences if self.sentences else None

    @property
    def precision(self) -> float | None:
        return self.precise / self.citations if self.citations else None


def alce_citations(
    claims: Sequence[tuple[str, Sequence[int]]], supports: Supports
) -> CitationScore:
    """ALCE citation recall/precision for ``claims`` (sentence, cited passage numbers).

    A sentence counts for recall when all its citations together support it (a sentence with
    no citation does not). A citation of a supported sentence is *irrelevant* when it alone
    does not support the sentence and the other citations still do; citations of an
    unsupported sentence are not precise (as in ALCE's ``compute_autoais``).
    """
    score = CitationScore(0, 0, 0, 0)
    for sentence, cited in claims:
        refs = list(dict.fromkeys(cited))
        score.sentences += 1
        score.citations += len(refs)
        joint = bool(refs) and supports(sentence, refs)
        score.supported += int(joint)
        if not joint:
            continue
        if len(refs) == 1:
            score.precise += 1
            continue
        for r in refs:
            if supports(sentence, [r]) or not supports(sentence, [x for x in refs if x != r]):
                score.precise += 1
    return score


# ---- answers ------------------------------------------------------------------------------
def key_fact_recall(answer: str, key_facts: Sequence[str]) -> float | None:
    if not key_facts:
        return None
    a = norm(answer)
    return sum(1 for f in key_facts if norm(f) in a) / len(key_facts)


def forbidden_hits(answer: str, forbidden: Sequence[str]) -> list[str]:
    """The strings an answer must not contain that it does (another subject's figure)."""
    a = norm(answer)
    return [f for f in forbidden if norm(f) in a]


@dataclass
class AbstentionScore:
    precision: float | None  # abstentions that were right (on unanswerable cases)
    recall: float | None  # unanswerable cases abstained on
    wrong_rate: float | None  # answerable cases abstained on
    f1: float | None


def abstention(items: Sequence[tuple[bool, bool]]) -> AbstentionScore:
    """``items`` = (answerable, abstained) per case."""
    tp = sum(1 for ans, ab in items if ab and not ans)
    fp = sum(1 for ans, ab in items if ab and ans)
    n_unans = sum(1 for ans, _ in items if not ans)
    n_ans = len(items) - n_unans
    p = tp / (tp + fp) if tp + fp else None
    r = tp / n_unans if n_unans else None
    f1 = 2 * p * r / (p + r) if p is not None and r is not None and p + r else None
    return AbstentionScore(p, r, fp / n_ans if n_ans else None, f1)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (``q`` in 0..100), like numpy's default."""
    if not values:
        return None
    v = sorted(values)
    pos = (len(v) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def mean(values: Sequence[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None
