# Every target that runs code first builds .venv from the hash-pinned lock, so a fresh
# machine needs nothing but python3 (>= 3.11) and access to the package index.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.privlog-installed

.PHONY: demo test lint bench reliability venv lock clean

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "privlog needs Python >= 3.11"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes --no-deps -r requirements.lock
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	$(PY) -m pip check
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/privlog demo --once

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check privlog adapters migrations tests benchmarks examples eval
	$(VENV)/bin/ruff format --check privlog adapters migrations tests benchmarks examples eval
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) benchmarks/run.py

# The reliability scenarios (tests marked reliability) at full size, then RELIABILITY.md from what it measured (also when a
# scenario fails: the table says which). PostgreSQL scenarios need PRIVLOG_TEST_DATABASE_URL.
reliability: $(STAMP)
	rm -f .reliability.jsonl
	PRIVLOG_RELIABILITY=full PRIVLOG_RELIABILITY_OUT=$(CURDIR)/.reliability.jsonl \
	  $(PY) -m pytest -m reliability; status=$$?; \
	  $(PY) -m tests.reliability.table .reliability.jsonl RELIABILITY.md && exit $$status

# Regenerate the lock after changing dependencies in pyproject.toml (needs `uv`).
lock:
	uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 \
	  --python-platform x86_64-manylinux_2_28 --no-header -o requirements.lock

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
