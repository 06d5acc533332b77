"""Hybrid retrieval (Sudachi BM25 + dense over Chroma), built on llama-index retrievers."""
