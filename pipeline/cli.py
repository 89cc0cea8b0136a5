"""The `pipeline` command. The only place that turns errors into messages and exit codes. It talks to the user
itself, except for `pipeline run`'s report, which the chosen executor prints (executor.py and
cluster/coordinator.py, through ui.py) because only it knows whether masters were processed or queued.

Exit codes: 0 success; 1 an asset or a service failed; 2 a usage or configuration error.
An error is one line on stderr; --debug adds the traceback.
"""

from __future__ import annotations

import argparse
import getpass
import io
import json
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from pipeline import __version__, cli_descriptions, config, executor, logs, runner
from pipeline.captions import quality, vtt
from pipeline.catalog import Catalog
from pipeline.config import Settings
from pipeline.distribution import publish as publishing
from pipeline.distribution import share as sharing
from pipeline.durations import parse_duration
from pipeline.errors import PipelineError, StorageError, UsageError
from pipeline.executor import Executor
from pipeline.fsutil import printable
from pipeline.models import Asset, AssetState, JobRecord, ShareLink
from pipeline.review import decisions as review
from pipeline.review import editing, flags
from pipeline.stages import transcode
from pipeline.storage import open_store
from pipeline.storage.embedded import EmbeddedStorage
from pipeline.ui import TerminalReporter, format_table

log = logging.getLogger("pipeline")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def _common() -> _Parser:
    common = _Parser(add_help=False)
    common.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS,
                        help=f"settings file (default: ${config.CONFIG_ENV}, else ./config.toml)")
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="log every command run and show tracebacks")
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = _Parser(prog="pipeline", parents=[common],
                     description="Transcode, caption, review and publish short videos.")
    parser.add_argument("--version", action="version", version=f"pipeline {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        parsed: argparse.ArgumentParser = sub.add_parser(name, parents=[common], help=help_text,
                                                         description=help_text)
        return parsed

    p = add("run", "process new masters: ingest, a proxy and draft captions for review, then the ladder")
    p.add_argument("masters", nargs="*", metavar="MASTER", help="files to process (default: every file in "
                   "[paths] masters)")
    p.add_argument("--wait", action="store_true", help="distributed mode: follow the queued masters until the "
                   "workers finish them, then bring their outputs here")
    p = add("worker", "distributed mode: run Celery workers that take queued work")
    p.add_argument("--queues", default="transcode,caption", help="queues to take work from, separated by commas "
                   "(default: transcode,caption; a GPU machine may take caption only)")
    p.add_argument("--name", help="this worker's name in `pipeline status` (default: the host name)")
    p = add("pull", "distributed mode: bring processed assets' outputs from the work bucket to this machine")
    p.add_argument("ids", nargs="*", metavar="ID", help="assets to bring (default: every processed asset)")
    p = add("status", "list assets and their states")
    p.add_argument("--json", action="store_true", help="print a JSON array")
    p = add("approve", "approve an asset's captions after checking them: refused, listing them, while flagged "
                       "words are unchecked or caption errors remain, unless a reason is given")
    p.add_argument("id", metavar="ID")
    p.add_argument("--reviewer", required=True, metavar="NAME", help="who checked the captions")
    p.add_argument("--reason", "--override", dest="reason", metavar="WHY",
                   help="approve with flagged words unchecked or caption errors left; the reason and the number "
                        "of unchecked items are recorded and shown on the share page")
    p.add_argument("--no-speech", action="store_true", help="for captions without a cue (no speech heard): "
                   "decide \"no speech: nothing to caption\", so that the asset can be published")
    p = add("captions", "caption tools: check the captions of an asset or a WebVTT file; export them to, or "
                        "import them from, a .vtt or .srt file edited in another program; list the flagged "
                        "words and mark one checked")
    p.add_argument("action", choices=("check", "export", "import", "flags", "check-flag"))
    p.add_argument("target", metavar="ID|FILE", help="an asset id (check: or a .vtt file)")
    p.add_argument("file", metavar="FILE|KEY", nargs="?", help="export/import: the .vtt or .srt file; "
                   "check-flag: the flag's key, as `pipeline captions flags ID` lists it")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--reviewer", metavar="NAME", help="import: who edited the file, for the revision history "
                   "(default: your login name); check-flag: who listened and found the word right")
    cli_descriptions.add_parser(add)
    p = add("publish", "upload approved assets to object storage")
    p.add_argument("ids", nargs="*", metavar="ID", help="assets to publish (default: every approved asset)")
    p.add_argument("--allow-unreviewed", action="store_true",
                   help="emergencies only: publish the named assets before their captions are approved; "
                        "recorded, and the share page says so")
    p.add_argument("--verify", action="store_true",
                   help="read every stored object back, check its SHA-256 and upload again what is missing or "
                        "wrong (done by itself after a publish that met a storage error)")
    p.add_argument("--json", action="store_true", help="print a JSON array")
    p = add("share", "make a link to a published asset's share page (player, captions, transcript, "
                     "downloads) that expires; or list or revoke links")
    p.add_argument("id", metavar="ID", nargs="?", help="the asset to share")
    p.add_argument("--expires", metavar="DURATION", help="for example 12h or 3d; at most 7d "
                   "(default: [publish] default_link_expiry)")
    p.add_argument("--audience", metavar="NAME", help="who the link is for, recorded with it")
    p.add_argument("--list", action="store_true", help="list the asset's links")
    p.add_argument("--revoke", metavar="LINK", help="stop a link working: the URL handed out, or its id")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = add("title", "set the title the share page and exports show instead of the file name")
    p.add_argument("id", metavar="ID")
    p.add_argument("text", metavar="TITLE", help='for example "Staying safe online"; "" goes back to the file name')
    p = add("export", "write what a presenter needs offline into FOLDER (a USB stick): MP4 with captions to "
                      "switch on, MP4 with captions on the picture, WebVTT, SRT, transcript, a page to play it")
    p.add_argument("id", metavar="ID")
    p.add_argument("folder", metavar="FOLDER")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = add("unpublish", "delete a published asset from object storage")
    p.add_argument("id", metavar="ID")
    p = add("review", "serve the caption review app")
    p.add_argument("--host", help="address to listen on (default: [review] host)")
    p.add_argument("--port", type=int, help="port to listen on (default: [review] port)")
    p = add("storage", "start, stop or inspect the embedded object storage")
    p.add_argument("action", choices=("start", "stop", "status"))
    return parser


@dataclass
class Context:
    """What every command gets: the settings, and the executor chosen for them (which holds the catalog)."""

    settings: Settings
    executor: Executor

    @property
    def catalog(self) -> Catalog:
        return self.executor.catalog


def cmd_run(ctx: Context, args: argparse.Namespace) -> int:
    settings = ctx.settings
    for stream in (sys.stdout, sys.stderr):  # a master's name may hold bytes that are not UTF-8
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    masters = [Path(m) for m in args.masters] or runner.list_masters(settings.masters_dir)
    if not masters:
        print(f"No masters in {settings.masters_dir}: put video files there and run again.")
        return 0
    return ctx.executor.submit(masters, args.wait)


def cmd_worker(ctx: Context, args: argparse.Namespace) -> int:
    return ctx.executor.serve_worker(args.queues, args.name,
                                     ["--config", args.config] if getattr(args, "config", None) else [])


def cmd_pull(ctx: Context, args: argparse.Namespace) -> int:
    settings = ctx.settings
    fetched = ctx.executor.bring_back(args.ids or None, asked=True)
    print(f"{fetched} files brought to {settings.output_dir}.")
    return 0


def _print_jobs(records: list[JobRecord]) -> None:
    from pipeline.cluster import coordinator

    counts = coordinator.by_state(records)
    print("\nJobs: " + ", ".join(f"{n} {state.value}" for state, n in counts.items()))
    loads = coordinator.by_worker(records)
    if loads:
        print(format_table([(w.worker, str(w.running), str(w.done), str(w.failed), str(w.attempts)) for w in loads],
                           ("WORKER", "RUNNING", "DONE", "FAILED", "STARTS")))


def cmd_status(ctx: Context, args: argparse.Namespace) -> int:
    catalog = ctx.catalog
    assets = catalog.list_assets()
    jobs = ctx.executor.jobs()
    if args.json:
        rows = [{"id": a.id, "source": a.source, "version": a.version, "state": a.state.value,
                 "duration_ms": a.duration_ms, "updated_at": a.updated_at.isoformat(),
                 **({"stage": a.stage, "progress": a.progress} if a.state is AssetState.PROCESSING else {}),
                 **({"error": a.error} if a.state is AssetState.FAILED else {}),
                 **({"renditions": transcode.ladder_note(catalog, a)} if a.state in runner.REVIEWING else {}),
                 **({"jobs": [{"stage": j.stage, "state": j.state.value, "attempts": j.attempts, "worker": j.worker,
                               "error": j.error} for j in jobs if j.asset_id == a.id]} if jobs is not None else {})}
                for a in assets]
        print(json.dumps(rows, indent=2))
        return 0
    if not assets:
        print("No assets yet: put videos in the masters folder and run `pipeline run`.")
        return 0
    def state(a: Asset) -> str:
        if a.state is AssetState.PROCESSING and a.stage:
            return f"processing ({a.stage} {a.progress or 0:.0%})"
        ladder = transcode.ladder_note(catalog, a) if a.state in runner.REVIEWING else None
        return f"{a.state.value} (captions ready, {ladder})" if ladder else a.state.value

    print(format_table([(a.id, state(a), f"v{a.version}", a.source, a.error or "") for a in assets],
                       ("ID", "STATE", "VER", "SOURCE", "ERROR")))
    if jobs is not None:
        _print_jobs(jobs)
    return 0


def cmd_approve(ctx: Context, args: argparse.Namespace) -> int:
    settings = ctx.settings
    try:
        asset = review.approve(settings, ctx.catalog, ctx.catalog.get(args.id), args.reviewer, args.reason,
                               no_speech=args.no_speech)
    except review.GateError as exc:  # the open items first, then the one line that says what to do
        print(format_table([(i.language, str(i.cue), i.kind, i.key or "", i.text) for i in exc.open_items],
                           ("TRACK", "CUE", "KIND", "KEY", "OPEN ITEM")), file=sys.stderr)
        raise
    decided = f" ({review.NO_SPEECH})" if args.no_speech else ""
    print(f"Approved captions of {asset.id} ({printable(asset.source)}){decided}. "
          f"Publish with: pipeline publish {asset.id}")
    return 0


def _flags(ctx: Context, args: argparse.Namespace) -> int:
    catalog = ctx.catalog
    asset = catalog.get(args.target)
    language = editing.default_language(ctx.settings, catalog, asset.id)
    if args.action == "check-flag":
        if not args.file or not args.reviewer:
            raise UsageError("pipeline captions check-flag ID KEY --reviewer NAME: give the flag's key (`pipeline "
                             "captions flags ID` lists them) and your name")
        done = flags.check(ctx.settings, catalog, asset, language, args.file, args.reviewer)
        print(f"Flag {done.key} in caption {done.cue}: {done.message}.")
        return 0
    found = flags.track_flags(ctx.settings, catalog, asset, language)
    if args.json:
        print(json.dumps([flags.row(f) for f in found], indent=2))
        return 0
    if found:
        print(format_table([(f.key, str(f.cue), f.state.value, f.word.text.strip(), ", ".join(f.labels), f.by or "")
                            for f in found], ("KEY", "CUE", "STATE", "WORD", "WHY FLAGGED", "BY")))
    still = sum(1 for f in found if f.state is flags.State.OPEN)
    print(f"{len(found)} flagged word(s), {still} open; mark one checked with "
          f"`pipeline captions check-flag {asset.id} KEY --reviewer NAME`")
    return 0


def cmd_captions(ctx: Context, args: argparse.Namespace) -> int:
    settings = ctx.settings
    if args.action in ("flags", "check-flag"):
        return _flags(ctx, args)
    if args.action in ("export", "import"):
        if not args.file:
            raise UsageError(f"pipeline captions {args.action} ID FILE: give the .vtt or .srt file")
        catalog = ctx.catalog
        if args.action == "export":
            count = review.export_captions(settings, catalog, catalog.get(args.target), Path(args.file))
            print(f"Wrote {count} cues to {printable(args.file)}.")
            return 0
        made = review.import_captions(settings, catalog, catalog.get(args.target), Path(args.file),
                                      args.reviewer or getpass.getuser())
        print(f"Imported {printable(args.file)} into {made.asset_id} as revision {made.number} ({made.summary}); "
              f"it is back in review (`pipeline captions check {made.asset_id}`).")
        return 0
    target = Path(args.target)
    if target.suffix.lower() == ".vtt" and target.is_file():
        report = {target.name: quality.check(vtt.read_vtt(target),
                                             quality.rules_for(settings.captions.preset,
                                                               settings.captions.max_chars_per_line,
                                                               settings.captions.max_lines))}
    else:
        report = review.quality_report(settings, ctx.catalog, ctx.catalog.get(args.target))
    found = [v for violations in report.values() for v in violations]
    error_count = len(quality.errors(found))
    if args.json:
        print(json.dumps({"errors": error_count, "warnings": len(found) - error_count, "violations": [
            {"track": track, "cue": v.cue, "start": vtt.timestamp(v.start_ms), "rule": v.rule, "level": v.level.value,
             "value": v.value, "limit": v.limit, "message": v.message}
            for track, violations in report.items() for v in violations]}, indent=2))
    else:
        rows = [(track, str(v.cue), vtt.timestamp(v.start_ms), v.level.value, v.rule, f"{v.value:g}", f"{v.limit:g}",
                 v.message) for track, violations in report.items() for v in violations]
        if rows:
            print(format_table(rows, ("TRACK", "CUE", "START", "LEVEL", "RULE", "VALUE", "LIMIT", "PROBLEM")))
        print(f"{error_count} error(s), {len(found) - error_count} warning(s) "
              f"({settings.captions.preset} rules)")
    return 1 if error_count else 0


def cmd_publish(ctx: Context, args: argparse.Namespace) -> int:
    settings = ctx.settings
    catalog = ctx.catalog
    ids = args.ids or [a.id for a in catalog.list_assets() if publishing.publishable(catalog, a)]
    if args.allow_unreviewed and not args.ids:
        raise UsageError("--allow-unreviewed needs the IDs of the assets to publish; it never applies to all")
    for asset_id in args.ids:  # a wrong id or an unapproved asset stops before storage is touched
        publishing.check_publishable(catalog, catalog.get(asset_id), args.allow_unreviewed)
    assets = [catalog.get(i) for i in ids]  # each resolved once, here
    ids = [a.id for a in assets]
    for asset in catalog.list_assets() if not args.ids else []:  # nothing goes out silently undecided (#15)
        if asset.state is AssetState.AWAITING_REVIEW and publishing.no_speech(catalog, asset):
            print(f"{asset.id}: no speech, not published until a reviewer decides: `pipeline approve {asset.id} "
                  "--reviewer NAME --no-speech`", file=sys.stderr)
    if not ids:
        print("Nothing to publish: approve captions first (`pipeline approve ID --reviewer NAME`).",
              file=sys.stderr)
        if args.json:
            print("[]")
        return 0
    ctx.executor.bring_back(ids)  # publish uploads this machine's files: what workers made comes first (#8)
    try:
        store = open_store(settings)
    except StorageError:
        publishing.verify_next_time(settings, ids)  # whatever state the store is in, the next publish checks it
        raise
    reporter = TerminalReporter(sys.stderr)
    results, failed = [], False
    for asset in assets:
        asset_id = asset.id
        try:
            result = publishing.publish(settings, catalog, store, asset,
                                        on_progress=lambda f: reporter.stage_progress("publish", f),
                                        allow_unreviewed=args.allow_unreviewed,
                                        on_burn_in=lambda f: reporter.stage_progress("burn-in", f),
                                        verify=args.verify)
        except PipelineError as exc:
            print(f"pipeline: {printable(str(exc))}", file=sys.stderr)
            failed = True
            continue
        results.append(result)
        if not args.json:
            print(f"{asset_id}: {result.uploaded_objects} uploaded ({result.uploaded_bytes} bytes), "
                  f"{result.skipped_objects} unchanged, under {store.bucket}/{result.prefix}/")
    if args.json:
        print(json.dumps([{"id": r.asset_id, "prefix": r.prefix, "uploaded_objects": r.uploaded_objects,
                           "uploaded_bytes": r.uploaded_bytes, "skipped_objects": r.skipped_objects,
                           "uploaded": list(r.uploaded_paths), "refreshed_share_pages": r.refreshed_pages}
                          for r in results], indent=2))
    return 1 if failed else 0


def _link_json(link: ShareLink) -> dict[str, object]:
    return {"link_id": link.id, "id": link.asset_id, "audience": link.audience, "created_by": link.created_by,
            "created_at": link.created_at.isoformat(), "expires_at": link.expires_at.isoformat(),
            "revoked_at": link.revoked_at.isoformat() if link.revoked_at else None, "active": sharing.is_active(link)}


def _list_links(catalog: Catalog, asset_id: str, as_json: bool) -> int:
    links = catalog.share_links(catalog.get(asset_id).id)
    if as_json:
        print(json.dumps([_link_json(link) for link in links], indent=2))
    elif not links:
        print("No links yet.")
    else:
        rows = [(link.id, link.audience or "", link.created_by or "", f"{link.created_at:%Y-%m-%d %H:%M}",
                 f"{link.expires_at:%Y-%m-%d %H:%M}",
                 "revoked" if link.revoked_at else "active" if sharing.is_active(link) else "expired")
                for link in links]
        print(format_table(rows, ("LINK", "AUDIENCE", "BY", "CREATED (UTC)", "EXPIRES (UTC)", "STATE")))
    return 0


def cmd_share(ctx: Context, args: argparse.Namespace) -> int:
    settings = ctx.settings
    catalog = ctx.catalog
    if args.revoke:
        revoked = sharing.revoke(settings, catalog, open_store(settings), args.revoke)
        print(json.dumps(_link_json(revoked.link) | {"media_stopped": revoked.everything}, indent=2) if args.json
              else f"Link {revoked.link.id} revoked: {revoked.what_still_works()}.")
        return 0
    if not args.id:
        raise UsageError("give the asset ID to share (or --revoke LINK)")
    if args.list:
        return _list_links(catalog, args.id, args.json)
    expiry = args.expires or settings.publish.default_link_expiry
    seconds = parse_duration(expiry, option="--expires" if args.expires else None,
                             setting=None if args.expires else "[publish] default_link_expiry")
    asset = catalog.get(args.id)
    made = sharing.create(settings, catalog, open_store(settings), asset, seconds, args.audience)
    if args.json:
        print(json.dumps({**_link_json(made.link), "url": made.url, "video_url": made.video_url,
                          "captions_url": made.captions_url, "works_on": made.reach.scope,
                          "warning": made.reach.advice}, indent=2))
    else:
        print(f"Share page (expires {made.link.expires_at:%Y-%m-%d %H:%M} UTC, link id {made.link.id}):\n{made.url}")
    if made.reach.advice:
        print(f"Warning: {made.reach.advice}.", file=sys.stderr)
    return 0


def cmd_title(ctx: Context, args: argparse.Namespace) -> int:
    settings = ctx.settings
    catalog = ctx.catalog
    asset = catalog.get(args.id)
    pages = sharing.retitle(settings, catalog, asset, args.text, lambda: open_store(settings))
    asset = catalog.get(asset.id)
    shown = f"now {asset.display_title!r}" if asset.title else f"back to the file name ({asset.display_title!r})"
    print(f"Title of {asset.id} {shown}" + (f"; {pages} share page(s) rewritten." if pages else "."))
    return 0


def cmd_export(ctx: Context, args: argparse.Namespace) -> int:
    from pipeline.distribution import export as exporting

    settings = ctx.settings
    catalog = ctx.catalog
    reporter = TerminalReporter(sys.stderr)
    made = exporting.export(settings, catalog, catalog.get(args.id), Path(args.folder),
                            on_burn_in=lambda f: reporter.stage_progress("burn-in", f))
    if args.json:
        print(json.dumps({"id": made.asset_id, "folder": str(made.folder), "files": list(made.files),
                          "reviewer": made.reviewer, "approved_at": made.approved_at.isoformat()}, indent=2))
    else:
        print(f"Wrote {len(made.files)} files to {made.folder}: {', '.join(made.files)}.\n"
              f"Captions approved by {made.reviewer} on {made.approved_at:%Y-%m-%d}. Open index.html to play it.")
    return 0


def cmd_descriptions(ctx: Context, args: argparse.Namespace) -> int:
    return cli_descriptions.run(ctx.settings, ctx.catalog, args)


def cmd_unpublish(ctx: Context, args: argparse.Namespace) -> int:
    settings = ctx.settings
    catalog = ctx.catalog
    asset = catalog.get(args.id)
    removed = publishing.unpublish(settings, catalog, open_store(settings), asset)
    print(f"Unpublished {asset.id}: {removed} objects deleted; its links no longer work.")
    return 0


def cmd_review(ctx: Context, args: argparse.Namespace) -> int:
    settings = ctx.settings
    from pipeline.web.app import serve

    serve(ctx.executor, host=args.host or settings.review.host, port=args.port or settings.review.port)
    return 0


def cmd_storage(ctx: Context, args: argparse.Namespace) -> int:
    settings = ctx.settings
    if settings.storage.endpoint:
        print(f"Storage is external ({settings.storage.endpoint}); there is no embedded server to "
              f"{args.action}.")
        if args.action == "status":
            open_store(settings).ping()
            print("It answers with the configured credentials.")
        return 0
    embedded = EmbeddedStorage(settings)
    if args.action == "start":
        started = embedded.start()
        print(f"Embedded storage {'started' if started else 'already running'} at {embedded.endpoint} "
              f"(pid {embedded.pid()}); data in {embedded.data_dir}")
    elif args.action == "stop":
        print("Embedded storage stopped." if embedded.stop() else "Embedded storage was not running.")
    else:
        status = embedded.status()
        state = f"running (pid {status.pid})" if status.running else "stopped"
        ports = ", ".join(f"{name} {port}" for name, port in status.ports.items())
        print(f"Embedded storage: {state}\nEndpoint: {status.endpoint}\nPorts on 127.0.0.1: {ports}\n"
              f"Data: {status.data_dir}")
    return 0


COMMANDS: dict[str, Callable[[Context, argparse.Namespace], int]] = {
    "run": cmd_run, "worker": cmd_worker, "pull": cmd_pull, "status": cmd_status, "approve": cmd_approve,
    "captions": cmd_captions, "publish": cmd_publish, "share": cmd_share, "title": cmd_title,
    "export": cmd_export, "unpublish": cmd_unpublish, "descriptions": cmd_descriptions,
    "review": cmd_review, "storage": cmd_storage,
}


def main(argv: Sequence[str] | None = None) -> int:
    # Everything the pipeline writes (footage of young people, the catalog, logs, keys) is for this user only.
    os.umask(0o077)
    args = build_parser().parse_args(argv)
    debug = bool(getattr(args, "debug", False))
    try:
        settings = config.load(getattr(args, "config", None))
        logs.setup(settings, args.command, debug)
        return COMMANDS[args.command](Context(settings, executor.choose(settings)), args)
    except PipelineError as exc:
        if debug:
            traceback.print_exc()
        print(f"pipeline: {printable(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except Exception as exc:  # a bug: still one line, the traceback is in the run's log file
        log.debug("unexpected error", exc_info=True)
        if debug:
            traceback.print_exc()
        print(f"pipeline: unexpected error: {printable(repr(exc))}; run again with --debug and report it",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("pipeline: interrupted; run the same command again to finish", file=sys.stderr)
        return 130
