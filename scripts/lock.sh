#!/usr/bin/env bash
# Regenerates the locks from pyproject.toml with uv (pinned in the dev extra): `make lock`.
#   requirements.lock         the default install and the dev tools (`make install`, `make run`, `make lint`)
#   requirements-openai.lock  the same pins plus the openai extra: openai-whisper and PyTorch's CPU build
#   requirements-torch.lock   PyTorch's line alone, which `make install-openai` installs first (see the Makefile)
# Every line is a registry pin with hashes, resolved for every platform and Python >= 3.11 (`--universal`).
# Pins already in a lock are kept unless UPGRADE=1 is set. PyTorch's CPU build is not on PyPI: it is taken from
# PyTorch's CPU index (TORCH_CPU_INDEX) or, where that cannot be reached, from a folder of wheels (TORCH_WHEELS,
# e.g. TORCH_WHEELS=/opt/wheels); only the wheels found there get a hash.
set -euo pipefail
cd "$(dirname "$0")/.."
uv=${UV:-.venv/bin/uv}
index=${TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}
common=(--generate-hashes --universal --python-version 3.11 --quiet --custom-compile-command "make lock")
[ "${UPGRADE:-0}" = 1 ] && common+=(--upgrade)
if [ -n "${TORCH_WHEELS:-}" ]; then torch_source=(--find-links "$TORCH_WHEELS"); else
  torch_source=(--extra-index-url "$index" --index-strategy unsafe-best-match); fi

"$uv" pip compile pyproject.toml --extra dev "${common[@]}" -o requirements.lock
"$uv" pip compile pyproject.toml --extra dev --extra openai -c requirements.lock --override scripts/torch-cpu.txt \
  "${torch_source[@]}" "${common[@]}" -o requirements-openai.lock
# The torch block: its pin line and the hash lines that continue it.
awk '/^torch==/{on=1} on{print; if ($0 !~ /\\$/) exit}' requirements-openai.lock > requirements-torch.lock
"$(dirname "$0")/check-lock.py"
