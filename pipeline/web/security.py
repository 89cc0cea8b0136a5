"""The review app's defences, in one place.

- Host header check against the names this machine answers to (DNS rebinding: a web page cannot make the
  reviewer's browser talk to 127.0.0.1 under an attacker's name).
- CSRF: every state-changing request carries the page's token in X-CSRF-Token, and a foreign Origin is refused.
- A Content-Security-Policy that allows only this app's own scripts and styles, so caption text can never run.
- Listening anywhere but the loopback address needs an access token; reviewers sign in with it once and get a
  session cookie (HttpOnly, SameSite=Strict). API clients may send it as `Authorization: Bearer`.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from pipeline.config import Settings
from pipeline.errors import ConfigError

TOKEN_ENV = "PIPELINE_REVIEW_TOKEN"  # noqa: S105 (the variable's name, not a secret)
SESSION_COOKIE = "review_session"
MIN_TOKEN_LENGTH = 16
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
OPEN_PATHS = ("/login", "/api/session", "/static/")

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
       "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
# Swagger UI sets inline styles; the docs page shows no caption text, so only it gets 'unsafe-inline' styles.
DOCS_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class Guard:
    """What one running app checks. `access_token` empty: loopback only, no sign-in."""

    allowed_hosts: frozenset[str]
    access_token: str
    csrf_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    session: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    @classmethod
    def for_settings(cls, settings: Settings, host: str) -> Guard:
        """Refuses to expose the app beyond this machine without an access token."""
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
        return cls(frozenset(names), token)

    def token_matches(self, offered: str) -> bool:
        return bool(self.access_token) and hmac.compare_digest(offered.encode(), self.access_token.encode())

    def _signed_in(self, request: Request) -> bool:
        if not self.access_token:
            return True
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if bearer and self.token_matches(bearer):
            return True
        return hmac.compare_digest(request.cookies.get(SESSION_COOKIE, "").encode(), self.session.encode())

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
        open_path = path.startswith(OPEN_PATHS)
        if not open_path and not self._signed_in(request):
            if path.startswith("/api/") or request.method not in SAFE_METHODS:
                return JSONResponse({"detail": "sign in first: the review app needs its access token"},
                                    status_code=401)
            return RedirectResponse("/login", status_code=303)
        # A script holding the access token needs no CSRF token; without an access token nothing is exempt.
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if request.method not in SAFE_METHODS and not (bearer and self.token_matches(bearer)):
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
        if request.url.path.startswith("/api/"):
            headers["Cache-Control"] = "no-store"
        return response
