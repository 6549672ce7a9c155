#!/usr/bin/env bash
# Scale-out benchmark (docs/scaling.md): N `chatkpi run --until-caught-up`
# processes in one consumer group consume the same topics from an embedded
# `chatkpi broker`, each into its own store, publishing to a changelog
# topic; the figure is events / wall time from their start until the last
# one has caught up and exited.
#   usage: bench/scaling.sh [BUILD_DIR] [EVENTS] [PARTITIONS] [MEMBERS...]
#   e.g.   bench/scaling.sh build-scale 200000 8 1 2 3
# The mock broker keeps ~5 MiB per partition: keep EVENTS * ~250 bytes below
# 2 topics * PARTITIONS * 5 MiB, or older messages are silently dropped.
set -euo pipefail
build=${1:-build}
events=${2:-200000}
partitions=${3:-8}
shift $(( $# > 3 ? 3 : $# ))
members=("$@")
[ ${#members[@]} -eq 0 ] && members=(1 2 3)
bin="$build/chatkpi"
work=$(mktemp -d /tmp/chatkpi-scaling.XXXXXX)
broker_pid=
cleanup() {
  [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  if [ -n "${KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

"$bin" gen --seed 1 --agents 50 --events "$events" --out "$work/ev.jsonl" 2>/dev/null
lines=$(wc -l < "$work/ev.jsonl")
"$bin" broker --partitions "$partitions" --changelog-topic changelog \
  > "$work/broker.out" 2> "$work/broker.err" &
broker_pid=$!
for _ in $(seq 100); do [ -s "$work/broker.out" ] && break; sleep 0.1; done
brokers=$(head -n1 "$work/broker.out")
"$bin" produce --brokers "$brokers" "$work/ev.jsonl" 2>/dev/null

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "events: $lines lines, $partitions partitions per topic, changelog on"
printf "%-8s %10s %10s %12s %14s\n" members wall_s read events/s per_member
for n in "${members[@]}"; do
  start=$(date +%s.%N)
  pids=()
  for i in $(seq "$n"); do
    "$bin" run --brokers "$brokers" --group "bench$n" --db "$work/db$n-$i" \
      --changelog-topic changelog --session-timeout-ms 6000 \
      --until-caught-up > /dev/null 2> "$work/run$n-$i.err" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  end=$(date +%s.%N)
  # Messages read by all members: above `lines` when a partition moved to a
  # member that joined late and re-read it from the beginning.
  read_total=$(grep -ho 'read [0-9]* messages' "$work"/run"$n"-*.err |
               awk '{s += $2} END {print s + 0}')
  awk -v n="$n" -v l="$lines" -v s="$start" -v e="$end" -v r="$read_total" \
    'BEGIN { w = e - s; printf "%-8d %10.2f %10d %12.0f %14.0f\n", n, w, r, l / w, l / w / n }'
done
