"""Distribution: what leaves this machine, and only after a person approved the captions.

  burnin.py   the optional MP4 with captions on the picture, made like a transcode (disk check, lease, progress)
  publish.py  upload to the private bucket; unpublish
  share.py    share pages and links that expire; revoke
  keys.py     where an asset's objects live in the bucket
"""
