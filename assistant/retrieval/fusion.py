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


def weighted_fields(
    fields: dict[str, dict[str, float]], weights: dict[str, float]
) -> dict[str, float]:
    """Convex combination of per-field min-max normalised scores (dense, BM25 fields, …).

    A field whose scores are all zero (no query term in its vocabulary) hands its weight to
    the others, so an English question over Japanese text is ranked by the dense field alone.
    """
    live = {
        f: s
        for f, s in fields.items()
        if weights.get(f, 0.0) > 0 and any(v > 0 for v in s.values())
    }
    total = sum(weights[f] for f in live)
    if not live or total <= 0:
        return {}
    keys = {k for s in live.values() for k in s}
    out = dict.fromkeys(keys, 0.0)
    for f, s in live.items():
        norm = _minmax({k: v for k, v in s.items() if v > 0} if f != "dense" else s)
        w = weights[f] / total
        for k, v in norm.items():
            out[k] += w * v
    return out


def rrf_fields(
    fields: dict[str, dict[str, float]], weights: dict[str, float], k: int = 60
) -> dict[str, float]:
    """Weighted reciprocal-rank fusion over the fields' rankings (zero scores are not ranked)."""
    out: dict[str, float] = {}
    for f, s in fields.items():
        w = weights.get(f, 0.0)
        if w <= 0:
            continue
        ranked = sorted((key for key, v in s.items() if v > 0 or f == "dense"), key=lambda x: -s[x])
        for rank, key in enumerate(ranked, start=1):
            out[key] = out.get(key, 0.0) + w / (k + rank)
    return out


def diversify(
    ranked: list[str], scores: dict[str, float], doc_of: dict[str, str], decay: float, k: int
) -> list[str]:
    """The first ``k`` of ``ranked``, each further chunk of one document discounted by
    ``decay`` (score × decay^n for its n-th predecessor of the same document), so one long
    document's many similar chunks do not fill the top. ``decay`` = 1 keeps the order."""
    if decay >= 1.0:
        return ranked[:k]
    left = list(ranked)
    seen: dict[str, int] = {}
    out: list[str] = []
    while left and len(out) < k:
        pick, best = 0, -1.0
        for i, key in enumerate(left):  # first of the best: ties keep the given order
            s = scores[key] * decay ** seen.get(doc_of.get(key, ""), 0)
            if s > best:
                pick, best = i, s
        key = left.pop(pick)
        doc = doc_of.get(key, "")
        seen[doc] = seen.get(doc, 0) + 1
        out.append(key)
    return out
