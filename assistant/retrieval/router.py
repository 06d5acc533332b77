"""How much a question's words look like each document's: a document prior for the fusion.

With the statutes indexed beside the vision, an ordinary question about the vision (「関西の
中小企業向けの取組みは？」) shares words with dozens of similar articles (中小企業, 地域, 施策), and
one law's many articles can push the vision's few passages out of the top. Each document has a
unigram model of its index terms (add-one smoothed); a question's terms are scored by how much
more likely each document makes them than the whole index (the mean log ratio), and a passage's
fused score is scaled by ``exp(τ · (s_doc − s_best))``: the best-matching document keeps its
scores, the others lose in proportion. ``τ`` (``KANSAI_DOC_PRIOR``) is chosen by measurement on the
dev splits of the vision and statute question sets (README); 0 turns it off.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import Any


class DocumentPrior:
    def __init__(self, records: Iterable[dict[str, Any]]) -> None:
        self.counts: dict[str, Counter[str]] = {}
        total: Counter[str] = Counter()
        for rec in records:
            c = self.counts.setdefault(rec["doc_id"], Counter())
            toks = rec.get("tokens") or []
            c.update(toks)
            total.update(toks)
        self.total = total
        self.size = {d: sum(c.values()) for d, c in self.counts.items()}
        self.n = sum(self.size.values())
        self.vocab = max(1, len(total))

    def scores(self, terms: Iterable[str]) -> dict[str, float]:
        """Mean log-likelihood ratio of the question's (known) terms, per document."""
        known = [t for t in dict.fromkeys(terms) if t in self.total]
        if not known or len(self.counts) < 2:
            return {}
        out = {}
        for d, c in self.counts.items():
            size = self.size[d] + self.vocab
            s = 0.0
            for t in known:
                p_doc = (c.get(t, 0) + 1) / size
                p_all = (self.total[t] + 1) / (self.n + self.vocab)
                s += math.log(p_doc / p_all)
            out[d] = s / len(known)
        return out

    def weights(self, terms: Iterable[str], tau: float) -> dict[str, float]:
        """A multiplier in (0, 1] per document (1 for the best-matching one)."""
        if tau <= 0:
            return {}
        s = self.scores(terms)
        if not s:
            return {}
        best = max(s.values())
        return {d: math.exp(tau * (v - best)) for d, v in s.items()}
