"""The ``llm-server`` child process: llama.cpp's own HTTP server, run inside xllamacpp.

``python -m assistant.llm.serve --model M.gguf --alias NAME --port N …`` loads the GGUF and
serves llama.cpp's OpenAI-compatible API (``/v1/chat/completions``, streaming or not, and
``/v1/models``) on the loopback until SIGTERM or Ctrl+C. xllamacpp is a prebuilt wheel
(no compiler); its ``Server`` starts the HTTP server and the decoding loop on C++ threads, so
this process only configures it and waits. :class:`assistant.llm.server.LlamaServer` builds
the command line; nothing else imports this module.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from typing import Any

log = logging.getLogger("assistant.llm.serve")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m assistant.llm.serve")
    p.add_argument("--model", required=True, help="GGUF file")
    p.add_argument("--alias", required=True, help="the model id /v1/models reports")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--n-ctx", type=int, default=4096)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--parallel", type=int, default=1, help="generation slots")
    return p.parse_args(argv)


def common_params(args: argparse.Namespace) -> Any:
    """xllamacpp's ``CommonParams`` for one text model on the loopback."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = args.model
    params.model_alias = {args.alias}
    params.hostnames = [args.host]
    params.port = args.port
    params.n_ctx = args.n_ctx
    params.n_parallel = args.parallel
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.ui = False  # no web page: the product has its own
    params.endpoint_slots = False
    params.cache_prompt = True  # a repeated system prompt is not read again
    return params


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args = parse_args(argv)
    try:
        import xllamacpp
    except ImportError:
        log.error("xllamacpp is not installed — run `make local-llm`")
        return 2
    log.info("xllamacpp %s, loading %s", getattr(xllamacpp, "__version__", "?"), args.model)
    try:
        server = xllamacpp.Server(common_params(args))
    except RuntimeError as exc:  # bad model, port taken: llama.cpp logged the cause above
        log.error("llama.cpp server failed to start: %s", exc)
        return 1
    # llama.cpp installed its own SIGINT/SIGTERM handlers (they only stop its loop); take them
    # back so that this process exits, and the Server's destructor joins its threads.
    stopped = threading.Event()

    def _stop(signum: int, frame: object) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("serving %s at %s/v1", args.alias, server.listening_address)
    while not stopped.wait(1.0):
        pass
    log.info("stopping")
    del server
    return 0


if __name__ == "__main__":
    sys.exit(main())
