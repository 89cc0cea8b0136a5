"""Share links: a page in the bucket with the player, captions, transcript and downloads, reached by a link
that expires and can be revoked.

The bucket stays private. Each link gets its own folder, shares/<link id>/, holding the page and copies of the
HLS playlists in which every segment address is a signed URL, so adaptive playback works through signed links
alone. Revoking a link deletes that folder. On the embedded store each link also signs with a read-only
identity of its own (#16), limited to its asset and its folder; revoking deletes the identity, so every address
copied out of the page stops working too. An external S3 service cannot void a signature: there, copied video,
segment and caption addresses stay valid until the link's expiry, and the CLI says so; unpublishing deletes
the video itself. With [publish] public_base_url set, addresses are plain URLs under that base instead.
"""

from __future__ import annotations

import getpass
import ipaddress
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from pipeline.captions import vtt
from pipeline.catalog import Catalog, now
from pipeline.catalog.flags import ApprovalRecord
from pipeline.config import MAX_LINK_SECONDS, Settings
from pipeline.distribution.keys import asset_prefix
from pipeline.durations import format_duration
from pipeline.errors import StorageError, UsageError
from pipeline.models import Asset, AssetState, CaptionState, CaptionTrack, Rendition, RenditionKind, ShareLink
from pipeline.stages import playlists
from pipeline.storage.embedded import EmbeddedStorage
from pipeline.storage.objects import ObjectStore

SHARES = "shares"
HLS_JS = "hls-1.7.4.min.js"  # the full build: the light one has no alternate audio renditions (#21)
STATIC = Path(__file__).resolve().parent.parent / "web" / "static"
_PAGES = Environment(loader=FileSystemLoader(str(STATIC.parent / "templates")), autoescape=select_autoescape())
_NO_STORE = "private, no-store"
MANIFEST_NAME = "manifest.json"  # publish.MANIFEST, written last: present once the asset is in place
_LINK_ID = re.compile(r"(?:^|/)" + SHARES + r"/([0-9a-f]{16})/")
MAX_TITLE = 120
# Where the README says how to serve links to other devices (external S3, or a public address for the bucket).
SHARING_HELP = "README.md, section \"Share links for other devices\""


@dataclass(frozen=True)
class Revoked:
    link: ShareLink
    everything: bool  # every address stopped (its identity deleted); else only the page and playlists

    def what_still_works(self) -> str:
        """For the person revoking: exactly what the revocation did (#16)."""
        if self.everything:
            return "its page and every video, segment and caption address on it now answer 403"
        return ("its page and playlists are deleted; video, segment and caption addresses copied from the page "
                f"stay valid until {self.link.expires_at:%Y-%m-%d %H:%M} UTC, as the storage service cannot void a "
                "signature (a link made before links had their own identity, an external S3 service, or "
                "[publish] public_base_url); `pipeline unpublish` stops them at once")


@dataclass(frozen=True)
class ShareResult:
    link: ShareLink
    url: str  # the share page
    video_url: str  # the largest MP4 itself
    captions_url: str | None
    reach: Reach


@dataclass(frozen=True)
class Reach:
    """Which devices a link opens on (#17): a volunteer must not send parents a link that cannot work."""

    scope: str  # "this-computer", "local-network" or "internet"
    host: str
    advice: str | None  # what to do when the link cannot reach who it is for

    @property
    def this_computer_only(self) -> bool:
        return self.scope == "this-computer"


def reach(url: str) -> Reach:
    """Where a share link works, from the address it names."""
    host = urlsplit(url).hostname or ""
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if host == "localhost" or host.endswith(".localhost") or (address is not None and address.is_loopback):
        return Reach("this-computer", host, (
            f"this link opens only on this computer: the storage it points at listens on {host}, which every "
            "phone or laptop takes to mean itself, so do not send it to anyone. To share with other devices, set "
            f"[storage] endpoint to an S3 service they can reach, or [publish] public_base_url; see {SHARING_HELP}"))
    if (address is not None and address.is_private) or host.endswith((".local", ".lan", ".internal")):
        return Reach("local-network", host, (
            f"this link opens only on devices on the same local network as {host} (for example the school's "
            f"Wi-Fi), not on a parent's phone at home; see {SHARING_HELP}"))
    return Reach("internet", host, None)


def clean_title(text: str) -> str | None:
    """A display title as typed by a volunteer: one line, at most MAX_TITLE characters; empty clears it."""
    title = " ".join(text.split())
    if len(title) > MAX_TITLE:
        raise UsageError(f"the title is {len(title)} characters long; keep it to {MAX_TITLE} or fewer")
    return title or None


def _addresser(settings: Settings, store: ObjectStore, expires_s: int) -> Callable[[str], str]:
    base = settings.publish.public_base_url
    if base:
        return lambda key: f"{base.rstrip('/')}/{quote(key)}"
    return lambda key: store.presign_get(key, expires_s)


def _signed_media_playlist(text: str, folder_key: str, address: Callable[[str], str]) -> str:
    """A media playlist whose init segment and segments are absolute (signed) addresses."""
    lines = []
    for line in text.splitlines():
        if line.startswith("#EXT-X-MAP:URI="):
            name = line.split('"')[1]
            line = f'#EXT-X-MAP:URI="{address(f"{folder_key}/{name}")}"'
        elif line and not line.startswith("#"):
            line = address(f"{folder_key}/{line}")
        lines.append(line)
    return "\n".join(lines) + "\n"


def _signed_master_playlist(text: str, variant_address: Callable[[str], str]) -> str:
    """The master playlist pointing at this link's signed variant and audio playlists. Captions come from the
    page's <track> element, so the subtitles group is left out."""
    lines = []
    for line in text.splitlines():
        if line.startswith("#EXT-X-MEDIA:TYPE=SUBTITLES"):
            continue
        if line.startswith("#EXT-X-MEDIA:TYPE=AUDIO"):
            line = re.sub(r'URI="([^"]*)"', lambda m: f'URI="{variant_address(m.group(1))}"', line)
        elif line.startswith("#EXT-X-STREAM-INF:"):
            line = line.replace(',SUBTITLES="subs"', "")
        elif line and not line.startswith("#"):
            line = variant_address(line)
        lines.append(line)
    return "\n".join(lines) + "\n"


def _upload_playlists(out_dir: Path, asset: Asset, catalog: Catalog, store: ObjectStore, folder: str,
                      prefix: str, address: Callable[[str], str]) -> str | None:
    renditions = catalog.renditions(asset.id)
    if not any(r.kind is RenditionKind.HLS for r in renditions):
        return None
    names = {}
    for variant in (r for r in renditions if r.kind in (RenditionKind.HLS, RenditionKind.AUDIO)):
        rung_dir = str(Path(variant.path).parent)
        name = f"{Path(rung_dir).name}.m3u8"
        text = _signed_media_playlist((out_dir / variant.path).read_text(encoding="utf-8"), f"{prefix}/{rung_dir}",
                                      address)
        store.put_bytes(f"{folder}/{name}", text.encode(), content_type=hls_type(), cache_control=_NO_STORE)
        names[variant.path.removeprefix(f"{playlists.HLS_DIR}/")] = name
    master = (out_dir / playlists.HLS_DIR / playlists.MASTER).read_text(encoding="utf-8")
    signed = _signed_master_playlist(master, lambda uri: address(f"{folder}/{names[uri]}"))
    store.put_bytes(f"{folder}/master.m3u8", signed.encode(), content_type=hls_type(), cache_control=_NO_STORE)
    return address(f"{folder}/master.m3u8")


def _descriptions(renditions: list[Rendition], prefix: str, address: Callable[[str], str]) -> dict[str, Any] | None:
    """What the page's "Audio description" switch needs (#21), or None when no approved descriptions exist
    (the page then says none are available). Only approved descriptions are renditions (descriptions/deliver.py)."""
    vtt_file = next((r for r in renditions if r.kind is RenditionKind.DESCRIPTIONS), None)
    if vtt_file is None:
        return None
    language = vtt_file.name.removeprefix("described-").removesuffix("-vtt")
    mp4 = next((r for r in renditions if r.kind is RenditionKind.DESCRIBED and r.name.startswith(
        f"described-{language}")), None)
    return {"label": f"{playlists.language_name(language)}, described", "language": language,
            "vtt": address(f"{prefix}/{vtt_file.path}"), "mp4": address(f"{prefix}/{mp4.path}") if mp4 else None}


def hls_type() -> str:
    return "application/vnd.apple.mpegurl"


def _ensure_player_script(store: ObjectStore) -> str:
    key = f"{SHARES}/static/{HLS_JS}"
    if store.head(key) is None:
        store.put_bytes(key, (STATIC / HLS_JS).read_bytes(), content_type="text/javascript; charset=utf-8",
                        cache_control="private, max-age=31536000, immutable")
    return key


def _static_text(name: str) -> Markup:
    """The page's own style and script, written into the page: one request fewer before play on a phone."""
    return Markup((STATIC / name).read_text(encoding="utf-8"))  # noqa: S704 (our own file, not user input)


@dataclass(frozen=True)
class _Written:
    page_url: str
    video_url: str
    captions_url: str | None


def _own_identity(settings: Settings) -> bool:
    """Links sign with identities of their own only where the pipeline runs the store (and links are signed)."""
    return not settings.storage.endpoint and not settings.publish.public_base_url


def _link_signer(settings: Settings, store: ObjectStore, link_id: str, asset: Asset, create: bool) -> ObjectStore:
    """The store that signs this link's addresses: on the embedded store, with the link's own read-only
    identity (created when `create`), so that revoking the link can void every address it handed out (#16).
    A link made before links had identities signs with the pipeline's own key."""
    if not _own_identity(settings):
        return store
    embedded = EmbeddedStorage(settings)
    keys = [f"{asset_prefix(settings, asset)}/", f"{SHARES}/{link_id}/", f"{SHARES}/static/"]  # the player
    creds = embedded.add_reader(link_id, keys) if create else embedded.reader(link_id)
    if creds is None:
        return store
    signer = ObjectStore(store.endpoint, store.bucket, store.region, creds.access_key_id, creds.secret_access_key)
    if create:
        _wait_until_known(signer, keys[0])
    return signer


def _wait_until_known(signer: ObjectStore, prefix: str, timeout_s: float = 30) -> None:
    """The store reads its identities again on a signal; the first address must not be handed out before."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            signer.head(f"{prefix}{MANIFEST_NAME}")
            return
        except StorageError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _write_share(settings: Settings, catalog: Catalog, store: ObjectStore, asset: Asset, folder: str,
                 expires_at: datetime, signer: ObjectStore | None = None) -> _Written:
    """Write (or rewrite) one link's page and signed playlists, every address valid until `expires_at` and
    signed by `signer` (default: `store`)."""
    out_dir, prefix = settings.output_dir / asset.id, asset_prefix(settings, asset)
    renditions = catalog.renditions(asset.id)
    video = next((r for r in renditions if r.kind is RenditionKind.MP4), None)
    if video is None or store.head(f"{prefix}/{video.path}") is None:
        raise UsageError(f"asset {asset.id}: its video is not in storage; run `pipeline publish {asset.id}`")
    address = _addresser(settings, signer or store, max(1, int((expires_at - now()).total_seconds())))
    master_url = _upload_playlists(out_dir, asset, catalog, store, folder, prefix, address)
    track = next(iter(catalog.caption_tracks(asset.id)), None)
    captions_url = address(f"{prefix}/{track.path}") if track and track.cue_count else None
    by_kind = {r.kind: r for r in reversed(renditions)}  # the largest of each kind
    page = _PAGES.get_template("share.html").render(
        title=asset.display_title, player_css=_static_text("share/share.css"),
        player_js=_static_text("share/share.js"), master_url=master_url, mp4_url=address(f"{prefix}/{video.path}"),
        mp4_label=f"{video.height if video.width >= video.height else video.width}p MP4",
        burned_url=address(f"{prefix}/{by_kind[RenditionKind.BURNED].path}") if RenditionKind.BURNED in by_kind
        else None,
        poster_url=address(f"{prefix}/{by_kind[RenditionKind.POSTER].path}") if RenditionKind.POSTER in by_kind
        else None,
        captions_url=captions_url, language=track.language if track else "en",
        cues=vtt.read_vtt(out_dir / track.path) if track and track.cue_count else [],
        reviewed=bool(track and track.state is CaptionState.APPROVED), no_speech=bool(
            track and track.state is CaptionState.NO_SPEECH),
        reviewer=track.reviewer if track and settings.publish.show_reviewer_name else None,
        player_url=address(_ensure_player_script(store)), unchecked=_unchecked(catalog, track),
        expires_at=None if settings.publish.public_base_url else expires_at, timestamp=vtt.timestamp,
        descriptions=_descriptions(renditions, prefix, address))
    page_key = f"{folder}/index.html"
    store.put_bytes(page_key, page.encode(), content_type="text/html; charset=utf-8", cache_control=_NO_STORE)
    return _Written(address(page_key), address(f"{prefix}/{video.path}"), captions_url)


def _unchecked(catalog: Catalog, track: CaptionTrack | None) -> ApprovalRecord | None:
    """How the shown track was approved, when a reviewer approved it with items unchecked (#15)."""
    record = catalog.approval_records(track.asset_id).get(track.language) if track else None
    if track is None or record is None or record.sha256 != track.approved_sha256 or not record.unchecked:
        return None
    return record


def create(settings: Settings, catalog: Catalog, store: ObjectStore, asset: Asset, expires_s: int,
           audience: str | None = None) -> ShareResult:
    if expires_s > MAX_LINK_SECONDS:
        raise UsageError(f"--expires {format_duration(expires_s)} is longer than 7d, the most a signed link "
                         "can last; share again when it expires")
    asset = catalog.get(asset.id)  # as it is now
    if asset.state is not AssetState.PUBLISHED:
        raise UsageError(f"asset {asset.id} is {asset.state.value}; publish it first with "
                         f"`pipeline publish {asset.id}`")
    link_id = secrets.token_hex(8)
    expires_at = now() + timedelta(seconds=expires_s)
    signer = _link_signer(settings, store, link_id, asset, create=True)
    written = _write_share(settings, catalog, store, asset, f"{SHARES}/{link_id}", expires_at, signer)
    link = ShareLink(link_id, asset.id, f"{SHARES}/{link_id}/index.html", audience, _who(), now(), expires_at)
    catalog.add_share_link(link)
    return ShareResult(link, written.page_url, written.video_url, written.captions_url, reach(written.page_url))


def refresh_pages(settings: Settings, catalog: Catalog, store: ObjectStore, asset: Asset) -> int:
    """Rewrite the pages of the asset's active links after its captions changed; their addresses and expiry
    stay as they were. Returns how many pages were rewritten."""
    active = [link for link in catalog.share_links(asset.id) if is_active(link)]
    for link in active:
        _write_share(settings, catalog, store, asset, f"{SHARES}/{link.id}", link.expires_at,
                     _link_signer(settings, store, link.id, asset, create=False))
    return len(active)


def retitle(settings: Settings, catalog: Catalog, asset: Asset, text: str,
            open_store: Callable[[], ObjectStore]) -> int:
    """Set (or, with an empty text, clear) the display title, and rewrite the asset's active share pages so
    that they show it (storage is opened only when there are some). Returns how many pages were rewritten."""
    catalog.set_title(asset.id, clean_title(text))
    asset = catalog.get(asset.id)
    if asset.state is not AssetState.PUBLISHED or not any(is_active(k) for k in catalog.share_links(asset.id)):
        return 0
    return refresh_pages(settings, catalog, open_store(), asset)


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def link_id_of(link: str) -> str:
    """The id of a link given as the id itself or as the URL that was handed out."""
    text = link.strip()
    if re.fullmatch(r"[0-9a-f]{16}", text):
        return text
    found = _LINK_ID.search(text.split("?", 1)[0])
    if not found:
        raise UsageError(f"{link!r} is not a share link or link id; `pipeline share --list ID` lists them")
    return found.group(1)


def revoke(settings: Settings, catalog: Catalog, store: ObjectStore, link: str) -> Revoked:
    """Stop a link: its page and playlists are deleted and, on the embedded store, its identity, so every
    address it handed out answers 403 from now on. Elsewhere, say what keeps working until when."""
    record = catalog.share_link(link_id_of(link))
    store.delete_prefix(f"{SHARES}/{record.id}/")
    voided = _own_identity(settings) and EmbeddedStorage(settings).remove_reader(record.id)
    catalog.revoke_share_link(record.id)
    return Revoked(catalog.share_link(record.id), voided)


def remove_all(settings: Settings, catalog: Catalog, store: ObjectStore, asset_id: str) -> None:
    """Delete the pages, playlists and identities of every link to an asset (on unpublish)."""
    for record in catalog.share_links(asset_id):
        store.delete_prefix(f"{SHARES}/{record.id}/")
        if _own_identity(settings):
            EmbeddedStorage(settings).remove_reader(record.id)
        if record.revoked_at is None:
            catalog.revoke_share_link(record.id)


def is_active(link: ShareLink, at: datetime | None = None) -> bool:
    return link.revoked_at is None and link.expires_at > (at or now())
