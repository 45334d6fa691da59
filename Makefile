# Two commands: `make run` (install, build model and index, serve) and `make test`.
PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: run test install index lint

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/assistant serve

index: $(STAMP)
	$(VENV)/bin/assistant index

lint: $(STAMP)
	$(VENV)/bin/ruff check assistant tests bench

test: $(STAMP)
	$(VENV)/bin/ruff check assistant tests bench
	OMP_WAIT_POLICY=PASSIVE $(VENV)/bin/python -m pytest -q
