"""Editing captions: what the review editor, `pipeline captions import|export` and restore all go through.

Every save is a revision in the catalog (who, when, what changed), made only if the revision it was based on
is still the latest; otherwise ConflictError, so two reviewers never overwrite each other's work (#5). The
catalog's latest revision is the truth; the WebVTT file next to the renditions is written from it.

Reading (`read_draft`) never writes. `repair` is the explicit step that brings the catalog and the file
together again (captions made before revisions were kept become revision 1; a file a crash left behind its
latest revision is rewritten); every save and approval runs it first, under the asset folder's lock, and
`pipeline review` runs it for every reviewable asset when it starts (decisions.prepare_workspace).
"""

from __future__ import annotations

import difflib
import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pipeline.captions import guards, quality, vtt
from pipeline.catalog import Catalog, now
from pipeline.config import Settings
from pipeline.errors import CaptionError, UsageError
from pipeline.models import Asset, AssetState, CaptionTrack, Cue, Revision
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


def rules_for(settings: Settings, asset: Asset) -> quality.Rules:
    """The quality rules for this asset's captions: portrait video gets the narrow line length."""
    portrait = bool(asset.width and asset.height and asset.height > asset.width)
    c = settings.captions
    return quality.rules_for(c.preset, c.max_chars_per_line, c.max_lines, portrait)


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
                        tuple(cues))
    return catalog.revision(asset_id, track.language, track.revision)


def repair(settings: Settings, catalog: Catalog, asset: Asset, language: str) -> tuple[CaptionTrack, Revision]:
    """The explicit repair step (it writes; call it with the asset folder locked): records the file as revision
    1 for captions made before revisions existed, and rewrites the file if it is not the latest revision (a
    crash between the two writes). Returns the track and its latest revision."""
    track = catalog.caption_track(asset.id, language)
    path = settings.output_dir / asset.id / track.path
    if track.revision is None:
        cues = vtt.read_vtt(path) if path.is_file() else []
        catalog.save_revision(asset.id, language, None, caption.AUTOMATIC, "automatic draft", cues, withdraw=False)
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
    """Every revision of the track, newest first (read only; legacy captions show as their revision 1)."""
    return catalog.revisions(asset.id, language) or [_latest(settings, catalog, asset.id,
                                                              catalog.caption_track(asset.id, language))]


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


def clean_cues(cues: list[Cue]) -> list[Cue]:
    """Cues as they may be stored, in time order; a cue that cannot be is refused with its number."""
    if len(cues) > MAX_CUES:
        raise UsageError(f"{len(cues)} cues is more than the {MAX_CUES} one track may hold")
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
        cleaned.append(Cue(cue.start_ms, cue.end_ms, text))
    return sorted(cleaned, key=lambda c: (c.start_ms, c.end_ms))


def describe_changes(old: list[Cue], new: list[Cue]) -> str:
    """What a save changed, in words: "cue 3 text; cue 5 timing; 1 cue added"."""
    parts: list[str] = []
    added = removed = 0
    matcher = difflib.SequenceMatcher(a=[c.text for c in old], b=[c.text for c in new], autojunk=False)
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        if tag == "equal":
            parts += [f"cue {b1 + i + 1} timing" for i in range(a2 - a1) if old[a1 + i] != new[b1 + i]]
        elif tag == "replace" and a2 - a1 == b2 - b1:
            parts += [f"cue {b1 + i + 1} text" for i in range(a2 - a1)]
        else:
            added, removed = added + max(b2 - b1 - (a2 - a1), 0), removed + max(a2 - a1 - (b2 - b1), 0)
            parts += [f"cue {b1 + i + 1} text" for i in range(min(a2 - a1, b2 - b1))]
    if added:
        parts.append(f"{added} cue{'s' if added > 1 else ''} added")
    if removed:
        parts.append(f"{removed} cue{'s' if removed > 1 else ''} removed")
    if len(parts) > 6:
        parts = parts[:5] + [f"{len(parts) - 5} more changes"]
    return "; ".join(parts) or "no change"


def save(settings: Settings, catalog: Catalog, asset: Asset, language: str, base: int | None, author: str,
         cues: list[Cue], summary: str | None = None) -> Revision:
    """Store `cues` as a new revision based on revision `base` (None: whatever is latest, for the CLI)."""
    name = " ".join(author.split())
    if not name:
        raise UsageError("give your name before saving: every revision records who made it")
    cleaned = clean_cues(cues)
    with locked(settings.output_dir / asset.id):
        track, latest = repair(settings, catalog, asset, language)
        base = latest.number if base is None else base
        if base == latest.number and cleaned == list(latest.cues):
            return latest  # nothing changed: no empty revision
        made = catalog.save_revision(asset.id, language, base, name,
                                     summary or describe_changes(list(latest.cues), cleaned), cleaned)
        _write_file(settings, catalog, track, cleaned,
                    f"revision {made.number} by {name} ({made.summary}), not yet reviewed")
    return made


def restore(settings: Settings, catalog: Catalog, asset: Asset, language: str, number: int, base: int,
            author: str) -> Revision:
    old = revision(settings, catalog, asset, language, number)
    return save(settings, catalog, asset, language, base, author, list(old.cues),
                summary=f"restored revision {number}")


def import_file(settings: Settings, catalog: Catalog, asset: Asset, name: str, data: bytes, author: str,
                base: int | None = None, language: str | None = None) -> Revision:
    """Captions edited in another program (Subtitle Edit, Aegisub: .vtt or .srt) become a new revision."""
    try:
        cues = vtt.parse_captions_file(name, data)
    except CaptionError as exc:
        raise UsageError(str(exc)) from exc
    return save(settings, catalog, asset, language or default_language(settings, catalog, asset.id), base, author,
                cues, summary=f"imported {Path(name).name}")


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
