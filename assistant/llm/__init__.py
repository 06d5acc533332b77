"""The offline local LLM: the packaged GGUF model and llama.cpp's OpenAI-compatible server.

The server runs in its own process (llama.cpp inside the prebuilt xllamacpp wheel); the answer
path never imports xllamacpp: it talks to this server over HTTP like to any other.
"""

from assistant.llm.local_model import QWEN_CODER_1_5B, PackagedModel
from assistant.llm.server import LlamaServer, running

__all__ = ["QWEN_CODER_1_5B", "LlamaServer", "PackagedModel", "running"]
