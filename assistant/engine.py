"""Builds the parts from settings once and hands them to every adapter (CLI, API, UI)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from assistant.embedding.base import Embedder, build_embedder
from assistant.retrieval.searcher import Searcher
from assistant.settings import Settings
from assistant.text.tokenizer import Tokenizer, get_tokenizer


@dataclass
class Engine:
    settings: Settings
    embedder_override: Embedder | None = None
    tokenizer_override: Tokenizer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @cached_property
    def embedder(self) -> Embedder:
        return self.embedder_override or build_embedder(self.settings)

    @cached_property
    def tokenizer(self) -> Tokenizer:
        return self.tokenizer_override or get_tokenizer("sudachi")

    @cached_property
    def searcher(self) -> Searcher:
        return Searcher(self.settings, self.embedder, self.tokenizer)

    def ingestor(self, progress=None):  # type: ignore[no-untyped-def]
        from ingest.pipeline import Ingestor

        return Ingestor(self.settings, self.embedder, self.tokenizer, progress=progress)

    def ensure_index(self, progress=None) -> bool:  # type: ignore[no-untyped-def]
        """Build the index from the corpus folder if there is none. True if it built one."""
        from assistant.index.layout import IndexLayout

        if IndexLayout(self.settings.index_dir).current_generation() is not None:
            return False
        with self._lock:
            if IndexLayout(self.settings.index_dir).current_generation() is not None:
                return False
            self.ingestor(progress).ingest([Path(self.settings.corpus_dir)])
            return True
