"""`pipeline descriptions import|export|approve` (#21), registered by cli.py, which turns their errors into
messages and exit codes like every other command's."""

from __future__ import annotations

import argparse
import getpass
import json
from collections.abc import Callable
from pathlib import Path

from pipeline.catalog import Catalog
from pipeline.config import Settings
from pipeline.descriptions import track
from pipeline.errors import UsageError


def add_parser(add: Callable[[str, str], argparse.ArgumentParser]) -> None:
    p = add("descriptions", "audio description: import it from a WebVTT file (start times and text; the voice "
                            "sets each end), export it, or approve it, which makes the described soundtrack and "
                            "MP4 that `pipeline publish` uploads")
    p.add_argument("action", choices=("import", "export", "approve"))
    p.add_argument("id", metavar="ID")
    p.add_argument("file", metavar="FILE", nargs="?", help="import/export: the .vtt file")
    p.add_argument("--language", metavar="CODE", help="the descriptions' language (default: [captions] language)")
    p.add_argument("--reviewer", metavar="NAME", help="approve: who checked the descriptions; import: who wrote "
                   "them, for the revision history (default: your login name)")
    p.add_argument("--json", action="store_true", help="print JSON")


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def run(settings: Settings, catalog: Catalog, args: argparse.Namespace) -> int:
    asset = catalog.get(args.id)
    language = track.check_language(args.language or settings.captions.language)
    if args.action in ("import", "export") and not args.file:
        raise UsageError(f"pipeline descriptions {args.action} ID FILE: give the .vtt file")
    if args.action == "import":
        saved = track.import_file(settings, catalog, asset, language, Path(args.file), args.reviewer or _login())
        made = saved.revision
        out = {"id": asset.id, "language": language, "revision": made.number, "descriptions": len(made.cues)}
        text = f"Imported {len(made.cues)} descriptions into {asset.id} as revision {made.number}."
    elif args.action == "export":
        count = track.export_file(settings, catalog, asset, language, Path(args.file))
        out = {"id": asset.id, "language": language, "file": args.file, "descriptions": count}
        text = f"Wrote {count} descriptions of {asset.id} to {args.file}."
    else:
        if not args.reviewer:
            raise UsageError("pipeline descriptions approve ID --reviewer NAME: give the name of who checked them")
        approved = track.approve(settings, catalog, asset, language, args.reviewer)
        described = any(r.name.startswith(f"described-{language}") for r in catalog.renditions(asset.id))
        out = {"id": asset.id, "language": language, "revision": approved.revision, "reviewer": approved.reviewer,
               "state": approved.state.value, "described_soundtrack": described}
        text = (f"Approved revision {approved.revision} of the {language} descriptions of {asset.id} "
                f"(reviewer {approved.reviewer}); " + ("the described soundtrack is made: `pipeline publish "
                f"{asset.id}` uploads it." if described else "the described soundtrack is made once the "
                "renditions are (`pipeline publish` makes it)."))
    print(json.dumps(out, indent=2) if args.json else text)
    return 0
