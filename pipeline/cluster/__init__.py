"""The distributed mode (#8): the same stages, run by Celery workers on many machines.

    pipeline run (coordinator)  --  hashes each master, uploads it to the work bucket, records the asset
                                    and its first job in PostgreSQL, sends a task to Redis
    pipeline worker --queues transcode   --  ingest + transcode tasks (CPU or NVENC machines)
    pipeline worker --queues caption     --  caption tasks (GPU machines for Whisper)

app.py builds the Celery app from [cluster]; tasks.py runs a task's stages in a workspace (workspace.py) that
downloads what the stages need from the work bucket and uploads what they make; coordinator.py queues work,
waits for it, and brings finished outputs to the machine where reviewers work. Nothing here is used in the
embedded mode, which stays the default.
"""
