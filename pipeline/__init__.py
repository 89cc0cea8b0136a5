"""Video distribution and captioning pipeline: ingest, transcode, caption, review, publish."""

__version__ = "0.1.0"
