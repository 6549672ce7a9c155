#!/usr/bin/env bash
# Whole-process replay benchmark: generates a shop month of N
# events (default 1,000,000), ingests it (timed, as bench/ingest_bench.sh),
# then times `chatkpi replay` of the stored log under other rules and a
# fresh ingest under those rules, and checks that the two snapshots are equal.
#   usage: bench/replay_bench.sh [BUILD_DIR] [EVENTS] [extra gen flags...]
# INGEST_THREADS (default every core) is ingest's --threads: 2 or more make
# a store of file shards, 1 a store of one shard. REPLAY_THREADS (default
# "1 <every core>") lists the --threads of the replays, run one after the
# other on the same store (each replays the generation the previous made).
set -euo pipefail
ingest_threads=${INGEST_THREADS:-$(nproc)}
replay_threads=${REPLAY_THREADS:-"1 $(nproc)"}
build=${1:-build}
events=${2:-1000000}
shift $(( $# > 2 ? 2 : $# ))
work=$(mktemp -d /tmp/chatkpi-replay-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$build/chatkpi" gen --seed 1 --agents 50 --events "$events" --out "$work/ev.jsonl" "$@" 2>/dev/null
lines=$(wc -l < "$work/ev.jsonl")
cat > "$work/rules.json" <<'RULES'
{"version": "v2", "attribution": {"window_s": 259200, "model": "first"},
 "response": {"slow_s": 30},
 "service": {"good_keywords": ["亲", "您好", "谢谢", "好的"]}}
RULES
run() {  # label, command...: prints wall and CPU seconds and events/s
  local label=$1; shift
  /usr/bin/time -o "$work/time" -f "%e %U %S %M" "$@" >"$work/out" 2>"$work/err" || {
    cat "$work/err" >&2; exit 1; }
  read -r wall user sys rss < "$work/time"
  awk -v l="$label" -v n="$lines" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" 'BEGIN {
    printf "%-9s %9d events  wall %6.2f s  cpu %6.2f s  %9.0f events/s wall  %9.0f events/s cpu  max rss %d MiB\n",
      l, n, w, u + s, n / w, n / (u + s), r / 1024 }'
}
run ingest "$build/chatkpi" ingest --threads "$ingest_threads" --db "$work/db" "$work/ev.jsonl"
for t in $replay_threads; do
  run "replay-t$t" "$build/chatkpi" replay --threads "$t" --db "$work/db" --rules "$work/rules.json" --quiet
  echo "replay summary: $(cat "$work/out")"
done
# A fresh ingest under the new rules: what replay must equal, and the fair
# baseline for its rate (the new rules cost more: a 72 h attribution window).
run ingest-v2 "$build/chatkpi" ingest --threads "$ingest_threads" --db "$work/fresh" --rules "$work/rules.json" "$work/ev.jsonl"
snap() { "$build/chatkpi" snapshot --db "$1" --from 2000-01-01 --to 2099-12-31; }
if cmp -s <(snap "$work/db") <(snap "$work/fresh"); then
  echo "replayed snapshot == fresh ingest under the new rules"
else
  echo "MISMATCH: replayed snapshot differs from a fresh ingest" >&2; exit 1
fi
