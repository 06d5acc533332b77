"""Benchmarks: retrieval quality and speed, and the cost and service parts.

Run ``python -m eval.bench`` (retrieval, full) or ``python -m eval.bench --quick`` (CI smoke);
``python -m eval.bench growth|floor|load|startup|llm|all [--quick]`` for ingest/query cost
growth, the floor vs end-to-end chat, server load, start-up and the local LLM.
"""
