"""Rewrite config.toml from the settings declared in pipeline/config.py: every setting, its default, its
description and what it allows. Run after adding or changing a setting: .venv/bin/python scripts/write-config-toml.py"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from pipeline import config

HEADER = """# Settings for the pipeline. Every setting is listed with its default and what it does.
# Paths are relative to this file's folder unless absolute. Pick another file with --config FILE
# or the PIPELINE_CONFIG environment variable. An unknown key or a bad value stops the program.
"""


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, tuple):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return repr(value)


def main() -> None:
    lines = [HEADER]
    for name, cls in config.SECTIONS.items():
        lines.append(f"[{name}]")
        for field in dataclasses.fields(cls):
            meta = field.metadata
            allowed = ""
            if meta["choices"]:
                allowed = " (" + " | ".join(meta["choices"]) + ")"
            elif meta["low"] is not None:
                allowed = f" ({meta['low']:g} to {meta['high']:g})"
            lines.append(f"# {meta['doc']}{allowed}")
            lines.append(f"{field.name} = {toml_value(field.default)}")
        lines.append("")
    (Path(__file__).resolve().parent.parent / "config.toml").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
