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
	# The build puts the default LLM's weights (SmolLM2 GGUF) in bot/llm/weights/ (build_backend/deskbot_build.py).
	$(PIP_INSTALL) -q -e '.[all,dev]' --config-settings editable_mode=compat
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
