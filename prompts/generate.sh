#!/usr/bin/env bash
# Regenerates the spoken prompts under prompts/<language>/ from text.
#
# Requirements (Debian): espeak-ng, sox.
#   apt-get install -y espeak-ng sox
#
# Output: 8 kHz, mono, 16-bit signed PCM WAV, leading and trailing silence
# trimmed, peak-normalised to -3 dBFS, no dither (so runs are byte-identical).
# The engine never runs this script: the WAV files are committed.
#
# Usage: prompts/generate.sh [language]   (default: en)
set -euo pipefail

lang="${1:-en}"
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/$lang"
voice="en-us"
speed=150

declare -A text=(
  [0]="zero" [1]="one" [2]="two" [3]="three" [4]="four"
  [5]="five" [6]="six" [7]="seven" [8]="eight" [9]="nine"
  [your-code-is]="Your code is"
  [i-repeat]="I repeat"
  [press-1-to-repeat]="Press 1 to hear it again."
  [press-any-key]="Press any key to hear your code."
  [enter-your-code]="Please enter your code."
  [verified]="Your code is verified."
  [incorrect]="That code is incorrect, please try again."
  [invalid-request]="Invalid request."
  [goodbye]="Goodbye."
)

command -v espeak-ng >/dev/null || { echo "espeak-ng is not installed" >&2; exit 1; }
command -v sox >/dev/null || { echo "sox is not installed" >&2; exit 1; }

mkdir -p "$out"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

for name in "${!text[@]}"; do
  espeak-ng -v "$voice" -s "$speed" -w "$work/$name.raw.wav" "${text[$name]}"
  sox -D "$work/$name.raw.wav" -r 8000 -c 1 -b 16 -e signed-integer "$out/$name.wav" \
    silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse \
    norm -3
done

echo "wrote $(ls "$out"/*.wav | wc -l) prompts to $out"
