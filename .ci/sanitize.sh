#!/usr/bin/env bash
# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer.
# The chatkpi binary that the process tests run is instrumented too. Any
# report fails the run: UBSan does not recover, ASan aborts.
#   usage: .ci/sanitize.sh [BUILD_DIR]      (default build-asan)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-asan}
# JOBS: build and ctest parallelism. The CI machine has 2 cores shared with
# other work, so never more than 2 unless asked.
n=$(nproc); jobs=${JOBS:-$(( n < 2 ? n : 2 ))}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCHATKPI_SANITIZE=address,undefined -DCHATKPI_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$jobs"
echo "sanitize.sh: build took ${SECONDS}s" >&2
# detect_leaks: chatkpi's processes must not leak either. The suppressions
# cover leaks inside third-party libraries only.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1
export LSAN_OPTIONS=suppressions=$PWD/.ci/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:suppressions=$PWD/.ci/ubsan.supp
cd "$build"
ctest -j "$jobs" --output-on-failure --timeout 900
echo "sanitize.sh: passed, ${SECONDS}s in all" >&2
