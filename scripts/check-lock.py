#!/usr/bin/env python3
"""Fast checks before CI installs anything (`.ci/run` runs this first; `make lock` ends with it).

1. Every requirement in requirements*.lock is a registry pin with hashes: `name==version[ ; markers]` followed by
   `--hash=sha256:...`. A `file:` URL, a path, any other URL, a VCS reference, an editable or an option line that
   points pip elsewhere fails, with the file, the line number and the line.
2. Nothing in the repository refers to the development machine's shared folder (one level above the checkout):
   users get only the repository.
Exit status 1 with one line per problem; 0 and nothing printed otherwise. Usage: check-lock.py [REPOSITORY]
(default: the repository this script is in).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

PIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9._,-]+\])?==[A-Za-z0-9.+!_-]+(\s*;\s*[^@]+)?$")
HASH = re.compile(r"^--hash=sha256:[0-9a-f]{64}$")
# Built from parts so that this file does not match itself.
SHARED = re.compile(r"\.\./" + "shared" + r"\b|(?<![\w./-])" + "shared" + r"/(caption-)?style\.md")


def logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, joined text) per requirement, without comments or continuation backslashes."""
    out: list[tuple[int, str]] = []
    buffer, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not buffer:
            start = number
        buffer += " " + line.rstrip("\\").strip()
        if not line.endswith("\\"):
            if buffer.strip():
                out.append((start, buffer.strip()))
            buffer = ""
    if buffer.strip():
        out.append((start, buffer.strip()))
    return out


def lock_problems(path: Path) -> list[str]:
    problems = []
    for number, line in logical_lines(path.read_text(encoding="utf-8")):
        parts = line.split(" --hash=")
        pin, hashes = parts[0].strip(), ["--hash=" + h.strip() for h in parts[1:]]
        where = f"{path.name} line {number}: {line[:160]!r}"
        if not PIN.match(pin):
            problems.append(f"{where} is not a registry pin (name==version); a file:, path, URL, VCS or option "
                            "line installs something the registry cannot vouch for. Run `make lock`.")
        elif not hashes or not all(HASH.match(h) for h in hashes):
            problems.append(f"{where} has no sha256 hash; run `make lock`.")
    return problems


def shared_references(root: Path) -> list[str]:
    files = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True).stdout
    problems = []
    for name in filter(None, files.decode().split("\0")):
        path = root / name
        if not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if SHARED.search(line):
                problems.append(f"{name} line {number} refers to the shared folder outside the repository, which "
                                f"users do not have: {line.strip()[:120]!r}. Point it at the copy in docs/.")
    return problems


def main() -> int:
    root = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent
    locks = sorted(root.glob("requirements*.lock"))
    problems = [] if locks else ["no requirements*.lock in the repository; run `make lock`."]
    for lock in locks:
        problems += lock_problems(lock)
    problems += shared_references(root)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
