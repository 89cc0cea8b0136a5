# Two commands do everything on a fresh Debian/Ubuntu machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# System tools: ffmpeg/ffprobe (transcoding), espeak-ng (test speech and the sample master), chromium (the
# browser tests drive Debian's Chromium through Playwright: Playwright cannot download its own browser here).
SYSTEM_TOOLS := ffmpeg ffprobe espeak-ng chromium
APT_PACKAGES := ffmpeg espeak-ng chromium

# The distributed mode's services (#8), for its integration test: Redis and PostgreSQL from Debian. Its users
# install them on their own machines (README, "Deployment"); `make run` does not need them.
CLUSTER_PACKAGES := redis-server postgresql

OPENAI_STAMP := $(VENV)/.installed-openai

.PHONY: install install-openai system-deps cluster-deps run test lint review sample clean

install: system-deps $(STAMP)

system-deps:
	@missing=""; \
	for tool in $(SYSTEM_TOOLS); do command -v $$tool >/dev/null 2>&1 || missing="$$missing $$tool"; done; \
	venv_ok=1; $(PYTHON) -c 'import ensurepip, venv' >/dev/null 2>&1 || venv_ok=0; \
	packages="$(APT_PACKAGES)"; [ $$venv_ok = 1 ] || { missing="$$missing python3-venv"; packages="$$packages python3-venv"; }; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing system packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$packages >/dev/null || exit 1; \
	    for tool in $(SYSTEM_TOOLS); do command -v $$tool >/dev/null 2>&1 || \
	      { echo "$$tool is still missing after apt-get install $$packages"; exit 1; }; done; \
	  else \
	    echo "Missing system tools:$$missing. Install them with: sudo apt-get install $$packages"; exit 1; \
	  fi; \
	fi

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "Python 3.11 or newer is needed (found $$($(PYTHON) --version)); set PYTHON=python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	@touch $(STAMP)

cluster-deps:
	@if ! command -v redis-server >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing system packages: $(CLUSTER_PACKAGES)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(CLUSTER_PACKAGES) >/dev/null || exit 1; \
	    command -v redis-server >/dev/null && ls /usr/lib/postgresql/*/bin/postgres >/dev/null || \
	      { echo "redis-server or PostgreSQL is still missing after apt-get install $(CLUSTER_PACKAGES)"; exit 1; }; \
	  else \
	    echo "The distributed-mode tests need Redis and PostgreSQL: sudo apt-get install $(CLUSTER_PACKAGES)"; exit 1; \
	  fi; \
	fi

# The openai-whisper engine and PyTorch: an extra, left out of `make run`, needed by the tests.
install-openai: install $(OPENAI_STAMP)

$(OPENAI_STAMP): pyproject.toml requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev,openai]'
	@touch $(OPENAI_STAMP)

run: install
	$(BIN)/pipeline run

test: install-openai cluster-deps
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check pipeline tests benchmarks
	$(BIN)/mypy

review: install
	$(BIN)/pipeline review

sample: system-deps
	scripts/make-sample-master.sh masters/sample.mp4

# Removes what `make install` made. The catalog, the stored videos and the outputs (state/, output/) are kept:
# they hold reviewers' approvals. Stop the storage server first so that it does not outlive its program.
clean:
	-[ -x $(BIN)/pipeline ] && $(BIN)/pipeline storage stop
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
