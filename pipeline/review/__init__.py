"""Review: what people do with the captions after the stages have drafted them.

  editing.py    revisions: every save is based on the revision it started from (409 otherwise); import/export
  decisions.py  approve, request changes, the review queue (pages of it, from the figures the catalog keeps)
  figures.py    the queue's figures of a track (quality problems, open flags), counted when it is saved (#20)
  flags.py      flag states: open, checked, corrected (the pure rules in flag_states.py)
  waveform.py   the audio peaks the editor draws

Functions take an Asset that the edge (CLI or web route) resolved once. Reads never write: repairing a track
(recording legacy captions as revision 1, rewriting a file a crash left behind its latest revision) is the
explicit step `editing.repair`, which writes and `pipeline review` runs when it starts.
"""
