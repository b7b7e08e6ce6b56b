#!/usr/bin/env bash
# Builds the libFuzzer harnesses (clang, ASan + UBSan) and runs each for SECONDS
# (default 60) from its seed corpus: the binary model loader, the JSON card loader and
# the CSV reader, as many at once as there are cores. A crash, leak, sanitizer report, or an allocation over 512 MB fails the
# run; the reproducer is left in build/fuzz/work/<harness>/ (add it to fuzz/corpus/ as a
# regression test once fixed). Prints the executions reached per harness.
#   scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
scripts/install-deps.sh --fuzz
cmake -S . -B build/fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMLOPS_BUILD_FUZZERS=ON \
      -DMLOPS_BUILD_TESTS=OFF -DMLOPS_BUILD_EXAMPLES=OFF -DMLOPS_BUILD_BENCHMARKS=OFF -DMLOPS_INSTALL=OFF >/dev/null
cmake --build build/fuzz -j "$(nproc)" --target fuzz_model fuzz_card fuzz_csv
summary=build/fuzz/summary.txt
: > "$summary"
# One harness per core at a time: each still gets SECONDS of its own core.
run_one() {
  local h=$1 work=build/fuzz/work/$1 log=build/fuzz/$1.log
  rm -rf "$work"; mkdir -p "$work/corpus"
  (cd "$work" && "../../fuzz/fuzz_$h" -max_total_time="$secs" -malloc_limit_mb=512 -rss_limit_mb=2048 -timeout=10 \
     -print_final_stats=1 corpus "../../../../fuzz/corpus/$h") >"$log" 2>&1
}
harnesses=(model card csv)
slots=$(nproc)
declare -A pid
failed=0
for ((i = 0; i < ${#harnesses[@]}; i += slots)); do
  for h in "${harnesses[@]:i:slots}"; do run_one "$h" & pid[$h]=$!; done
  for h in "${harnesses[@]:i:slots}"; do
    if ! wait "${pid[$h]}"; then
      tail -40 "build/fuzz/$h.log"
      echo "fuzz: $h FAILED (log: build/fuzz/$h.log, reproducer in build/fuzz/work/$h)"
      failed=1
    fi
  done
done
[[ $failed == 0 ]] || exit 1
for h in "${harnesses[@]}"; do
  log=build/fuzz/$h.log
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo "?")
  echo "fuzz: $h ${secs}s, $execs executions, coverage $cov edges, no crash" | tee -a "$summary"
done
