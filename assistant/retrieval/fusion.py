"""Fusing a lexical and a dense ranking. Pure functions, chosen by measurement (README)."""

from __future__ import annotations


def rrf(rankings: list[list[str]], k: int = 60) -> dict[str, float]:
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, start=1):
            scores[key] = scores.get(key, 0.0) + 1.0 / (k + rank)
    return scores


def _minmax(scores: dict[str, float]) -> dict[str, float]:
    if not scores:
        return {}
    hi, lo = max(scores.values()), min(scores.values())
    if hi <= 0:
        return {k: 0.0 for k in scores}
    if hi - lo < 1e-9:
        return {k: 1.0 for k in scores}
    return {k: (v - lo) / (hi - lo) for k, v in scores.items()}


def weighted(
    dense: dict[str, float], lexical: dict[str, float], dense_weight: float = 0.5
) -> dict[str, float]:
    """Convex combination of min-max normalised scores over each list's candidates.

    A candidate missing from one list gets 0 from it. Lexical scores that are all zero (e.g.
    an English question over Japanese text) leave the dense ranking alone.
    """
    d = _minmax(dense)
    lex = {k: v for k, v in lexical.items() if v > 0}
    b = _minmax(lex)
    w = dense_weight if b else 1.0
    keys = set(d) | set(b)
    return {k: w * d.get(k, 0.0) + (1.0 - w) * b.get(k, 0.0) for k in keys}
