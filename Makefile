# The two commands a newcomer needs: `make run` (the app, embedded default) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

export GRADIO_ANALYTICS_ENABLED = False
export ANONYMIZED_TELEMETRY = False
export HF_HUB_OFFLINE = 1

.PHONY: install index run test lint bench eval local-llm clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

index: install
	$(BIN)/kansai-assistant ingest

run: index
	$(BIN)/kansai-assistant serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest

eval: index
	$(BIN)/kansai-assistant eval

bench: install
	$(BIN)/python -m eval.bench

# llama-cpp-python compiles llama.cpp (10-30 min on 2 cores, depending on load). As its subproject llama.cpp already
# skips tests/tools/examples/server; LLAVA_BUILD=OFF also skips the multimodal library (mtmd),
# about a third of the build, which a text-only server does not load.
local-llm: install
	@echo "building llama-cpp-python from source (several minutes) and installing the model parts…"
	CMAKE_ARGS="-DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF -DGGML_NATIVE=ON" \
	CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
	  $(BIN)/python -m pip install -q -e '.[dev,local-llm]'
	$(BIN)/kansai-assistant llm-server --prepare-only

clean:
	rm -rf var/index .pytest_cache .mypy_cache .ruff_cache
