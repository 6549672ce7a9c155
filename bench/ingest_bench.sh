#!/usr/bin/env bash
# Whole-process ingest benchmark: generates a shop month of N events
# (default 1,000,000), then times `chatkpi check` (parse and validate only)
# and `chatkpi ingest` (parse, engine, state committed to RocksDB) on it;
# then the steady state of a store that is written day after day: the second
# half of the file ingested into a store that already holds the first half
# (`resume`), and a month's snapshot read from that store (`snapshot`).
#   usage: bench/ingest_bench.sh [BUILD_DIR] [EVENTS] [extra gen flags...]
set -euo pipefail
build=${1:-build}
events=${2:-1000000}
shift $(( $# > 2 ? 2 : $# ))
work=$(mktemp -d /tmp/chatkpi-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$build/chatkpi" gen --seed 1 --agents 50 --events "$events" --out "$work/ev.jsonl" "$@" 2>/dev/null
lines=$(wc -l < "$work/ev.jsonl")
run() {  # label, command...: prints wall and CPU seconds and events/s
  local label=$1; shift
  /usr/bin/time -o "$work/time" -f "%e %U %S %M" "$@" >/dev/null 2>&1 || true
  read -r wall user sys rss < "$work/time"
  awk -v l="$label" -v n="$lines" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" 'BEGIN {
    printf "%-8s %9d events  wall %6.2f s  cpu %6.2f s  %9.0f events/s wall  %9.0f events/s cpu  max rss %d MiB\n",
      l, n, w, u + s, n / w, n / (u + s), r / 1024 }'
}
run check "$build/chatkpi" check --quiet "$work/ev.jsonl"
run ingest "$build/chatkpi" ingest --db "$work/db" "$work/ev.jsonl"
half=$((lines / 2))
head -n "$half" "$work/ev.jsonl" > "$work/first.jsonl"
tail -n +"$((half + 1))" "$work/ev.jsonl" > "$work/second.jsonl"
"$build/chatkpi" ingest --db "$work/db2" "$work/first.jsonl" >/dev/null 2>&1
lines=$((lines - half))
run resume "$build/chatkpi" ingest --db "$work/db2" "$work/second.jsonl"
/usr/bin/time -o "$work/time" -f "%e" "$build/chatkpi" snapshot --db "$work/db2" \
  --from 2000-01-01 --to 2100-01-01 >/dev/null 2>&1 || true
echo "snapshot of the whole store: wall $(cat "$work/time") s"
