"""Review: what people do with the captions after the stages have drafted them.

  editing.py    revisions: every save is based on the revision it started from (409 otherwise); import/export
  decisions.py  approve, request changes, the review queue and its quality figures
  waveform.py   the audio peaks the editor draws

Functions take an Asset that the edge (CLI or web route) resolved once. Reads never write: repairing a track
(recording legacy captions as revision 1, rewriting a file a crash left behind its latest revision) is the
explicit step `editing.repair`, which writes and `pipeline review` runs when it starts.
"""
