"""Retrieval benchmark: JSQuAD and our eval set, stock llama-index vs our pipeline.

Run ``python -m eval.bench`` (full) or ``python -m eval.bench --quick`` (CI smoke).
"""
