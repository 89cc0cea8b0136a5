"""Editing captions: what the review editor, `pipeline captions import|export` and restore all go through.

Every save is a revision in the catalog (who, when, what changed). A save names the revision it started from;
when someone else saved since, the two are merged caption by caption (review/merging.py): edits to different
captions both stay, and a caption both changed is a ConflictError that lists it, so nobody's work is replaced
without a choice about that caption (#5, #15). The catalog's latest revision is the truth; the WebVTT file next
to the renditions is written from it.

Reading (`read_draft`) never writes. `repair` is the explicit step that brings the catalog and the file
together again (captions made before revisions were kept become revision 1; a file a crash left behind its
latest revision is rewritten); every save and approval runs it first, under the asset folder's lock, and
`pipeline review` runs it for every reviewable asset when it starts (decisions.prepare_workspace).
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.captions import guards, quality, vtt
from pipeline.catalog import Catalog, now
from pipeline.catalog.queue import Counts
from pipeline.config import Settings
from pipeline.errors import CaptionError, ConflictError, UsageError
from pipeline.models import Asset, AssetState, CaptionTrack, Cue, Revision
from pipeline.review import figures, merging
from pipeline.review.merging import Change, Difference
from pipeline.stages import caption, playlists

MAX_CUES = 5000
MAX_CUE_TEXT = 500


@dataclass(frozen=True)
class Draft:
    """A caption track as the editor opens it."""

    asset: Asset
    track: CaptionTrack
    revision: Revision
    words: list[guards.FlaggedWord]
    rules: quality.Rules
    problems: list[quality.Violation]


rules_for = figures.rules_for  # the quality rules of an asset's captions, asked of this module by its callers


def counts(settings: Settings, catalog: Catalog, asset: Asset, language: str, cues: Sequence[Cue],
           words: list[guards.FlaggedWord] | None = None) -> Counts:
    """The queue's figures of the track holding `cues` (review/figures.py), stored with the revision that saves
    them (#20). `words`: the flagged words (None: read from the words file)."""
    if words is None:
        words = guards.read_words(settings.output_dir / asset.id / caption.words_path(language))
    return figures.count(rules_for(settings, asset), cues, words, catalog.flag_records(asset.id, language))


@contextmanager
def locked(folder: Path) -> Iterator[None]:
    """One writer at a time per asset folder, across processes (the editor, the CLI, `pipeline run`)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".captions.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_file(settings: Settings, catalog: Catalog, track: CaptionTrack, cues: list[Cue], status: str) -> None:
    folder = settings.output_dir / track.asset_id
    vtt.write_vtt(folder / track.path, cues, caption.provenance(track.engine, track.model, track.language, status))
    playlists.rebuild(folder, catalog, track.asset_id)


def _latest(settings: Settings, catalog: Catalog, asset_id: str, track: CaptionTrack) -> Revision:
    """The track's latest revision, read only: for captions made before revisions were kept, the file as the
    revision 1 that `repair` would record."""
    if track.revision is None:
        path = settings.output_dir / asset_id / track.path
        cues = vtt.read_vtt(path) if path.is_file() else []
        return Revision(asset_id, track.language, 1, caption.AUTOMATIC, track.generated_at or now(), "automatic draft",
                        tuple(merging.ensure_ids(cues)))
    return catalog.revision(asset_id, track.language, track.revision)


def repair(settings: Settings, catalog: Catalog, asset: Asset, language: str) -> tuple[CaptionTrack, Revision]:
    """The explicit repair step (it writes; call it with the asset folder locked): records the file as revision
    1 for captions made before revisions existed, and rewrites the file if it is not the latest revision (a
    crash between the two writes). Returns the track and its latest revision."""
    track = catalog.caption_track(asset.id, language)
    path = settings.output_dir / asset.id / track.path
    if track.revision is None:
        cues = vtt.read_vtt(path) if path.is_file() else []
        catalog.save_revision(asset.id, language, None, caption.AUTOMATIC, "automatic draft", cues, withdraw=False,
                              counts=counts(settings, catalog, asset, language, cues))
        track = catalog.caption_track(asset.id, language)
    latest = catalog.revision(asset.id, language, track.revision or 1)
    if not path.is_file() or vtt.read_vtt(path) != list(latest.cues):
        _write_file(settings, catalog, track, list(latest.cues), f"revision {latest.number}, not yet reviewed")
    return track, latest


REVIEWABLE = frozenset({AssetState.AWAITING_REVIEW, AssetState.APPROVED, AssetState.PUBLISHED})


def default_language(settings: Settings, catalog: Catalog, asset_id: str) -> str:
    """[captions] language, unless the asset's only captions are in another (a master named `name.cy.mp4`)."""
    languages = [t.language for t in catalog.caption_tracks(asset_id)]
    return settings.captions.language if settings.captions.language in languages or not languages else languages[0]


def history(settings: Settings, catalog: Catalog, asset: Asset, language: str) -> list[Revision]:
    """Every revision of the track, newest first, as summaries without their cues (read only; legacy captions
    show as their revision 1)."""
    return catalog.revision_summaries(asset.id, language) or [
        _latest(settings, catalog, asset.id, catalog.caption_track(asset.id, language))]


def revision(settings: Settings, catalog: Catalog, asset: Asset, language: str, number: int) -> Revision:
    """One revision of the track (read only)."""
    track = catalog.caption_track(asset.id, language)
    if track.revision is None and number == 1:
        return _latest(settings, catalog, asset.id, track)
    return catalog.revision(asset.id, language, number)


def read_draft(settings: Settings, catalog: Catalog, asset: Asset, language: str | None = None) -> Draft:
    """A caption track as the editor opens it. Reads only."""
    language = language or default_language(settings, catalog, asset.id)
    track = catalog.caption_track(asset.id, language)
    latest = _latest(settings, catalog, asset.id, track)
    words = guards.read_words(settings.output_dir / asset.id / caption.words_path(language))
    rules = rules_for(settings, asset)
    problems = quality.check(list(latest.cues), rules)
    return Draft(asset, track, latest, words, rules, problems)


def clean_cues(cues: Sequence[Cue]) -> list[Cue]:
    """Cues as they may be stored, in time order, each with its id; a cue that cannot be is refused with its
    number."""
    if len(cues) > MAX_CUES:
        raise UsageError(f"{len(cues)} cues is more than the {MAX_CUES} one track may hold")
    merging.check_ids(cues)
    cleaned = []
    for number, cue in enumerate(cues, start=1):
        text = vtt.clean_text(cue.text)
        if not text:
            raise UsageError(f"cue {number} has no text: type its caption or delete the cue")
        if len(text) > MAX_CUE_TEXT:
            raise UsageError(f"cue {number} has {len(text)} characters; split it (at most {MAX_CUE_TEXT})")
        if cue.start_ms < 0 or cue.end_ms <= cue.start_ms:
            raise UsageError(f"cue {number} ends at {vtt.timestamp(max(cue.end_ms, 0))}, not after its start "
                             f"{vtt.timestamp(max(cue.start_ms, 0))}; fix its times")
        cleaned.append(Cue(cue.start_ms, cue.end_ms, text, cue.id))
    return merging.in_order(cleaned)


def describe(differences: Sequence[Difference]) -> str:
    """What a save changed, in words: "cue 3 text; cue 5 timing; 1 cue added"."""
    parts = [f"cue {d.position} {d.kind}" for d in differences if d.kind not in ("added", "removed")]
    added = sum(1 for d in differences if d.kind == "added")
    removed = sum(1 for d in differences if d.kind == "removed")
    if added:
        parts.append(f"{added} cue{'s' if added > 1 else ''} added")
    if removed:
        parts.append(f"{removed} cue{'s' if removed > 1 else ''} removed")
    if len(parts) > 6:
        parts = parts[:5] + [f"{len(parts) - 5} more changes"]
    return "; ".join(parts) or "no change"


def describe_changes(old: list[Cue], new: list[Cue]) -> str:
    """`describe` for two cue lists, ids matched as for a file."""
    old = merging.ensure_ids(old)
    return describe(merging.compare(old, merging.identify(old, new)))


@dataclass(frozen=True)
class Saved:
    """A save's outcome: the revision now latest, and the other people's revisions merged into it (number,
    author), oldest first; empty when nobody else saved in between."""

    revision: Revision
    merged_with: list[tuple[int, str]] = field(default_factory=list)


def _author(author: str) -> str:
    name = " ".join(author.split())
    if not name:
        raise UsageError("give your name before saving: every revision records who made it")
    return name


def _between(catalog: Catalog, asset: Asset, language: str, after: int, upto: int) -> list[Revision]:
    return [catalog.revision(asset.id, language, n) for n in range(after + 1, upto + 1)]


def _conflict(catalog: Catalog, asset: Asset, language: str, start: Revision, latest: Revision,
              conflicts: list[merging.Conflict], merged: list[Cue]) -> ConflictError:
    between = [(r.number, r.author, r.cues) for r in _between(catalog, asset, language, start.number, latest.number)]
    rows = merging.conflict_rows(conflicts, merged, between, (latest.number, latest.author))
    where = ", ".join(f"caption {r['position']}" if r["position"] else "a caption they deleted" for r in rows[:5])
    more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
    return ConflictError(
        f"{latest.author} saved revision {latest.number} at {latest.created_at:%H:%M:%S} UTC, after the revision "
        f"{start.number} you started from, and you both changed {where}{more}: choose which version to keep for "
        f"each", current_revision=latest.number, author=latest.author,
        details={"conflicts": rows, "latest_cues": [merging.row(c) for c in latest.cues],
                 "merged": [merging.row(c) for c in merged]})


def save_changes(settings: Settings, catalog: Catalog, asset: Asset, language: str, base: int | None, author: str,
                 changes: Sequence[Change], summary: str | None = None) -> Saved:
    """Make `changes` to revision `base` (None: the latest) and store the result as a new revision, merged per
    caption with anything saved since `base`; ConflictError (nothing saved) when a caption changed on both sides."""
    name = _author(author)
    with locked(settings.output_dir / asset.id):
        track, latest = repair(settings, catalog, asset, language)
        start = latest if base in (None, latest.number) else revision(settings, catalog, asset, language,
                                                                       int(base or 0))
        mine = clean_cues(merging.apply(start.cues, changes))
        merged_with: list[tuple[int, str]] = []
        new = mine
        if start.number != latest.number:
            new, conflicts = merging.merge(start.cues, mine, latest.cues)
            if conflicts:
                raise _conflict(catalog, asset, language, start, latest, conflicts, new)
            merged_with = [(r.number, r.author) for r in reversed(history(settings, catalog, asset, language))
                           if start.number < r.number <= latest.number]
        differences = merging.compare(latest.cues, new)
        if not differences:
            return Saved(latest, merged_with)  # nothing changed: no empty revision
        made = catalog.save_revision(asset.id, language, latest.number, name, summary or describe(differences), new,
                                     cues_changed=len(differences), counts=counts(settings, catalog, asset, language,
                                                                                  new))
        _write_file(settings, catalog, track, new,
                    f"revision {made.number} by {name} ({made.summary}), not yet reviewed")
    return Saved(made, merged_with)


def save(settings: Settings, catalog: Catalog, asset: Asset, language: str, base: int | None, author: str,
         cues: list[Cue], summary: str | None = None) -> Revision:
    """Store a whole cue list as the new state of revision `base` (None: the latest): cues without ids are
    matched to that revision's by their text and position, then saved as per-cue changes (`save_changes`)."""
    track = catalog.caption_track(asset.id, language)
    start = (_latest(settings, catalog, asset.id, track) if base is None or base == track.revision
             else revision(settings, catalog, asset, language, base))
    mine = merging.identify(start.cues, cues)
    return save_changes(settings, catalog, asset, language, start.number, author,
                        merging.changes_between(start.cues, mine), summary).revision


def compare(settings: Settings, catalog: Catalog, asset: Asset, language: str, older: int,
            newer: int) -> list[tuple[Difference, tuple[int, str] | None]]:
    """How revision `newer` differs from `older`, caption by caption, each with the revision (number, author)
    that last changed that caption up to the later of the two: whose change it is."""
    a = revision(settings, catalog, asset, language, older)
    b = revision(settings, catalog, asset, language, newer)
    upto = max(older, newer)
    blame = merging.last_changes([(r.number, r.author, r.cues) for r in _between(catalog, asset, language, 0, upto)]
                                 if catalog.caption_track(asset.id, language).revision else [])
    return [(d, blame.get(d.id)) for d in merging.compare(a.cues, b.cues)]


def restore(settings: Settings, catalog: Catalog, asset: Asset, language: str, number: int, base: int,
            author: str, ids: Sequence[str] | None = None) -> Saved:
    """Captions of an earlier revision `number` back, as a new revision: those in `ids` (None: every caption
    that differs from revision `base`, the one the reviewer is looking at)."""
    old = revision(settings, catalog, asset, language, number)
    start = revision(settings, catalog, asset, language, base)
    chosen = list(ids) if ids is not None else [d.id for d in merging.compare(start.cues, old.cues)]
    wanted = {c.id: c for c in old.cues}
    which = "" if ids is None else f" ({len(chosen)} caption{'s' if len(chosen) != 1 else ''})"
    return save_changes(settings, catalog, asset, language, base, author, [Change(i, wanted.get(i)) for i in chosen],
                        summary=f"restored revision {number}{which}")


def _imported(settings: Settings, catalog: Catalog, asset: Asset, language: str, name: str, data: bytes,
              base: int | None) -> tuple[Revision, list[Cue]]:
    try:
        cues = vtt.parse_captions_file(name, data)
    except CaptionError as exc:
        raise UsageError(str(exc)) from exc
    track = catalog.caption_track(asset.id, language)
    start = (_latest(settings, catalog, asset.id, track) if base is None or base == track.revision
             else revision(settings, catalog, asset, language, base))
    return start, merging.identify(start.cues, cues)


def import_preview(settings: Settings, catalog: Catalog, asset: Asset, name: str, data: bytes, base: int | None,
                   language: str) -> list[tuple[Difference, tuple[int, str] | None]]:
    """What importing the file would change, caption by caption, naming whose change each would replace."""
    start, cues = _imported(settings, catalog, asset, language, name, data, base)
    blame = merging.last_changes([(r.number, r.author, r.cues)
                                  for r in _between(catalog, asset, language, 0, start.number)]
                                 if catalog.caption_track(asset.id, language).revision else [])
    return [(d, blame.get(d.id)) for d in merging.compare(start.cues, cues)]


def import_file(settings: Settings, catalog: Catalog, asset: Asset, name: str, data: bytes, author: str,
                base: int | None = None, language: str | None = None, ids: Sequence[str] | None = None) -> Saved:
    """Captions edited in another program (Subtitle Edit, Aegisub: .vtt or .srt) become a new revision: every
    caption of the file, or those in `ids` (as `import_preview` names them)."""
    language = language or default_language(settings, catalog, asset.id)
    start, cues = _imported(settings, catalog, asset, language, name, data, base)
    changes = merging.changes_between(start.cues, cues)
    if ids is not None:
        changes = [c for c in changes if c.id in set(ids)]
    return save_changes(settings, catalog, asset, language, start.number, author, changes,
                        summary=f"imported {Path(name).name}")


def difference_row(found: Difference, blame: tuple[int, str] | None) -> dict[str, Any]:
    return {"id": found.id, "position": found.position, "kind": found.kind, "before": merging.row(found.before),
            "after": merging.row(found.after), "changed_by": blame[1] if blame else None,
            "changed_in": blame[0] if blame else None}


def export_text(settings: Settings, catalog: Catalog, asset: Asset, kind: str, language: str | None = None) -> str:
    """The latest revision as WebVTT (`kind` "vtt": the file, when it holds that revision) or SubRip ("srt")."""
    if kind not in ("vtt", "srt"):
        raise UsageError(f"{kind!r}: captions export as .vtt (WebVTT) or .srt (SubRip)")
    draft = read_draft(settings, catalog, asset, language)
    cues = list(draft.revision.cues)
    if kind == "srt":
        return vtt.format_srt(cues)
    path = settings.output_dir / asset.id / draft.track.path
    if path.is_file() and vtt.read_vtt(path) == cues:
        return path.read_text(encoding="utf-8")
    track = draft.track
    return vtt.format_vtt(cues, caption.provenance(track.engine, track.model, track.language,
                                                   f"revision {draft.revision.number}, not yet reviewed"))
