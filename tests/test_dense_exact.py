"""The dense field as exact cosine over the stored vectors (assistant/retrieval/dense.py)."""

from __future__ import annotations

import math

import numpy as np
from llama_index.core.schema import QueryBundle, TextNode

from assistant.retrieval.dense import ExactDenseField


def _field(allowed: np.ndarray | None = None, k: int = 5) -> tuple[ExactDenseField, np.ndarray]:
    rng = np.random.default_rng(7)
    vecs = rng.normal(size=(200, 16)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    vecs[10] = vecs[3]  # an exact tie between rows 3 and 10
    q = vecs[3] + 0.01
    q /= np.linalg.norm(q)
    nodes = [TextNode(text=f"chunk {i}", id_=f"c{i}") for i in range(len(vecs))]
    return ExactDenseField(vecs, nodes, q, k, allowed), vecs @ q


def test_the_nearest_chunks_come_first_ties_in_index_order() -> None:
    field, sims = _field()
    got = field.retrieve(QueryBundle("q"))
    want = sorted(range(len(sims)), key=lambda i: (-sims[i], i))[:5]
    assert [n.node.node_id for n in got] == [f"c{i}" for i in want]
    assert got[0].node.node_id == "c3" and got[1].node.node_id == "c10"
    # Chroma's scale for a cosine collection: exp(cos - 1)
    assert math.isclose(got[0].score or 0.0, math.exp(float(sims[3]) - 1.0), rel_tol=1e-5)


def test_the_same_question_gets_the_same_ranking_every_time() -> None:
    runs = [[n.node.node_id for n in _field()[0].retrieve(QueryBundle("q"))] for _ in range(3)]
    assert runs[0] == runs[1] == runs[2]


def test_the_documents_filter_leaves_out_the_other_chunks() -> None:
    allowed = np.zeros(200, dtype=bool)
    allowed[100:] = True
    got = _field(allowed, k=150)[0].retrieve(QueryBundle("q"))
    assert len(got) == 100 and all(int(n.node.node_id[1:]) >= 100 for n in got)
