#!/usr/bin/env bash
# Serving on loopback, measured with wrk: `mlops serve` (champion alone, and with a
# shadow challenger), the limit of the HTTP layer (mlops_serve_constant: cpp-httplib
# answering a constant), and the same model in scikit-learn behind Flask
# (benchmarks/serve_flask.py). One single-row JSON prediction per request, keep-alive
# connections, each server with 32 worker threads (cpp-httplib holds one per open
# connection). Each row: the median of RUNS runs with
# its min..max. Prints a Markdown table for benchmarks/RESULTS.md.
#   benchmarks/serve_bench.sh [BUILD_DIR] [SECONDS] [RUNS]
# Needs wrk and python3-flask (scripts/install-deps.sh --bench).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/test} secs=${2:-10} runs=${3:-3}
mlops=$build/tools/mlops constant=$build/benchmarks/mlops_serve_constant
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
body='{"instances": [{"area": 120.0, "age": 10.0, "location_score": 5.0}]}'
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
LUA
"$mlops" train data/house_prices.csv --target price --impute median --standardize --register house --registry "$work/reg" >/dev/null
"$mlops" train data/house_prices.csv --target price --impute mean --model ridge --alpha 10 --register house --registry "$work/reg" >/dev/null
"$mlops" registry promote house 1 production --registry "$work/reg" >/dev/null
"$mlops" registry promote house 2 staging --registry "$work/reg" >/dev/null

wait_port() {
  for _ in $(seq 200); do
    (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "nothing listens on port $1" >&2; exit 1
}
# measure NAME PORT CONNECTIONS: runs wrk RUNS times; prints "rps p50 p99" medians and ranges.
measure() {
  local port=$1 conns=$2 threads=$(( $2 < 2 ? 1 : 2 ))
  local rps=() p50=() p99=()
  for _ in $(seq "$runs"); do
    out=$(wrk -t"$threads" -c"$conns" -d"${secs}s" --latency -s "$work/post.lua" "http://127.0.0.1:$port/v1/models/house:predict")
    grep -q "Non-2xx" <<<"$out" && { echo "non-2xx answers: $out" >&2; exit 1; }
    rps+=("$(awk '/Requests\/sec/ {print $2}' <<<"$out")")
    p50+=("$(awk '$1 == "50%" {print $2}' <<<"$out")")
    p99+=("$(awk '$1 == "99%" {print $2}' <<<"$out")")
  done
  python3 - "${rps[*]}" "${p50[*]}" "${p99[*]}" <<'PY'
import statistics, sys
def us(t):
    for unit, f in (("us", 1), ("ms", 1e3), ("s", 1e6)):
        if t.endswith(unit):
            return float(t[:-len(unit)]) * f
rps = [float(x) for x in sys.argv[1].split()]
p50 = [us(x) for x in sys.argv[2].split()]
p99 = [us(x) for x in sys.argv[3].split()]
fmt = lambda v, d: f"{statistics.median(v):.{d}f} ({min(v):.{d}f}..{max(v):.{d}f})"
print(f"{fmt(rps, 0)} | {fmt(p50, 0)} | {fmt(p99, 0)}")
PY
}
row() {  # LABEL PORT
  echo "| $1, 16 connections | $(measure "$2" 16) |"
  echo "| $1, 1 connection | $(measure "$2" 1) |"
}

echo "| server | requests/s | p50 us | p99 us |"
echo "|---|---|---|---|"
"$mlops" serve --registry "$work/reg" --model house --port 18181 --threads 32 2>/dev/null & wait_port 18181
row "mlops serve" 18181; kill %1; wait %1 2>/dev/null || true
"$mlops" serve --registry "$work/reg" --model house --challenger staging --shadow --port 18182 --threads 32 2>/dev/null & wait_port 18182
row "mlops serve + shadow challenger" 18182; kill %1; wait %1 2>/dev/null || true
"$constant" 18183 32 & wait_port 18183
row "cpp-httplib constant" 18183; kill %1; wait %1 2>/dev/null || true
/usr/bin/python3 benchmarks/serve_flask.py data/house_prices.csv 18184 2>/dev/null & wait_port 18184
row "Flask + scikit-learn" 18184; kill %1; wait %1 2>/dev/null || true
