"""The offline local LLM: the packaged GGUF model and llama-cpp-python's OpenAI-compatible server.

The answer path never imports llama_cpp: it talks to this server over HTTP like to any other.
"""

from assistant.llm.local_model import QWEN_CODER_1_5B, PackagedModel
from assistant.llm.server import LlamaServer, running

__all__ = ["QWEN_CODER_1_5B", "LlamaServer", "PackagedModel", "running"]
