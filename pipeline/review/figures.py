"""The review queue's figures of a caption track (#20), counted once when the track is saved (review/editing.py,
the caption stage) and kept in the catalog with the revision (catalog/queue.py), so the queue never opens a draft:
quality problems under the asset's rules, and flagged words nobody has checked or corrected. Pure but for
`rules_for`'s reading of the settings.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence

from pipeline.captions import guards, quality
from pipeline.catalog.flags import FlagRecord
from pipeline.catalog.queue import Counts
from pipeline.config import Settings
from pipeline.models import Asset, Cue
from pipeline.review import flag_states


def rules_for(settings: Settings, asset: Asset) -> quality.Rules:
    """The quality rules for this asset's captions: portrait video gets the narrow line length."""
    portrait = bool(asset.width and asset.height and asset.height > asset.width)
    c = settings.captions
    return quality.rules_for(c.preset, c.max_chars_per_line, c.max_lines, portrait)


def rules_key(rules: quality.Rules) -> str:
    """A short name for a set of quality rules: figures counted under others are counted again."""
    return hashlib.sha256(json.dumps(dataclasses.asdict(rules), sort_keys=True).encode()).hexdigest()[:16]


def count(rules: quality.Rules, cues: Sequence[Cue], words: list[guards.FlaggedWord],
          records: dict[str, FlagRecord]) -> Counts:
    """The figures of a track holding `cues`, as the editor shows them."""
    problems = quality.check(list(cues), rules)
    errors = len(quality.errors(problems))
    still_open = sum(1 for f in flag_states.evaluate(words, list(cues), records)
                     if f.state is flag_states.State.OPEN)
    return Counts(errors, len(problems) - errors, still_open, rules_key(rules))
