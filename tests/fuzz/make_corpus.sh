#!/usr/bin/env bash
# Regenerates the generated part of the fuzz seed corpus (the gen-* files of
# tests/fuzz/corpus/event_parser) from `chatkpi gen --malformed 0.2`: a few
# lines of every rejection reason the generator makes, and valid lines of
# every event shape. The hand-written spec-* seeds (each malformed case of
# docs/spec.md §1 the generator does not make) and the rules/scheme seeds are kept.
#   usage: tests/fuzz/make_corpus.sh [BUILD_DIR]
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}
out=$src/tests/fuzz/corpus/event_parser
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$build/chatkpi" gen --seed 1 --buyers 60 --malformed 0.2 --duplicates 0.05 \
  --assessments --out "$work/ev.jsonl" 2>/dev/null
# check prints "FILE:LINE: reason" for each invalid line on stderr.
"$build/chatkpi" check "$work/ev.jsonl" 2>&1 >/dev/null | grep -E '^[^{]+:[0-9]+: ' > "$work/reasons" || true
rm -f "$out"/gen-*
mkdir -p "$out"
# Invalid lines: the first 3 of each reason category.
awk -F': ' '{ n1 = split($1, p, ":"); r = $2; sub(/ *'"'"'.*/, "", r);
  gsub(/[^a-z]+/, "-", r); if (n[r]++ < 3) print p[n1], r }' "$work/reasons" |
  while read -r line reason; do
    sed -n "${line}p" "$work/ev.jsonl" | tr -d '\n' > "$out/gen-bad-$reason-$line"
  done
# Valid lines: one of each (type, dir/status, auto) shape, a few of each.
awk -F': ' '{ n1 = split($1, p, ":"); print p[n1] }' "$work/reasons" > "$work/bad"
grep -n . "$work/ev.jsonl" |
  awk -F: 'NR == FNR { bad[$1] = 1; next } !($1 in bad)' "$work/bad" - |
  awk -F: '{ line = $1; sub(/^[0-9]+:/, "");
    shape = "";
    if (match($0, /"type":"[a-z]+"/)) shape = substr($0, RSTART + 8, RLENGTH - 9);
    if (match($0, /"(dir|status|metric)":"[a-z_]+"/)) shape = shape "-" substr($0, RSTART, RLENGTH);
    if (index($0, "\"auto\":true")) shape = shape "-auto";
    gsub(/[^a-z_-]+/, "", shape);
    if (n[shape]++ < 2) { f = sprintf("%s/gen-ok-%s-%d", out, shape, line); printf "%s", $0 > f; close(f) } }' out="$out"
ls "$out" | wc -l
