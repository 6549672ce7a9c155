#!/usr/bin/env bash
# The throughput targets of docs/engine.md "Throughput", side by side in one
# run for the current build:
#   * `chatkpi ingest` of a generated 1M-event month in time order, and of
#     the same month fully shuffled, against DuckDB computing the same
#     per-agent month in one SQL query over the same JSONL file;
#   * `chatkpi replay` of the sorted store under new rules against the plain
#     ingest of the same events;
#   * `chatkpi run` catching up on pre-published topics against a bare
#     librdkafka consumer of the same topics (bench/kafka_consume_bench);
#   * max RSS of a 2.1M-event shuffled month against the 1M one.
# Each figure is the best (lowest wall time) of ROUNDS interleaved runs;
# wall and CPU seconds are both printed, since a shared machine inflates
# wall time (the targets are wall-time ratios on an otherwise idle machine;
# the CPU ratios say how much work each side does). Before timing anything the DuckDB figures are checked equal,
# counter by counter for every agent and the unattributed row, to
# `chatkpi snapshot` of the sorted and the shuffled store: a mismatch stops
# the script.
#
#   usage: bench/vs_duckdb.sh [BUILD_DIR] [EVENTS]
#   BUILD_DIR (build) needs `chatkpi` and `kafka_consume_bench`
#   (-DCHATKPI_BUILD_BENCH=ON). Environment: ROUNDS (2), KAFKA_EVENTS
#   (200000: the embedded mock broker keeps ~5 MiB per partition),
#   CHATKPI_BENCH_CACHE (where DuckDB is installed), INGEST_THREADS
#   (`ingest --threads`, default every core), KEEP=1 keeps the work
#   directory.
#
# DuckDB is not a Debian package: on first use the script installs its
# Node.js client (@duckdb/node-api, prebuilt bindings, exact version below)
# with npm into CHATKPI_BENCH_CACHE (default ~/.cache/chatkpi-bench),
# outside the build and the repository. Needs node, npm and /usr/bin/time.
set -euo pipefail
build=${1:-build}
events=${2:-1000000}
rounds=${ROUNDS:-2}
ingest_threads=${INGEST_THREADS:-$(nproc)}
kafka_events=${KAFKA_EVENTS:-200000}
big=$((events * 21 / 10))
month=2026-11
duckdb_version=1.5.6-r.1
cache=${CHATKPI_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/chatkpi-bench}/duckdb-$duckdb_version
bin=$build/chatkpi
kafka_bench=$build/kafka_consume_bench

die() { echo "vs_duckdb: $*" >&2; exit 1; }
[ -x "$bin" ] || die "$bin not found: build chatkpi first"
[ -x "$kafka_bench" ] || die "$kafka_bench not found: configure with -DCHATKPI_BUILD_BENCH=ON and build target kafka_consume_bench"
command -v node >/dev/null && command -v npm >/dev/null || die "needs node and npm (Debian: apt-get install nodejs npm)"
[ -x /usr/bin/time ] || die "needs /usr/bin/time (Debian: apt-get install time)"

# --- DuckDB, installed once -------------------------------------------------
if [ ! -d "$cache/node_modules/@duckdb/node-api" ]; then
  echo "installing @duckdb/node-api $duckdb_version into $cache" >&2
  mkdir -p "$cache"
  cat > "$cache/package.json" <<EOF
{"private": true, "dependencies": {"@duckdb/node-api": "$duckdb_version"}}
EOF
  (cd "$cache" && npm install --no-audit --no-fund --loglevel=error >&2) ||
    die "npm install of @duckdb/node-api failed (is the npm registry reachable?)"
fi

# The per-agent month in one query (docs/spec.md §3 under the default rules
# of §2: Asia/Shanghai is UTC+8 without daylight saving; response window
# 3600 s, slow 40 s; attribution `last` within 86400 s; the default
# courtesy keywords). It covers the 20 counters of a snapshot row:
# consultations, replied, questions, answered, unanswered, response_ms_sum,
# slow, first_responses, first_response_ms_sum, courteous, rude, orders,
# ordered_buyers, paid_orders, paid_buyers, paid_items, sales_fen, refunds,
# refunded_items, refund_fen (the ratios follow from them); not the
# response-time histogram figures (answered_within_*, medians, p90). It
# does not validate (docs/spec.md §1) or deduplicate ids: the generated
# file has neither malformed lines nor redeliveries.
cat > "$cache/month.mjs" <<'EOF'
// usage: node month.mjs EVENTS.jsonl YYYY-MM OUT.csv
import { DuckDBInstance } from '@duckdb/node-api';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
const [file, month, out] = process.argv.slice(2);
const [y, m] = month.split('-').map(Number);
const first = Date.UTC(y, m - 1, 1) / 86400000, last = Date.UTC(y, m, 1) / 86400000 - 1;
const day = (t) => `((${t} + 28800000) // 86400000)`;
const inMonth = (t) => `${day(t)} BETWEEN ${first} AND ${last}`;
const sql = `
WITH ev AS (
  SELECT * FROM read_json('${file.replace(/'/g, "''")}', format = 'newline_delimited',
    columns = {type: 'VARCHAR', id: 'VARCHAR', ts: 'BIGINT', buyer: 'VARCHAR', agent: 'VARCHAR',
               dir: 'VARCHAR', text: 'VARCHAR', auto: 'BOOLEAN', "order": 'VARCHAR',
               status: 'VARCHAR', amount: 'DOUBLE', items: 'BIGINT'})),
chat AS (
  SELECT agent, buyer, ts, id, dir, coalesce(auto, false) AS auto, text, ${day('ts')} AS d
  FROM ev WHERE type = 'chat'),
-- In each (agent, buyer) thread of in and non-auto out messages by (ts, id),
-- an in after an out (or first) opens a question; the next out closes it.
walk AS (
  SELECT agent, buyer, ts, dir, lag(dir) OVER w AS prev,
         min(CASE WHEN dir = 'out' THEN ts END)
           OVER (w ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS next_out
  FROM chat WHERE dir = 'in' OR NOT auto
  WINDOW w AS (PARTITION BY agent, buyer ORDER BY ts, id)),
question AS (
  SELECT agent, buyer, ${day('ts')} AS d, ts AS open, next_out - ts AS rt,
         next_out IS NOT NULL AND next_out - ts <= 3600000 AS answered
  FROM walk WHERE dir = 'in' AND (prev IS NULL OR prev = 'out')),
question_day AS (
  SELECT agent, buyer, d, count(*) AS questions, count(*) FILTER (answered) AS answered,
         sum(CASE WHEN answered THEN rt ELSE 0 END) AS response_ms_sum,
         count(*) FILTER (answered AND rt > 40000) AS slow,
         arg_min(answered, open) AS first_answered, arg_min(rt, open) AS first_rt
  FROM question GROUP BY ALL),
consultation AS (
  SELECT agent, buyer, d, min(ts) FILTER (dir = 'in') AS first_in,
         max(ts) FILTER (dir = 'out' AND NOT auto) AS last_out,
         bool_or(dir = 'out' AND NOT auto AND (contains(text, '亲') OR contains(text, '您好')
                 OR contains(text, '谢谢'))) AS good,
         bool_or(dir = 'out' AND NOT auto AND (contains(text, '不知道')
                 OR contains(text, '自己看') OR contains(text, '滚'))) AS bad
  FROM chat GROUP BY ALL HAVING first_in IS NOT NULL),
chat_month AS (
  SELECT agent, count(c.first_in) AS consultations,
         count(*) FILTER (c.last_out >= c.first_in) AS replied,
         sum(q.questions) AS questions, sum(q.answered) AS answered,
         sum(q.response_ms_sum) AS response_ms_sum, sum(q.slow) AS slow,
         count(*) FILTER (q.first_answered) AS first_responses,
         sum(CASE WHEN q.first_answered THEN q.first_rt END) AS first_response_ms_sum,
         count(*) FILTER (c.good AND NOT c.bad) AS courteous, count(*) FILTER (c.bad) AS rude
  FROM consultation c FULL JOIN question_day q USING (agent, buyer, d)
  WHERE d BETWEEN ${first} AND ${last} GROUP BY agent),
-- An order's created time, buyer and first payment; it goes to the agent of
-- its buyer's latest in message by (ts, id) at most a day before creation.
ord AS (
  SELECT "order" AS oid, coalesce(min(ts) FILTER (status = 'created'), min(ts)) AS created,
         min({ts: ts, id: id, buyer: buyer}).buyer AS buyer,
         min({ts: ts, id: id, amount: amount, items: items}) FILTER (status = 'paid') AS paid
  FROM ev WHERE type = 'order' GROUP BY ALL),
timeline AS (
  SELECT buyer, ts, 0 AS kind, id, agent, NULL AS oid FROM chat WHERE dir = 'in'
  UNION ALL SELECT buyer, created, 1, NULL, NULL, oid FROM ord),
attributed AS (
  SELECT oid, CASE WHEN last_in.ts >= ts - 86400000 THEN last_in.agent
                   ELSE '(unattributed)' END AS agent
  FROM (SELECT oid, ts, kind,
               last_value(CASE WHEN kind = 0 THEN {ts: ts, agent: agent} END IGNORE NULLS)
                 OVER (PARTITION BY buyer ORDER BY ts, kind, id ROWS UNBOUNDED PRECEDING)
                 AS last_in
        FROM timeline) WHERE kind = 1),
order_month AS (
  SELECT a.agent, count(*) FILTER (${inMonth('o.created')}) AS orders,
         count(DISTINCT (o.buyer, ${day('o.created')})) FILTER (${inMonth('o.created')})
           AS ordered_buyers,
         count(*) FILTER (${inMonth('o.paid.ts')}) AS paid_orders,
         count(DISTINCT (o.buyer, ${day('o.paid.ts')})) FILTER (${inMonth('o.paid.ts')})
           AS paid_buyers,
         sum(o.paid.items) FILTER (${inMonth('o.paid.ts')}) AS paid_items,
         sum(round(o.paid.amount * 100)::BIGINT) FILTER (${inMonth('o.paid.ts')}) AS sales_fen
  FROM ord o JOIN attributed a USING (oid) GROUP BY a.agent),
refund_month AS (
  SELECT a.agent, count(*) AS refunds, sum(r.items) AS refunded_items,
         sum(round(r.amount * 100)::BIGINT) AS refund_fen
  FROM ev r JOIN attributed a ON a.oid = r."order"
  WHERE r.type = 'order' AND r.status = 'refunded' AND ${inMonth('r.ts')}
  GROUP BY a.agent)
SELECT agent, ${['consultations', 'replied', 'questions', 'answered', 'questions - answered',
  'response_ms_sum', 'slow', 'first_responses', 'first_response_ms_sum', 'courteous', 'rude',
  'orders', 'ordered_buyers', 'paid_orders', 'paid_buyers', 'paid_items', 'sales_fen',
  'refunds', 'refunded_items', 'refund_fen'].map((c) => `coalesce(${c}, 0)`).join(', ')}
FROM chat_month FULL JOIN order_month USING (agent) FULL JOIN refund_month USING (agent)
ORDER BY agent`;
const instance = await DuckDBInstance.create(':memory:', {
  threads: String(os.availableParallelism()) });
const conn = await instance.connect();
const rows = (await conn.runAndReadAll(sql)).getRows();
writeFileSync(out, rows.map((r) => r.map(String).join(',')).join('\n') + '\n');
EOF

# --- inputs ------------------------------------------------------------------
work=$(mktemp -d /tmp/chatkpi-vs-duckdb.XXXXXX)
cleanup() {
  if [ -n "${KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
gen() { "$bin" gen --seed 1 --agents 50 --month "$month" "$@" 2>/dev/null; }
gen --events "$events" --out "$work/sorted.jsonl"
gen --events "$events" --shuffle --out "$work/shuffled.jsonl"
gen --events "$big" --shuffle --out "$work/big.jsonl"
lines=$(wc -l < "$work/sorted.jsonl")
big_lines=$(wc -l < "$work/big.jsonl")
cat > "$work/rules.json" <<'EOF'
{"version": "v2", "response": {"slow_s": 30}}
EOF

machine() {
  echo "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
}
echo "chatkpi vs DuckDB, $(date -u '+%Y-%m-%d %H:%M UTC'), build $(git -C "$(dirname "$0")" describe --always --dirty 2>/dev/null || echo '?') in $build"
echo "machine: $(machine)"
echo "ingest --threads $ingest_threads"
echo "input: $lines events ($(( $(stat -c %s "$work/sorted.jsonl") / 1048576 )) MiB) sorted and shuffled, $big_lines shuffled; DuckDB $duckdb_version with $(nproc) threads"

# --- the numbers must agree before anything is timed -----------------------
month_csv() {  # the snapshot's 20 counters per agent and unattributed, sorted
  "$bin" snapshot --db "$1" --from "$month-01" --to "$(date -d "$month-01 +1 month -1 day" +%F)" \
    --format csv | sed '1s/^\xef\xbb\xbf//' | tail -n +2 | grep -v '^(team total)' |
    cut -d, -f1-21 | LC_ALL=C sort
}
check() {  # input file, store: DuckDB's month == the store's snapshot
  (cd "$cache" && node month.mjs "$1" "$month" "$work/duck.csv")
  LC_ALL=C sort "$work/duck.csv" > "$work/duck.sorted"
  month_csv "$2" > "$work/snap.sorted"
  if ! cmp -s "$work/duck.sorted" "$work/snap.sorted"; then
    diff "$work/snap.sorted" "$work/duck.sorted" | head -20 >&2
    die "MISMATCH: DuckDB's month of $(basename "$1") differs from chatkpi snapshot (< chatkpi, > DuckDB)"
  fi
  echo "checked: DuckDB == chatkpi snapshot for $(wc -l < "$work/snap.sorted") rows x 20 counters ($(basename "$1"))"
}
"$bin" ingest --threads "$ingest_threads" --db "$work/check_sorted" "$work/sorted.jsonl" >/dev/null 2>&1
check "$work/sorted.jsonl" "$work/check_sorted"
"$bin" ingest --threads "$ingest_threads" --db "$work/check_shuffled" "$work/shuffled.jsonl" >/dev/null 2>&1
check "$work/shuffled.jsonl" "$work/check_shuffled"
rm -rf "$work/check_sorted" "$work/check_shuffled"

# --- timed rounds --------------------------------------------------------------
calc() { awk "BEGIN { print ($1) }"; }  # arithmetic and comparisons (1/0)
declare -A wall cpu rss
measure() {  # key, command...: keeps the lowest wall (and its CPU), the highest RSS
  local key=$1; shift
  /usr/bin/time -o "$work/time" -f "%e %U %S %M" "$@" >"$work/out" 2>"$work/err" || {
    cat "$work/err" >&2; die "failed: $*"; }
  local w u s r
  read -r w u s r < "$work/time"
  printf "  %-16s wall %6.2f s  cpu %6.2f s  max rss %5d MiB\n" "$key" "$w" "$(calc "$u + $s")" $((r / 1024))
  if [ -z "${wall[$key]:-}" ] || [ "$(calc "$w < ${wall[$key]}")" = 1 ]; then
    wall[$key]=$w
    cpu[$key]=$(calc "$u + $s")
  fi
  if [ -z "${rss[$key]:-}" ] || [ "$r" -gt "${rss[$key]}" ]; then rss[$key]=$r; fi
}
kafka_best=0 bare_best=0
for r in $(seq "$rounds"); do
  echo "round $r (load $(cut -d' ' -f1-3 /proc/loadavg))"
  measure ingest_sorted "$bin" ingest --threads "$ingest_threads" --db "$work/sorted$r" "$work/sorted.jsonl"
  measure duckdb_sorted sh -c "cd '$cache' && exec node month.mjs '$work/sorted.jsonl' $month '$work/duck.csv'"
  measure ingest_shuffled "$bin" ingest --threads "$ingest_threads" --db "$work/shuffled$r" "$work/shuffled.jsonl"
  measure duckdb_shuffled sh -c "cd '$cache' && exec node month.mjs '$work/shuffled.jsonl' $month '$work/duck.csv'"
  measure replay "$bin" replay --db "$work/sorted$r" --rules "$work/rules.json" --quiet
  measure ingest_big "$bin" ingest --threads "$ingest_threads" --db "$work/big$r" "$work/big.jsonl"
  rm -rf "$work/sorted$r" "$work/shuffled$r" "$work/big$r"
  # In one process: the bare consumer, then `run`'s loop, each from its
  # partition assignment to having read (and committed) every partition.
  CHATKPI_BENCH_EVENTS=$kafka_events "$kafka_bench" \
    --benchmark_filter='BM_BareLibrdkafkaConsume|BM_ChatkpiKafkaConsume' >"$work/kafka.out" 2>&1 ||
    { cat "$work/kafka.out" >&2; die "kafka_consume_bench failed"; }
  line=$(grep '^chatkpi Kafka consume:' "$work/kafka.out") ||
    { cat "$work/kafka.out" >&2; die "kafka_consume_bench printed no result"; }
  read -r k b < <(echo "$line" | sed -E 's/^chatkpi Kafka consume: ([0-9]+) events\/s .* \(([0-9]+) events\/s\).*/\1 \2/')
  echo "  run catch-up     $k events/s; bare librdkafka $b events/s"
  [ "$k" -gt "$kafka_best" ] && kafka_best=$k
  [ "$b" -gt "$bare_best" ] && bare_best=$b
done

# --- the figures ---------------------------------------------------------------
echo
echo "best of $rounds, machine at the end: $(machine)"
row() {  # figure, ours, theirs, ratio, target, met
  printf "%-34s %-24s %-24s %7s  %-8s %s\n" "$@"
}
rate() { awk -v n="$1" -v w="${wall[$2]}" 'BEGIN { printf "%.0f", n / w }'; }
ws() { printf "%.2f s (cpu %.2f)" "${wall[$1]}" "${cpu[$1]}"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
met() { [ "$(calc "$1")" = 1 ] && echo met || echo "NOT met"; }
row figure chatkpi "baseline" ratio target ""
r1=$(ratio "${wall[ingest_sorted]}" "${wall[duckdb_sorted]}")
row "sorted month, $lines events" "$(ws ingest_sorted)" "DuckDB $(ws duckdb_sorted)" "$r1" "<= 0.50" "$(met "$r1 <= 0.5")"
echo "  (chatkpi $(rate "$lines" ingest_sorted) events/s wall, $(awk -v n="$lines" -v c="${cpu[ingest_sorted]}" 'BEGIN { printf "%.0f", n / c }') events/s per CPU second; CPU seconds ratio $(ratio "${cpu[ingest_sorted]}" "${cpu[duckdb_sorted]}"))"
r2=$(ratio "${wall[ingest_shuffled]}" "${wall[duckdb_shuffled]}")
row "shuffled month" "$(ws ingest_shuffled)" "DuckDB $(ws duckdb_shuffled)" "$r2" "<= 1.00" "$(met "$r2 <= 1.0")"
echo "  (chatkpi $(rate "$lines" ingest_shuffled) events/s wall; CPU seconds ratio $(ratio "${cpu[ingest_shuffled]}" "${cpu[duckdb_shuffled]}"))"
r3=$(ratio "${wall[replay]}" "${wall[ingest_sorted]}")
row "replay under new rules" "$(ws replay)" "ingest $(ws ingest_sorted)" "$r3" "<= 1.00" "$(met "$r3 <= 1.0")"
echo "  (CPU seconds ratio $(ratio "${cpu[replay]}" "${cpu[ingest_sorted]}"))"
r4=$(ratio "$kafka_best" "$bare_best")
row "run catch-up, $kafka_events events" "$kafka_best events/s" "bare $bare_best events/s" "$r4" ">= 0.90" "$(met "$r4 >= 0.9")"
r5=$(ratio "${rss[ingest_big]}" "${rss[ingest_shuffled]}")
row "max RSS, shuffled $big_lines vs $lines" "$(( rss[ingest_big] / 1024 )) MiB" "$(( rss[ingest_shuffled] / 1024 )) MiB" "$r5" "<= 1.20" "$(met "$r5 <= 1.2")"
echo "  (sorted month max RSS $(( rss[ingest_sorted] / 1024 )) MiB; $big_lines shuffled ingested in $(ws ingest_big))"
