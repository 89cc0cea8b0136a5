"""Review app sessions (#16): a random id per sign-in, kept in memory, ending at expiry or sign-out.

One value for every reviewer for the server's lifetime could not be signed out of and never expired; each
sign-in now gets its own id, so signing out ends only that browser's session.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass, field

MAX_SESSIONS = 10_000  # a bound on memory: signing in in a loop cannot grow the server without limit


def _key(session_id: str) -> str:
    # Stored hashed, so a comparison by dictionary lookup reveals nothing usable about a live id's bytes.
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass
class Sessions:
    lifetime_s: float
    _expiry: dict[str, float] = field(default_factory=dict)

    def create(self) -> str:
        now = time.time()
        self._expiry = {k: t for k, t in self._expiry.items() if t > now}
        while len(self._expiry) >= MAX_SESSIONS:  # the oldest go first
            self._expiry.pop(min(self._expiry, key=self._expiry.__getitem__))
        session_id = secrets.token_urlsafe(32)
        self._expiry[_key(session_id)] = now + self.lifetime_s
        return session_id

    def valid(self, session_id: str) -> bool:
        if not session_id:
            return False
        expires = self._expiry.get(_key(session_id))
        if expires is None:
            return False
        if expires <= time.time():
            self._expiry.pop(_key(session_id), None)
            return False
        return True

    def end(self, session_id: str) -> None:
        self._expiry.pop(_key(session_id), None)
