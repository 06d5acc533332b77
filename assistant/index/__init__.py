"""The index on disk: generations of (Chroma vectors + BM25 + chunk records + manifest)."""
