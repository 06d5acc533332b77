"""Vector store seam (``upsert / query / delete / count``) and its Chroma implementation.

Chroma runs embedded (a ``PersistentClient`` folder inside the generation) or as a server
(``KANSAI_CHROMA_HOST``); either way Chroma never embeds anything itself
(``embedding_function=None``): vectors come from our :class:`~assistant.embedding.Embedder`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from assistant.errors import ConfigError, IndexNotReady

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


class VectorStore(Protocol):
    def upsert(
        self, ids: list[str], vectors: np.ndarray, texts: list[str], metadatas: list[dict[str, Any]]
    ) -> None: ...

    def query(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]: ...

    def delete(self, ids: list[str]) -> None: ...

    def count(self) -> int: ...


def _client(local_path: Path | None, host: str, port: int, ssl: bool) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    cs = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if host:
        try:
            return chromadb.HttpClient(host=host, port=port, ssl=ssl, settings=cs)
        except Exception as exc:  # chromadb raises plain ValueError/ConnectionError here
            raise IndexNotReady(
                f"cannot reach the Chroma server at {host}:{port} ({type(exc).__name__})",
                "start it (`chroma run --path DIR --port PORT`) or unset KANSAI_CHROMA_HOST",
            ) from exc
    assert local_path is not None
    return chromadb.PersistentClient(path=str(local_path), settings=cs)


class ChromaStore:
    """One Chroma collection holding one index generation."""

    def __init__(self, collection: Any, client: Any) -> None:
        self.collection = collection
        self._client = client

    @classmethod
    def open(
        cls,
        gen_dir: Path,
        mode: str,
        collection: str,
        *,
        host: str = "",
        port: int = 8000,
        ssl: bool = False,
        create: bool = False,
    ) -> ChromaStore:
        if mode == "server" and not host:
            raise ConfigError(
                "this index was built against a Chroma server",
                "set KANSAI_CHROMA_HOST/KANSAI_CHROMA_PORT, or rebuild with `kansai-assistant ingest --rebuild`",
            )
        client = _client(
            gen_dir / "chroma" if mode == "local" else None,
            host if mode == "server" else "",
            port,
            ssl,
        )
        try:
            if create:
                col = client.get_or_create_collection(
                    collection,
                    embedding_function=None,
                    # Chroma's default search breadth missed 7% of the exact top 30 over the
                    # 2,914-chunk corpus (recall@30 0.929); 100/200 gave 0.975 (README)
                    configuration={
                        "hnsw": {"space": "cosine", "ef_search": 100, "ef_construction": 200}
                    },
                )
            else:
                col = client.get_collection(collection, embedding_function=None)
        except IndexNotReady:
            raise
        except Exception as exc:
            raise IndexNotReady(
                f"the vector index '{collection}' cannot be opened ({type(exc).__name__}: {str(exc)[:120]})",
                "rebuild it with `kansai-assistant ingest --rebuild`",
            ) from exc
        return cls(col, client)

    def upsert(
        self, ids: list[str], vectors: np.ndarray, texts: list[str], metadatas: list[dict[str, Any]]
    ) -> None:
        """Written through llama-index's ChromaVectorStore, so its retrievers read it back."""
        from llama_index.core.schema import TextNode

        self.delete(ids)
        store = self.llama_store()
        step = 1000
        for i in range(0, len(ids), step):
            nodes = [
                TextNode(
                    id_=ids[j], text=texts[j], metadata=metadatas[j], embedding=vectors[j].tolist()
                )
                for j in range(i, min(i + step, len(ids)))
            ]
            store.add(nodes)

    def query(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        n = min(k, self.count())
        if n == 0:
            return []
        r = self.collection.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32).tolist()],
            n_results=n,
            include=["distances"],
        )
        return [(i, 1.0 - float(d)) for i, d in zip(r["ids"][0], r["distances"][0], strict=True)]

    def delete(self, ids: list[str]) -> None:
        if ids and self.count():
            self.collection.delete(ids=ids)

    def count(self) -> int:
        return int(self.collection.count())

    def drop(self) -> None:
        self._client.delete_collection(self.collection.name)

    def llama_store(self) -> Any:
        from llama_index.vector_stores.chroma import ChromaVectorStore

        return ChromaVectorStore(chroma_collection=self.collection)


def drop_server_collection(host: str, port: int, ssl: bool, name: str) -> None:
    try:
        _client(None, host, port, ssl).delete_collection(name)
    except Exception:  # already gone or server down: nothing to clean
        return
