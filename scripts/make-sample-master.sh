#!/usr/bin/env bash
# Makes masters/sample.mp4: English speech from espeak-ng over an ffmpeg test pattern (about 15 s, < 2 MB).
# Needs ffmpeg and espeak-ng (`make install` provides both). Usage: scripts/make-sample-master.sh [OUT]
set -euo pipefail
out=${1:-masters/sample.mp4}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
espeak-ng -v en-gb -s 140 -w "$tmp/speech.wav" \
  "Welcome to our short film about staying safe online. \
   If something online worries you, talk to an adult you trust. \
   You are not alone, and it is never your fault."
ffmpeg -hide_banner -loglevel error -y \
  -f lavfi -i "testsrc2=size=640x360:rate=25" \
  -i "$tmp/speech.wav" \
  -filter_complex "[1:a]apad=pad_dur=1,aresample=48000[a]" -map 0:v -map "[a]" -shortest \
  -c:v libx264 -preset veryfast -crf 30 -pix_fmt yuv420p -c:a aac -b:a 96k -ac 2 \
  -movflags +faststart -map_metadata -1 "$out"
echo "wrote $out ($(stat -c %s "$out") bytes)"
