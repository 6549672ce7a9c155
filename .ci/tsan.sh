#!/usr/bin/env bash
# ThreadSanitizer over the concurrent parts: the Kafka consumer,
# the HTTP server and its live push, i.e. the tests named Kafka* and Http*.
# RocksDB and librdkafka are not instrumented; their internal threads are
# only seen through the pthread calls TSan intercepts.
#   usage: .ci/tsan.sh [BUILD_DIR]      (default build-tsan)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-tsan}
# JOBS: build and ctest parallelism. The CI machine has 2 cores shared with
# other work, so never more than 2 unless asked.
n=$(nproc); jobs=${JOBS:-$(( n < 2 ? n : 2 ))}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCHATKPI_SANITIZE=thread -DCHATKPI_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$jobs" --target chatkpi chatkpi_tests
echo "tsan.sh: build took ${SECONDS}s" >&2
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/.ci/tsan.supp
cd "$build"
ctest -j "$jobs" --output-on-failure --timeout 900 -R 'Kafka|Http'
echo "tsan.sh: passed, ${SECONDS}s in all" >&2
