"""Three-way merging of caption tracks, cue by cue (#15): pure functions, no catalog, no files.

Every cue has a stable id (models.Cue.id). A save is a list of per-cue changes against the revision the reviewer
started from (the base). When someone else saved in between, their revision and ours are merged per cue: a cue
only one side changed takes that side's version; a cue both changed differently is a conflict, which a person
decides. So edits to different captions never conflict, and nothing someone else saved is replaced without a
choice about that very caption (the same rule as git's three-way merge, applied to cues instead of lines).
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pipeline.errors import UsageError
from pipeline.models import Cue

ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


@dataclass(frozen=True)
class Change:
    """The cue `id` as it is now; `cue` None: deleted. An id the base does not have adds a cue."""

    id: str
    cue: Cue | None


@dataclass(frozen=True)
class Conflict:
    """A caption both sides changed, differently: each version, None where that side deleted it (or, for the
    base, where both added it)."""

    id: str
    base: Cue | None
    mine: Cue | None
    theirs: Cue | None


@dataclass(frozen=True)
class Difference:
    """How caption `id` differs between two revisions; `position` is 1-based in the newer list (in the older one
    for a removal)."""

    id: str
    position: int
    kind: str  # "added", "removed", "text", "timing", "text and timing"
    before: Cue | None
    after: Cue | None


def with_id(cue: Cue, cue_id: str) -> Cue:
    return Cue(cue.start_ms, cue.end_ms, cue.text, cue_id)


def in_order(cues: Iterable[Cue]) -> list[Cue]:
    return sorted(cues, key=lambda c: (c.start_ms, c.end_ms))


def ensure_ids(cues: Sequence[Cue]) -> list[Cue]:
    """Cues stored before ids existed are called "n" + their position, the same on every read of a revision."""
    return [c if c.id else with_id(c, f"n{i}") for i, c in enumerate(cues, start=1)]


def check_ids(cues: Sequence[Cue]) -> None:
    seen: set[str] = set()
    for number, cue in enumerate(cues, start=1):
        if not ID_PATTERN.match(cue.id):
            raise UsageError(f"cue {number}: its id {cue.id[:40]!r} is not 1-40 letters, digits, '-' or '_'")
        if cue.id in seen:
            raise UsageError(f"cue {number}: its id {cue.id!r} is used twice; every caption needs its own")
        seen.add(cue.id)


def identify(base: Sequence[Cue], cues: Sequence[Cue]) -> list[Cue]:
    """`cues` (from a file, or an editor that sends no ids) with ids: a cue lined up with a base cue, by the
    sequence of texts and then by position within a replaced run, takes that cue's id; the rest get new ones,
    made from their position, times and text (the same on every read of the same file)."""
    if all(c.id for c in cues):
        return list(cues)
    taken = {c.id for c in cues if c.id}
    result = list(cues)
    matcher = difflib.SequenceMatcher(a=[c.text for c in base], b=[c.text for c in cues], autojunk=False)
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        if tag not in ("equal", "replace"):
            continue
        for offset in range(min(a2 - a1, b2 - b1)):
            old, new = base[a1 + offset], cues[b1 + offset]
            if not new.id and old.id not in taken:
                result[b1 + offset] = with_id(new, old.id)
                taken.add(old.id)
    return [c if c.id else with_id(c, _file_id(i, c, taken)) for i, c in enumerate(result)]


def _file_id(index: int, cue: Cue, taken: set[str]) -> str:
    """A new caption's id from what it is, so that reading the same file twice names it the same (an import's
    preview and the import itself agree on it)."""
    digest = hashlib.sha256(f"{index}:{cue.start_ms}:{cue.end_ms}:{cue.text}".encode()).hexdigest()
    found = "f" + digest[:11]
    while found in taken:
        found = "f" + hashlib.sha256(found.encode()).hexdigest()[:11]
    taken.add(found)
    return found


def apply(base: Sequence[Cue], changes: Sequence[Change]) -> list[Cue]:
    """The base with `changes` made, in time order."""
    by_id = {c.id: c for c in base}
    for change in changes:
        if change.cue is None:
            by_id.pop(change.id, None)
        else:
            by_id[change.id] = with_id(change.cue, change.id)
    return in_order(by_id.values())


def changes_between(old: Sequence[Cue], new: Sequence[Cue]) -> list[Change]:
    """What turns `old` into `new`, per cue id."""
    before = {c.id: c for c in old}
    after = {c.id: c for c in new}
    changed = [Change(c.id, c) for c in new if before.get(c.id) != c]
    return changed + [Change(cue_id, None) for cue_id in before if cue_id not in after]


def merge(base: Sequence[Cue], mine: Sequence[Cue], theirs: Sequence[Cue]) -> tuple[list[Cue], list[Conflict]]:
    """Mine and theirs, both made from `base`, as one track: per cue, the side that changed it wins; where both
    changed it differently, theirs stays in the merged track and the cue is listed as a conflict."""
    b = {c.id: c for c in base}
    m = {c.id: c for c in mine}
    t = {c.id: c for c in theirs}
    merged: list[Cue] = []
    conflicts: list[Conflict] = []
    for cue_id in dict.fromkeys([*t, *m, *b]):
        old, ours, other = b.get(cue_id), m.get(cue_id), t.get(cue_id)
        if ours in (other, old):
            chosen = other
        elif other == old:
            chosen = ours
        else:
            chosen = other
            conflicts.append(Conflict(cue_id, old, ours, other))
        if chosen is not None:
            merged.append(chosen)
    order = {c.id: i for i, c in enumerate(in_order(merged))}
    conflicts.sort(key=lambda c: order.get(c.id, len(order)))
    return in_order(merged), conflicts


def compare(old: Sequence[Cue], new: Sequence[Cue]) -> list[Difference]:
    """Every caption that differs between two revisions, in the order of the newer one (removals where they were)."""
    before = {c.id: c for c in old}
    after_ids = {c.id for c in new}
    found: list[tuple[float, Difference]] = []
    for position, cue in enumerate(new, start=1):
        was = before.get(cue.id)
        if was is None:
            found.append((position, Difference(cue.id, position, "added", None, cue)))
        elif was != cue:
            text, timing = was.text != cue.text, (was.start_ms, was.end_ms) != (cue.start_ms, cue.end_ms)
            kind = "text and timing" if text and timing else "text" if text else "timing"
            found.append((position, Difference(cue.id, position, kind, was, cue)))
    for position, cue in enumerate(old, start=1):
        if cue.id not in after_ids:
            at = next((i for i, c in enumerate(new, start=1) if c.start_ms >= cue.start_ms), len(new) + 1)
            found.append((at - 0.5, Difference(cue.id, position, "removed", cue, None)))
    return [d for _, d in sorted(found, key=lambda item: item[0])]


def last_changes(revisions: Sequence[tuple[int, str, Sequence[Cue]]]) -> dict[str, tuple[int, str]]:
    """For each cue id, the revision (number, author) that last changed it, added it or removed it, from the
    revisions given oldest first."""
    blame: dict[str, tuple[int, str]] = {}
    previous: dict[str, Cue] = {}
    for number, author, cues in revisions:
        now = {c.id: c for c in cues}
        for cue_id in now.keys() | previous.keys():
            if now.get(cue_id) != previous.get(cue_id):
                blame[cue_id] = (number, author)
        previous = now
    return blame


def row(cue: Cue | None) -> dict[str, object] | None:
    """A cue as the API sends it."""
    return None if cue is None else {"id": cue.id, "start_ms": cue.start_ms, "end_ms": cue.end_ms, "text": cue.text}


def conflict_rows(conflicts: Sequence[Conflict], merged: Sequence[Cue],
                  between: Sequence[tuple[int, str, Sequence[Cue]]],
                  latest: tuple[int, str]) -> list[dict[str, object]]:
    """Each conflict as a 409 answer lists it: its place in the merged list (0: deleted there), the three versions,
    and whose change "theirs" is (the revision that last changed it among `between`, else `latest`)."""
    blame = last_changes(between)
    positions = {c.id: i for i, c in enumerate(merged, start=1)}
    rows: list[dict[str, object]] = []
    for found in conflicts:
        number, author = blame.get(found.id, latest)
        rows.append({"id": found.id, "position": positions.get(found.id, 0), "base": row(found.base),
                     "mine": row(found.mine), "theirs": row(found.theirs),
                     "theirs_author": author, "theirs_revision": number})
    return rows
