#!/usr/bin/env bash
# CI: the test suite built with AddressSanitizer and UndefinedBehaviorSanitizer (halting on the
# first report; float-cast-overflow included, see meson.build) in ./build-asan. Examples and
# benchmarks are not built: neither is part of this run.
set -euo pipefail
cd "$(dirname "$0")/.."
# -O2 with line tables only (-g1: file:line in the reports; full -g costs build time on 2 cores);
# assertions on.
[ -f build-asan/build.ninja ] ||
  meson setup build-asan -Db_sanitize=address,undefined -Dbuildtype=plain -Doptimization=2 -Dcpp_args=-g1 \
    -Dexamples=false -Dbench=false
start=$SECONDS
ninja -C build-asan
echo "sanitized build: $((SECONDS - start)) s"
start=$SECONDS
# Sanitized code runs several times slower than release: meson's 30 s default is too short for
# the slowest tests.
status=0
meson test -C build-asan --print-errorlogs --timeout-multiplier 4 || status=$?
echo "sanitized tests: $((SECONDS - start)) s"
exit $status
