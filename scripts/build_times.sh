#!/usr/bin/env bash
# Measures what issue 28 targets, on this machine, and prints one line per figure:
#   - a clean Release build of the default configuration (library, CLI, examples, tests,
#     benchmarks), cmake --build -j2, ccache off;
#   - the same build after touching include/mlops/prep/impute.hpp;
#   - -fsyntax-only of mlops/mlops.hpp against <Eigen/Dense>, header-only and as a user of
#     the compiled mode sees it (-DMLOPS_COMPILED: declarations of the non-template code);
#   - a consumer unit (read a CSV, fit a pipeline, predict a row) at -O2, header-only and
#     against the compiled mode.
#   scripts/build_times.sh [BUILD_DIR]     (default build/times; it is wiped first)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build/times}
jobs=2
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
rm -rf "$dir"
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMLOPS_BUILD_BENCHMARKS=ON -DMLOPS_CCACHE=OFF >/dev/null
t0=$(now); cmake --build "$dir" -j "$jobs" >/dev/null; t1=$(now)
echo "clean build (-j$jobs): $(secs "$t0" "$t1") s"
touch include/mlops/prep/impute.hpp
t0=$(now); cmake --build "$dir" -j "$jobs" >/dev/null; t1=$(now)
echo "rebuild after touching prep/impute.hpp: $(secs "$t0" "$t1") s"
inc=(-std=c++20 -Iinclude -I/usr/include/eigen3)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo '#include <mlops/mlops.hpp>' > "$tmp/umbrella.cpp"
echo '#include <Eigen/Dense>' > "$tmp/eigen.cpp"
cat > "$tmp/consumer.cpp" <<'CPP'
#include <mlops/csv.hpp>
#include <mlops/pipeline.hpp>
int main(int argc, char** argv) {
  const auto frame = mlops::read_csv<double>(argc > 1 ? argv[1] : "data/house_prices.csv");
  const auto model = mlops::pipeline<double>().impute().standardize().fit(mlops::LinearRegression<double>{}, frame, "price");
  const double row[] = {120.0, 15.0, 5.0};
  return model.predict_row(row) > 0 ? 0 : 1;
}
CPP
for f in eigen umbrella umbrella-compiled; do
  best=""
  def=(); [[ $f == umbrella-compiled ]] && def=(-DMLOPS_COMPILED)
  for _ in 1 2 3; do
    t0=$(now); g++ "${inc[@]}" "${def[@]}" -fsyntax-only "$tmp/${f%-compiled}.cpp"; t1=$(now)
    s=$(secs "$t0" "$t1"); best=$(awk -v a="$s" -v b="${best:-$s}" 'BEGIN { print (a < b ? a : b) }')
  done
  echo "-fsyntax-only $f: $best s (best of 3)"
done
for mode in header-only compiled; do
  def=(); [[ $mode == compiled ]] && def=(-DMLOPS_COMPILED)
  t0=$(now); g++ "${inc[@]}" "${def[@]}" -O2 -c "$tmp/consumer.cpp" -o "$tmp/consumer.o"; t1=$(now)
  echo "consumer unit at -O2, $mode: $(secs "$t0" "$t1") s"
done
g++ -O2 "$tmp/consumer.o" -o "$tmp/consumer" "$dir/libmlops.a" -lfmt -lpthread
"$tmp/consumer" >/dev/null && echo "consumer linked against $dir/libmlops.a and ran"
