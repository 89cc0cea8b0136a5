# Two commands do everything on a fresh Debian/Ubuntu machine: `make run` and `make test` (README, "Install").
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# pip always checks every file against the lock's hashes; the project itself is installed without its dependencies.
PIP := $(BIN)/pip --disable-pip-version-check --quiet
# Every executable that a command or a test runs is listed here, with the Debian package that provides it
# (tests/test_install.py fails on one that is run but not listed):
#   ffmpeg, ffprobe (ffmpeg): transcoding; espeak-ng: the audio description voice (#21), speech for the sample
#   master and the tests; sox: the tests'
#   raw-audio fixtures; chromium: the browser tests drive Debian's Chromium through Playwright (Playwright cannot
#   download its own browser here).
#   unshare (util-linux, present on every Debian): runs the embedded storage in its own network namespace (#16).
SYSTEM_TOOLS := ffmpeg ffprobe espeak-ng sox chromium unshare setpriv prlimit
APT_PACKAGES := ffmpeg espeak-ng sox chromium util-linux

# The distributed mode's services (#8), for its integration test: Redis and PostgreSQL from Debian (PostgreSQL's
# programs live in /usr/lib/postgresql/VERSION/bin). Its users install them on their own machines (README,
# "Many machines"); `make run` does not need them.
CLUSTER_TOOLS := redis-server postgres initdb
CLUSTER_PACKAGES := redis-server postgresql

# PyTorch's CPU build (for the openai extra) is not on PyPI. `make install-openai` takes it from pip's own sources
# when they hold it (a local wheel folder in pip's configuration), else from PyTorch's CPU index.
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
OPENAI_STAMP := $(VENV)/.installed-openai

.PHONY: install install-openai system-deps cluster-deps lock check-lock run test test-fast lint review sample clean

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
	$(PIP) install --require-hashes -r requirements.lock
	$(PIP) install --no-deps --no-build-isolation -e .
	@touch $(STAMP)

cluster_missing = for tool in $(CLUSTER_TOOLS); do command -v $$tool >/dev/null 2>&1 || \
  ls /usr/lib/postgresql/*/bin/$$tool >/dev/null 2>&1 || echo $$tool; done

cluster-deps:
	@if [ -n "$$($(cluster_missing))" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing system packages: $(CLUSTER_PACKAGES)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(CLUSTER_PACKAGES) >/dev/null || exit 1; \
	    still="$$($(cluster_missing))"; [ -z "$$still" ] || \
	      { echo "Still missing after apt-get install $(CLUSTER_PACKAGES): $$still"; exit 1; }; \
	  else \
	    echo "The distributed-mode tests need Redis and PostgreSQL: sudo apt-get install $(CLUSTER_PACKAGES)"; exit 1; \
	  fi; \
	fi

# The openai-whisper engine and PyTorch: an extra, left out of `make run`, needed by the tests.
install-openai: install $(OPENAI_STAMP)

$(OPENAI_STAMP): pyproject.toml requirements-openai.lock requirements-torch.lock
	@$(PIP) install --require-hashes --no-deps -r requirements-torch.lock 2>/dev/null || { \
	  echo "Installing PyTorch's CPU build from $(TORCH_CPU_INDEX) (about 190 MB)"; \
	  $(PIP) install --require-hashes --no-deps --index-url $(TORCH_CPU_INDEX) -r requirements-torch.lock; }
	$(PIP) install --require-hashes -r requirements-openai.lock
	@touch $(OPENAI_STAMP)

# Regenerates the three locks from pyproject.toml (scripts/lock.sh says how; UPGRADE=1 moves every pin).
lock: install
	UV=$(BIN)/uv scripts/lock.sh

# What .ci/run checks first, in a second: every lock line a registry pin with hashes; no reference outside the repo.
check-lock:
	@$(PYTHON) scripts/check-lock.py

run: install
	$(BIN)/pipeline run

test: install-openai cluster-deps
	$(BIN)/pytest

# The tests that run no external program, model, browser or server (tests/conftest.py marks the rest): seconds.
test-fast: install
	$(BIN)/pytest -m pure

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
