#!/usr/bin/env bash
# Builds the libFuzzer harnesses (clang, ASan + UBSan) and runs each for SECONDS
# (default 60) from its seed corpus: the binary model loader, the JSON card loader and
# the CSV reader. A crash, leak, sanitizer report, or an allocation over 512 MB fails the
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
for h in model card csv; do
  work=build/fuzz/work/$h
  rm -rf "$work"; mkdir -p "$work/corpus"
  log=build/fuzz/$h.log
  if ! (cd "$work" && "../../fuzz/fuzz_$h" -max_total_time="$secs" -malloc_limit_mb=512 -rss_limit_mb=2048 -timeout=10 \
          -print_final_stats=1 corpus "../../../../fuzz/corpus/$h") >"$log" 2>&1; then
    tail -40 "$log"
    echo "fuzz: $h FAILED (log: $log, reproducer in $work)"
    exit 1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo "?")
  echo "fuzz: $h ${secs}s, $execs executions, coverage $cov edges, no crash" | tee -a "$summary"
done
