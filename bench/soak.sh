#!/usr/bin/env bash
# Soak test (not in CI): hours of generated traffic through
# `chatkpi ingest` with SIGKILLs at random instants, RSS sampled over time,
# and at the end the store compared with a batch recomputation (one
# uninterrupted `ingest` of the same files into a fresh store).
#
#   usage: bench/soak.sh [flags]
#     --build DIR        build directory holding chatkpi (default build)
#     --minutes N        how long to feed traffic (default 30)
#     --events N         lines per generated batch (default 200000)
#     --kill-prob P      chance, per run, of a SIGKILL mid-run (default 0.5)
#     --pause S          seconds between batches (default 3)
#     --buyers recurring|fresh  recurring (default): batches share buyer
#                        names, as a shop's regulars; fresh: prefixed per
#                        batch, so no buyer's history grows across batches
#     --work DIR         where files, stores and logs go (default a new
#                        /tmp/chatkpi-soak.XXXXXX, kept afterwards)
#     --mode files|kafka kafka: each batch published with `chatkpi produce`
#                        to an embedded `chatkpi broker` (16 partitions) and
#                        consumed by a `chatkpi run` member that is SIGKILLed
#                        and restarted (a group rejoin each time); use
#                        --events 50000 or less there (the broker keeps about
#                        5 MiB per partition)
#
# Each batch is a month of a shop's traffic from `chatkpi gen` (its own seed,
# 2% redeliveries, 0.1% malformed lines, every 4th batch shuffled with
# lagging orders), its ids and order ids prefixed with the batch number so
# that batches do not collide; months advance one per batch from 2001-01
# (wrapping before 2100), while buyer and agent names recur, as in a real
# shop. Every 10th batch an earlier file is fed again (all of it must be
# skipped or deduplicated).
#
# Output in WORK: rss.tsv (elapsed_s, batch, pid, rss_kib, db_mib,
# cpu_ticks, sampled every second), runs.tsv (one line per process run:
# batch, exit, seconds, killed), summary.txt. Exit 0 when the final
# snapshots and stats are byte-identical.
set -uo pipefail

build=build
minutes=30
events=200000
kill_prob=0.5
pause=3
work=""
mode=files
buyers=recurring
while (($#)); do
  case $1 in
    --build) build=$2; shift 2 ;;
    --minutes) minutes=$2; shift 2 ;;
    --events) events=$2; shift 2 ;;
    --kill-prob) kill_prob=$2; shift 2 ;;
    --pause) pause=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --mode) mode=$2; shift 2 ;;
    --buyers) buyers=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "soak: unknown flag $1" >&2; exit 2 ;;
  esac
done
[[ -z $work ]] && work=$(mktemp -d /tmp/chatkpi-soak.XXXXXX)
mkdir -p "$work/batches"
# A private copy: other people rebuilding $build mid-soak must not swap the
# binary under a running test.
cp "$build/chatkpi" "$work/chatkpi"
bin=$work/chatkpi
db=$work/db
log=$work/soak.log
: > "$work/runs.tsv"
printf 'elapsed_s\tbatch\tpid\trss_kib\tdb_mib\tcpu_ticks\n' > "$work/rss.tsv"
echo "soak: mode $mode, $minutes min, $events lines per batch, $buyers buyers, work $work" | tee "$log"

start=$(date +%s)
deadline=$((start + minutes * 60))
echo 0 > "$work/current"  # "batch pid..." of the processes to sample

# Samples the RSS of every process named in $work/current once a second.
sampler() {
  while [[ -e $work/current ]]; do
    read -r b pids < "$work/current" 2>/dev/null || true
    local now=$(($(date +%s) - start)) dbm
    dbm=$(du -sm "$db" 2>/dev/null | cut -f1)
    for p in $pids; do
      local rss cpu
      rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null) || continue
      # utime + stime (fields 14, 15; the name in field 2 has no spaces here)
      cpu=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null) || continue
      [[ -n $rss ]] && printf '%d\t%s\t%s\t%s\t%s\t%s\n' "$now" "$b" "$p" "$rss" \
        "${dbm:-0}" "${cpu:-0}" >> "$work/rss.tsv"
    done
    sleep 1
  done
}
sampler &
sampler_pid=$!
trap 'rm -f "$work/current"; kill $sampler_pid 2>/dev/null; exit 130' INT TERM

rand01() { echo "scale=4; $RANDOM / 32768" | bc; }
chance() { (($(echo "$(rand01) < $1" | bc))); }

# Month number i (0 = 2001-01), wrapping inside 2001..2099.
month_of() {
  local m=$(($1 % (99 * 12)))
  printf '%04d-%02d' $((2001 + m / 12)) $((m % 12 + 1))
}

gen_batch() {  # batch number -> path of its file
  local i=$1 f=$work/batches/b$(printf %05d "$1").jsonl
  local extra=()
  ((i % 4 == 3)) && extra=(--shuffle --delay-orders-s 7200)
  "$bin" gen --seed "$((i + 1))" --agents 30 --events "$events" \
    --month "$(month_of "$i")" --duplicates 0.02 --malformed 0.001 \
    "${extra[@]}" 2>/dev/null |
    sed -e "s/\"id\": *\"/&b$i-/" -e "s/\"order\": *\"/&b$i-/" \
      -e "$([[ $buyers == fresh ]] && echo "s/\"buyer\": *\"/&b$i-/")" > "$f"
  echo "$f"
}

# Runs `ingest FILE` until it completes, SIGKILLing it at a random instant
# with probability kill_prob on each try.
ingest_batch() {
  local i=$1 f=$2 tries=0
  while :; do
    local t0 pid rc killed=0
    t0=$(date +%s.%N)
    "$bin" ingest --db "$db" --commit-every $((1000 + RANDOM % 50000)) \
      "$f" >/dev/null 2>>"$work/ingest.err" &
    pid=$!
    echo "$i $pid" > "$work/current"
    if ((tries < 4)) && chance "$kill_prob"; then
      sleep "$(echo "scale=3; $(rand01) * 1.5" | bc)"
      if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null && killed=1; fi
    fi
    { wait "$pid"; } 2>/dev/null; rc=$?
    printf '%d\t%d\t%.2f\t%d\n' "$i" "$rc" "$(echo "$(date +%s.%N) - $t0" | bc)" \
      "$killed" >> "$work/runs.tsv"
    ((tries++))
    if ((rc == 0)); then return 0; fi
    if ((killed == 0)); then
      echo "soak: batch $i: ingest failed with exit $rc (not killed)" | tee -a "$log"
      tail -3 "$work/ingest.err" | tee -a "$log"
      return 1
    fi
  done
}

files_mode() {
  local i=0 failures=0
  while (($(date +%s) < deadline)); do
    local f
    f=$(gen_batch "$i")
    ingest_batch "$i" "$f" || ((failures++))
    if ((i % 10 == 9)); then
      local old
      old=$(ls "$work"/batches/*.jsonl | shuf -n 1)
      ingest_batch "$i" "$old" || ((failures++))
    fi
    echo "soak: batch $i ($(month_of "$i")) done at $(($(date +%s) - start)) s" >> "$log"
    ((i++))
    sleep "$pause"
  done
  echo "$i" > "$work/batches.count"
  return "$failures"
}

kafka_mode() {
  # Not grep -q: it would exit at the match, and under pipefail the
  # SIGPIPE of the still-writing chatkpi fails the test now and then.
  if ! "$bin" --help 2>&1 | grep '^  broker ' >/dev/null; then
    echo "soak: this chatkpi has no broker/produce/run commands yet" >&2
    return 1
  fi
  # The embedded broker keeps about 5 MiB per partition, so a member that
  # gains a partition it never had cannot rebuild it from the beginning in a
  # long soak: the consumers here each keep their partitions across kills
  # (one member by default; a restart still rejoins the group, a rebalance).
  local parts=16 failures=0
  "$bin" broker --partitions "$parts" > "$work/broker.out" 2>"$work/broker.err" &
  local broker_pid=$!
  for _ in $(seq 50); do [[ -s $work/broker.out ]] && break; sleep 0.2; done
  local brokers
  brokers=$(head -1 "$work/broker.out")
  echo "soak: broker $brokers (pid $broker_pid)" | tee -a "$log"
  local -a cpids=()
  start_consumer() {
    "$bin" run --db "$db" --brokers "$brokers" --group soak \
      --commit-every $((1000 + RANDOM % 20000)) >/dev/null 2>>"$work/run.err" &
    cpids[$1]=$!
  }
  start_consumer 0
  local i=0
  while (($(date +%s) < deadline)); do
    local f
    f=$(gen_batch "$i")
    "$bin" produce --brokers "$brokers" "$f" 2>>"$work/produce.err" ||
      { echo "soak: produce of batch $i failed" | tee -a "$log"; ((failures++)); }
    echo "$i ${cpids[*]}" > "$work/current"
    if chance "$kill_prob"; then
      sleep "$(echo "scale=3; $(rand01) * 3" | bc)"
      kill -9 "${cpids[0]}" 2>/dev/null
      { wait "${cpids[0]}"; } 2>/dev/null
      printf '%d\t137\t0\t1\n' "$i" >> "$work/runs.tsv"
      start_consumer 0
    fi
    echo "soak: batch $i ($(month_of "$i")) produced at $(($(date +%s) - start)) s" >> "$log"
    ((i++))
    sleep "$pause"
  done
  echo "$i" > "$work/batches.count"
  # Stop the member cleanly, then let one run read every partition to its
  # end: the store must then hold every message exactly once.
  kill -TERM "${cpids[0]}" 2>/dev/null
  { wait "${cpids[0]}"; } 2>/dev/null
  "$bin" run --db "$db" --brokers "$brokers" --group soak \
    --until-caught-up >/dev/null 2>>"$work/run.err" || ((failures++))
  kill -TERM "$broker_pid"; { wait "$broker_pid"; } 2>/dev/null
  return "$failures"
}

failures=0
if [[ $mode == kafka ]]; then kafka_mode || failures=$?; else files_mode || failures=$?; fi
rm -f "$work/current"
wait "$sampler_pid" 2>/dev/null
batches=$(cat "$work/batches.count" 2>/dev/null || echo 0)
fed=$(($(date +%s) - start))

# The batch recomputation: every file once, in order, one uninterrupted run.
echo "soak: batch recomputation of $batches files" | tee -a "$log"
rm -rf "$work/batch-db"
t0=$(date +%s)
"$bin" ingest --db "$work/batch-db" "$work"/batches/*.jsonl 2>>"$log"
recompute_s=$(($(date +%s) - t0))
last=$(month_of $((batches - 1)))
to=$(date -d "$last-01 +1 month -1 day" +%F)
"$bin" snapshot --db "$db" --from 2001-01-01 --to 2099-12-31 > "$work/soak.json"
"$bin" snapshot --db "$work/batch-db" --from 2001-01-01 --to 2099-12-31 > "$work/batch.json"
"$bin" stats --db "$db" | sed 's/, "sources".*//' > "$work/soak.stats"
"$bin" stats --db "$work/batch-db" | sed 's/, "sources".*//' > "$work/batch.stats"
for f in soak batch; do cp "$work/$f.stats" "$work/$f.stats.compared"; done
if [[ $mode == kafka ]]; then
  # Dead letters are keyed topic/partition/offset there, file:line here, and
  # the shard count differs: compare the event count only (the summary
  # still reports both counts from the full stats).
  for f in soak batch; do
    sed 's/.*"events": \([0-9]*\).*/\1/' "$work/$f.stats" > "$work/$f.stats.compared"
  done
fi
same=no
cmp -s "$work/soak.json" "$work/batch.json" &&
  cmp -s "$work/soak.stats.compared" "$work/batch.stats.compared" && same=yes
# The embedded broker keeps about 5 MiB per partition: a member that falls
# that far behind (kills, rejoins, a loaded machine) has messages deleted
# before it reads them, and librdkafka resets it to the oldest one kept.
# The comparison then says nothing about chatkpi: report it as void.
lost_resets=0
if [[ $mode == kafka ]]; then
  lost_resets=$(grep -c 'Offset out of range' "$work/run.err" 2>/dev/null || true)
  ((lost_resets > 0)) && same="void: the broker deleted unread messages ($lost_resets offset resets in run.err); use fewer --events or a longer --pause"
fi

# RSS curve: per 5-minute window, the max RSS of the ingest processes (the
# batch recomputation, whose sampler has stopped, is not in it).
curve=$(awk -F'\t' 'NR > 1 { w = int($1 / 300); if ($4 > m[w]) m[w] = $4; if ($5 > d[w]) d[w] = $5 }
  END { for (w in m) printf "%3d-%3d min  max rss %6.1f MiB  db %6d MiB\n", w * 5, w * 5 + 5, m[w] / 1024, d[w] }' \
  "$work/rss.tsv" | sort -n)
# Per batch: the peak RSS and the CPU seconds of its ingest runs (from the
# samples; ticks are 1/100 s).
per_batch=$(awk -F'\t' 'NR > 1 { if ($4 > m[$2]) m[$2] = $4; c[$2 "/" $3] = $6 }
  END { for (k in c) { split(k, p, "/"); cpu[p[1]] += c[k] }
        for (b in m) printf "%d %.0f %.1f\n", b, m[b] / 1024, cpu[b] / 100 }' \
  "$work/rss.tsv" | sort -n |
  awk '{ printf "  batch %3d: peak rss %5d MiB, cpu %5.1f s\n", $1, $2, $3 }')
runs=$(wc -l < "$work/runs.tsv")
kills=$(awk -F'\t' '$4 == 1' "$work/runs.tsv" | wc -l)
{
  echo "mode: $mode; traffic fed for $fed s; $batches batches of $events lines (months 2001-01..$last)"
  echo "process runs: $runs, SIGKILLed: $kills, failures (non-kill exits): $failures"
  echo "events in store: $(sed 's/.*"events": \([0-9]*\).*/\1/' "$work/soak.stats")," \
    "dead letters: $(sed 's/.*"dead_letters": \([0-9]*\).*/\1/' "$work/soak.stats")"
  echo "batch recomputation: $recompute_s s; snapshot 2001-01-01..$to equal to batch: $same"
  echo "snapshot bytes: $(wc -c < "$work/soak.json")"
  echo "RSS over time (ingest processes):"
  echo "$curve"
  echo "per batch:"
  echo "$per_batch"
} | tee "$work/summary.txt" | tee -a "$log"
[[ $same == yes && $failures == 0 ]]
