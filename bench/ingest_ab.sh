#!/usr/bin/env bash
# Compares the ingest speed of chatkpi builds on one generated file, runs
# interleaved (A B A B ...) and the best of N kept per build: the machines
# this runs on drift by 10-15% within an hour, so numbers taken minutes apart
# (bench/ingest_bench.sh twice) cannot tell a 5% change from the noise.
#   usage: bench/ingest_ab.sh N EVENTS BINARY...
#   e.g.   bench/ingest_ab.sh 5 1000000 /tmp/chatkpi.old build/chatkpi
set -euo pipefail
runs=$1
events=$2
shift 2
work=$(mktemp -d /tmp/chatkpi-ab.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$1" gen --seed 1 --agents 50 --events "$events" --out "$work/ev.jsonl" 2>/dev/null
declare -A cpu wall
for ((i = 0; i < runs; ++i)); do
  for bin in "$@"; do
    rm -rf "$work/db"
    /usr/bin/time -o "$work/time" -f "%e %U %S" \
      "$bin" ingest --db "$work/db" "$work/ev.jsonl" >/dev/null 2>&1
    read -r w u s < "$work/time"
    c=$(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }')
    cpu[$bin]=$(awk -v a="${cpu[$bin]:-999999}" -v b="$c" 'BEGIN { print (b < a ? b : a) }')
    wall[$bin]=$(awk -v a="${wall[$bin]:-999999}" -v b="$w" 'BEGIN { print (b < a ? b : a) }')
  done
done
for bin in "$@"; do
  printf '%-40s best of %d: wall %5.2f s  cpu %5.2f s\n' "$bin" "$runs" \
    "${wall[$bin]}" "${cpu[$bin]}"
done
