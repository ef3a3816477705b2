#!/usr/bin/env bash
# CI: builds the libFuzzer targets (fuzz/) with clang-16, ASan and UBSan in ./build-fuzz and runs
# each for a bounded time (first argument, seconds; default 60) on a scratch copy of its seed
# corpus. Any crash, leak, sanitizer report or undocumented exception fails; the input that caused
# it is kept in build-fuzz/ and printed in base64, to be added to fuzz/corpus/crash/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
targets=(idx csv checkpoint)
[ -f build-fuzz/build.ninja ] ||
  CXX=clang++-16 meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
    -Dbuildtype=debugoptimized -Dexamples=false -Dbench=false
start=$SECONDS
ninja -C build-fuzz "${targets[@]/#/fuzz/fuzz_}"
echo "fuzz build: $((SECONDS - start)) s"

export OPENBLAS_NUM_THREADS=1
export ASAN_OPTIONS=detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
# (symbolized stack traces in the reports)
[ -x /usr/lib/llvm-16/bin/llvm-symbolizer ] && export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-16/bin/llvm-symbolizer
failed=()
for t in "${targets[@]}"; do
  work=$(mktemp -d)
  cp -r "fuzz/corpus/$t/." "$work/"
  log=build-fuzz/fuzz_$t.log
  echo "--- fuzz_$t: ${seconds} s on $(find "$work" -type f | wc -l) seed inputs"
  status=0
  "build-fuzz/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="build-fuzz/crash-$t-" "$work" >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  echo "fuzz_$t: ${runs:-?} executions, corpus grew to $(find "$work" -type f | wc -l) inputs, exit status $status"
  if ((status != 0)); then
    failed+=("$t")
    grep -v '^#[0-9]' "$log" | tail -60
    for a in build-fuzz/crash-"$t"-*; do
      [ -f "$a" ] && { echo "reproducer $a (base64):"; base64 "$a"; }
    done
  fi
  rm -rf "$work"
done
if ((${#failed[@]})); then
  echo "fuzzing found problems in: ${failed[*]}"
  exit 1
fi
