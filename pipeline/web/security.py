"""The review app's defences, in one place.

- Host header check against the names this machine answers to (DNS rebinding: a web page cannot make the
  reviewer's browser talk to 127.0.0.1 under an attacker's name).
- CSRF: every state-changing request carries the page's token in X-CSRF-Token, and a foreign Origin is refused.
- A Content-Security-Policy that allows only this app's own scripts and styles, so caption text can never run.
- Every request needs a session or the access token, on loopback too (#16); with none configured, a token is made
  at start and `pipeline review` prints a sign-in URL carrying it. Each sign-in gets its own random session
  (cookie HttpOnly, SameSite=Strict, Secure behind HTTPS) that expires after `[review] session_hours` and can be
  signed out. API clients may send the token as `Authorization: Bearer`. Listening anywhere but loopback needs
  a configured token.
- Fetch Metadata: requests that another site's page makes (Sec-Fetch-Site cross-site or same-site) are refused
  but for navigations to pages; every response says Cross-Origin-Resource-Policy: same-origin; asset routes
  take full ids only.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from pipeline.catalog.schema import ID_LENGTH
from pipeline.config import Settings
from pipeline.errors import ConfigError
from pipeline.web.sessions import Sessions

TOKEN_ENV = "PIPELINE_REVIEW_TOKEN"  # noqa: S105 (the variable's name, not a secret)
SESSION_COOKIE = "review_session"
MIN_TOKEN_LENGTH = 16
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
OPEN_PATHS = ("/login", "/api/session", "/static/")
_SHORT_ID = re.compile(r"^/(?:api/assets|assets|media)/([^/.]+)")

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
       "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
# Swagger UI sets inline styles; the docs page shows no caption text, so only it gets 'unsafe-inline' styles.
DOCS_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")


def _cross_site(request: Request) -> bool:
    """A request another site's page made (Fetch Metadata); top-level navigations to pages stay allowed, so a
    link to the app still opens it (the session cookie is SameSite=Strict and does not come along)."""
    site = request.headers.get("sec-fetch-site", "")
    if site not in ("cross-site", "same-site"):
        return False
    navigation = request.headers.get("sec-fetch-mode") == "navigate" and request.method in SAFE_METHODS
    return not navigation or request.url.path.startswith(("/media/", "/api/"))


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class Guard:
    """What one running app checks. Every request but the sign-in page's needs a session or the access token
    (#16: on loopback too, since every local account can reach 127.0.0.1); with no token configured, one is
    made at start and `pipeline review` prints a sign-in URL that carries it, as Jupyter does."""

    allowed_hosts: frozenset[str]
    access_token: str
    sessions: Sessions
    token_generated: bool = False
    csrf_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    @classmethod
    def for_settings(cls, settings: Settings, host: str) -> Guard:
        """Refuses to expose the app beyond this machine without a configured access token."""
        token = os.environ.get(TOKEN_ENV) or settings.review.access_token
        if not is_loopback(host) and not token:
            raise ConfigError(f"review app: listening on {host} would let anyone on the network edit captions; set "
                              f"the {TOKEN_ENV} variable (or [review] access_token) to a long random secret, or "
                              "listen on 127.0.0.1", key="[review] access_token")
        if token and len(token) < MIN_TOKEN_LENGTH:
            raise ConfigError(f"review app: the access token is too short; use at least {MIN_TOKEN_LENGTH} random "
                              "characters (e.g. from `openssl rand -hex 24`)", key="[review] access_token")
        names = set(LOOPBACK_NAMES) | set(settings.review.allowed_hosts)
        if host not in ("0.0.0.0", "::"):  # noqa: S104 (a check of the address, not a bind)
            names.add(host)
        sessions = Sessions(settings.review.session_hours * 3600)
        if token:
            return cls(frozenset(names), token, sessions)
        return cls(frozenset(names), secrets.token_urlsafe(32), sessions, token_generated=True)

    def sign_in_path(self, next_path: str = "/") -> str:
        """The path that signs a browser in: what `pipeline review` prints, with the token made at start."""
        query = {"token": self.access_token} | ({"next": next_path} if next_path != "/" else {})
        return f"/login?{urlencode(query)}"

    def token_matches(self, offered: str) -> bool:
        return bool(self.access_token) and hmac.compare_digest(offered.encode(), self.access_token.encode())

    def _bearer(self, request: Request) -> bool:
        offered = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        return bool(offered) and self.token_matches(offered)

    def _signed_in(self, request: Request) -> bool:
        return self._bearer(request) or self.sessions.valid(request.cookies.get(SESSION_COOKIE, ""))

    def _allowed(self, address: str) -> bool:
        """`address`: a URL or a //host[:port] from a Host header."""
        try:
            name = urlsplit(address).hostname or ""
        except ValueError:
            return False
        return name in self.allowed_hosts or f"[{name}]" in self.allowed_hosts

    def _origin_ok(self, request: Request) -> bool:
        origin = request.headers.get("origin")
        return origin is None or self._allowed(origin)

    def refusal(self, request: Request) -> Response | None:
        """Why this request may not go on, as the response to send; None when it may."""
        if not self._allowed("//" + request.headers.get("host", "")):
            return JSONResponse({"detail": "this address is not one the review app answers to"}, status_code=400)
        path = request.url.path
        if _cross_site(request):
            return JSONResponse({"detail": "refused: requested by another site"}, status_code=403)
        if not path.startswith(OPEN_PATHS) and not self._signed_in(request):
            if path.startswith(("/api/", "/media/")) or request.method not in SAFE_METHODS:
                return JSONResponse({"detail": "sign in first: open the sign-in URL that `pipeline review` "
                                     "printed, or send the access token"}, status_code=401)
            return RedirectResponse("/login", status_code=303)
        short = _SHORT_ID.match(path)
        if short and len(short.group(1)) != ID_LENGTH:
            # Full ids only: a prefix would let another site probe which ids exist, 4 characters at a time.
            return JSONResponse({"detail": f"use the asset's full {ID_LENGTH}-character id"}, status_code=404)
        # A script holding the access token needs no CSRF token; without it nothing is exempt.
        if request.method not in SAFE_METHODS and not self._bearer(request):
            offered = request.headers.get("x-csrf-token", "")
            if not self._origin_ok(request) or not hmac.compare_digest(offered.encode(), self.csrf_token.encode()):
                return JSONResponse({"detail": "refused: this request did not come from the review app's own page "
                                     "(missing or wrong CSRF token); reload the page"}, status_code=403)
        return None

    async def middleware(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = self.refusal(request) or await call_next(request)
        headers = response.headers
        headers["Content-Security-Policy"] = DOCS_CSP if request.url.path == "/docs" else CSP
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "no-referrer"
        headers["X-Frame-Options"] = "DENY"
        # No other site may embed anything of the app, media above all (#16).
        headers["Cross-Origin-Resource-Policy"] = "same-origin"
        if request.url.path.startswith("/api/"):
            headers["Cache-Control"] = "no-store"
        return response
