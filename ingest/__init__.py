"""Ingest: load → clean → chunk → tokenize/embed → index (Chroma + BM25)."""
