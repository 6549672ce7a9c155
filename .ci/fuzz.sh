#!/usr/bin/env bash
# Short libFuzzer runs of the parsers: the event parser, the
# rules file parser, the scheme file parser and the decoder of a stored
# buyer state, each from its seed corpus
# under tests/fuzz/corpus for FUZZ_SECONDS (default 60) seconds. Fails on
# any crash, sanitizer report or timeout; the offending input is left in
# $BUILD/fuzz-artifacts. New inputs found go to a scratch corpus, not the
# committed one. docs/hardening.md has the longer run.
#   usage: .ci/fuzz.sh [BUILD_DIR]      (default build-fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-fuzz}
seconds=${FUZZ_SECONDS:-60}
if ! command -v clang++ >/dev/null ||
  ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  echo "fuzz: installing clang and libclang-rt-14-dev" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq clang libclang-rt-14-dev >/dev/null
fi
cmake -S . -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCHATKPI_FUZZ=ON -DCHATKPI_BUILD_TESTS=OFF -DCHATKPI_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target event_parser_fuzz rules_fuzz scheme_fuzz \
  buyer_state_fuzz
mkdir -p "$build/fuzz-artifacts"
status=0
for target in event_parser rules scheme buyer_state; do
  scratch="$build/fuzz-corpus/$target"
  mkdir -p "$scratch"
  echo "fuzz: $target for ${seconds}s" >&2
  # -max_len 8192: longer inputs only repeat what the length checks do.
  if ! ASAN_OPTIONS=detect_leaks=1 "$build/${target}_fuzz" -max_total_time="$seconds" \
      -max_len=8192 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$build/fuzz-artifacts/${target}-" \
      "$scratch" "tests/fuzz/corpus/$target" 2> "$build/fuzz-$target.log"; then
    echo "fuzz: $target FAILED; last lines of $build/fuzz-$target.log:" >&2
    tail -40 "$build/fuzz-$target.log" >&2
    status=1
  fi
  grep -E '^stat::(number_of_executed_units|peak_rss_mb|new_units_added)|^#[0-9]+.*DONE' \
    "$build/fuzz-$target.log" | tr '\n' ' ' >&2 || true
  echo >&2
done
exit $status
