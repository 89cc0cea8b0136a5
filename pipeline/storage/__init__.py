"""Object storage: the embedded SeaweedFS server by default, any S3-compatible service by configuration."""

from __future__ import annotations

from pipeline.config import Settings
from pipeline.storage.embedded import EmbeddedStorage
from pipeline.storage.objects import ObjectStore


def open_store(settings: Settings) -> ObjectStore:
    """A store with its bucket ready. The embedded server is started when it is not running."""
    s = settings.storage
    if not s.endpoint:
        embedded = EmbeddedStorage(settings)
        if not embedded.start():
            embedded.store().ensure_bucket()
        return embedded.store()
    store = ObjectStore(s.endpoint, s.bucket, s.region, s.access_key_id or None, s.secret_access_key or None,
                        s.addressing_style)
    store.ensure_bucket()
    return store
