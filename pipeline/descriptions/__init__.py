"""Audio description (#21): what a blind viewer would miss, written by reviewers, spoken by an offline voice
and mixed into the gaps of the dialogue (WCAG 2.x success criterion 1.2.5, level AA).

  voice.py   the text-to-speech interface (Voice) and its espeak-ng engine; spoken durations
  speech.py  where the programme has speech (voice activity), kept with the asset
  track.py   the descriptions track: read, save (revisions, per-cue merging), approve, import, export, WebVTT
  deliver.py the described soundtrack, its HLS audio rendition and the described MP4, made on approval
"""
