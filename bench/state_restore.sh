#!/bin/bash
# Restore time of one partition's state (docs/scaling.md, "Measured restore
# time"): a generated month of EVENTS lines goes to a one-partition embedded
# broker (`chatkpi broker --state-topic state`) in CHUNKS parts, each read by
# member A (`run --state-topic state --until-caught-up`), so that A reads
# the partition before the broker's retention drops it; then a fresh member
# B of the same group takes the partition over and restores it from the
# state topic. Prints B's restore line and whether A's and B's month
# snapshots are equal. EXTRA (environment) is added to both members' flags,
# e.g. EXTRA="--kafka-config compression.level=12".
#
#   bench/state_restore.sh BUILD/chatkpi EVENTS CHUNKS WORKDIR
set -u
BIN=$1
EVENTS=$2
CHUNKS=$3
W=$4
rm -rf "$W"
mkdir -p "$W"
"$BIN" broker --partitions 1 --state-topic state >"$W/broker.out" 2>"$W/broker.err" &
BPID=$!
trap 'kill $BPID' EXIT
for _ in $(seq 50); do [ -s "$W/broker.out" ] && break; sleep 0.2; done
B=$(head -1 "$W/broker.out")
"$BIN" gen --month 2026-11 --events "$EVENTS" --seed 5 --duplicates 0.02 \
  --malformed 0.01 --out "$W/month.jsonl"
wc -lc "$W/month.jsonl"
split -n l/"$CHUNKS" -d "$W/month.jsonl" "$W/part."
for f in "$W"/part.*; do
  "$BIN" produce --brokers "$B" "$f" 2>>"$W/produce.err"
  # shellcheck disable=SC2086
  "$BIN" run --brokers "$B" --group g --db "$W/a" --state-topic state \
    --until-caught-up --session-timeout-ms 6000 ${EXTRA:-} 2>>"$W/a.err" ||
    echo "member A failed: $W/a.err"
done
echo "A: $(grep -c 'never delivered' "$W/a.err") retention warnings"
echo "state topic: first offset, then end offset"
kcat -b "$B" -C -t state -p 0 -o beginning -c 1 -f '%o\n' -q
kcat -b "$B" -Q -t state:0:-1 2>/dev/null || true
# shellcheck disable=SC2086
/usr/bin/time -f "B wall %e s, max RSS %M KiB" "$BIN" run --brokers "$B" \
  --group g --db "$W/b" --state-topic state --until-caught-up \
  --session-timeout-ms 6000 ${EXTRA:-} 2>"$W/b.err"
grep -E "state: restored|state topic|never delivered|B wall" "$W/b.err"
for m in a b; do
  "$BIN" snapshot --db "$W/$m" --from 2026-11-01 --to 2026-11-30 >"$W/$m.snap"
done
cmp -s "$W/a.snap" "$W/b.snap" && echo "A and B month snapshots equal" ||
  echo "A and B month snapshots DIFFER"
