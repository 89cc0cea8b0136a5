"""The catalog: every asset, its state and history, renditions, caption tracks and revisions, share links
and the distributed mode's jobs, on SQLAlchemy Core (SQLite in the state folder, or PostgreSQL when
distributed; the executor, pipeline/executor.py, opens the one its mode needs). Nothing outside this package sees
a connection or a row.

  store.py     the engine, migrations (schema.py) and transactions
  assets.py    assets, the state machine (TRANSITIONS and `transition`, the only writer of a state), events,
               renditions, leases
  captions.py  caption tracks, revisions, approval
  links.py     share links
  flags.py     the review gate: flag states, how each track was approved (#15)
  queue.py     the review queue's figures, kept in step with every write that changes them (#20)
  jobs.py      the distributed mode's jobs (JobBook)
  descriptions.py  audio description tracks and their revisions (#21)
"""

from __future__ import annotations

from pipeline.catalog.assets import TRANSITIONS, transition
from pipeline.catalog.captions import Captions
from pipeline.catalog.descriptions import Descriptions
from pipeline.catalog.flags import Gate
from pipeline.catalog.links import Links
from pipeline.catalog.store import now


class Catalog(Captions, Descriptions, Links, Gate):
    """All of the catalog's records, on one engine."""



__all__ = ["TRANSITIONS", "Catalog", "now", "transition"]
