#!/usr/bin/env bash
# The main job: build mlops and run the end-to-end demo on the bundled house-price data.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DMLOPS_BUILD_TESTS=OFF -DMLOPS_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build build/release --target house_prices_demo mlops_cli online_control_loop
mkdir -p out
build/release/examples/house_prices_demo data/house_prices.csv out
