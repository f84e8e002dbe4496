#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, clang, ASan+UBSan) in build-fuzz and runs each for
# SECONDS (default 10), as many at once as there are cores (FUZZ_JOBS), from its seed corpus (copied,
# so the repository's corpus stays small) and with its dictionary. Prints execs and crashes per
# target; exits 1 if any target crashed or did not build. Crash inputs are kept in
# build-fuzz/fuzz-out/<target>/; one that shows a real defect goes to tests/data/fuzz/<target>/,
# which the test suite replays.
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]
#   FUZZ_RUNS=N bash scripts/fuzz.sh 0 TARGET   # run N executions, however long they take
#   FUZZ_RUNS=10000000 bash scripts/fuzz.sh 1800  # each target until 10 M executions or 30 min
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
shift || true
build=${FUZZ_BUILD_DIR:-build-fuzz}
jobs=${FUZZ_JOBS:-$(nproc)}

if [ ! -f "$build/build.ninja" ]; then
  rm -rf "$build"
  CXX=clang++ meson setup "$build" -Dfuzz=true -Dtests=false -Dbuildtype=plain -Doptimization=1 >/dev/null || exit 1
fi
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for f in tests/fuzz/*_fuzz.cpp; do n=$(basename "$f" _fuzz.cpp); names+=("$n"); done
fi
targets=()
for n in "${names[@]}"; do targets+=("tests/fuzz/${n}_fuzz"); done
# Only the parser libraries and the targets: not the programs.
ninja -C "$build" -j "$jobs" "${targets[@]}" >/dev/null || { ninja -C "$build" -j 1 "${targets[@]}" | tail -20; exit 1; }

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
# Each target runs on one core: $jobs of them at a time, the table in the order asked.
fuzz_one() {
  local n=$1 out="$build/fuzz-out/$1" start rc took execs crashes
  mkdir -p "$out/corpus"
  cp -n tests/fuzz/corpus/"$n"/* "$out/corpus/" 2>/dev/null || true
  local args=(-max_len=4096 -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$out/")
  [ -f "tests/fuzz/$n.dict" ] && args+=(-dict="tests/fuzz/$n.dict")
  [ -n "${FUZZ_RUNS:-}" ] && args+=(-runs="$FUZZ_RUNS")
  [ "$seconds" -gt 0 ] && args+=(-max_total_time="$seconds")
  start=$(date +%s)
  touch "$out/.start"  # crash files of earlier runs are not counted again
  "$build/tests/fuzz/${n}_fuzz" "${args[@]}" "$out/corpus" >"$out/log" 2>&1
  rc=$?
  took=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/log" | tail -1)
  crashes=$(find "$out" -maxdepth 1 -newer "$out/.start" \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then crashes=1; fi
  printf '%-14s %12s %8s %8s\n' "$n" "${execs:-?}" "$crashes" "$took" >"$out/result"
  if [ "$crashes" -ne 0 ]; then
    grep -m5 -E 'ERROR|invariant failed|runtime error' "$out/log" | sed 's/^/    /' >>"$out/result"
  fi
}
for n in "${names[@]}"; do
  rm -f "$build/fuzz-out/$n/result"
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  fuzz_one "$n" &
done
wait
status=0
printf '%-14s %12s %8s %8s\n' target execs crashes seconds
for n in "${names[@]}"; do
  result="$build/fuzz-out/$n/result"
  if [ ! -s "$result" ]; then
    printf '%-14s %12s %8s %8s\n' "$n" '?' 1 '?'
    status=1
    continue
  fi
  cat "$result"
  [ "$(awk 'NR == 1 { print $3 }' "$result")" = 0 ] || status=1
done
exit $status
