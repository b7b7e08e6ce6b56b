#!/usr/bin/env python3
"""Issue 17's table benchmarks, side by side in one run: read_csv with type inference of
1,000,000 rows x (12 numeric + 4 text + 1 date) against pandas.read_csv (C engine,
parse_dates), one-hot fit+transform of 4 columns x 1,000,000 rows against scikit-learn's
OneHotEncoder (dense), and the mixed-row predict_row. Medians of 3.

    /usr/bin/python3 benchmarks/tables_bench.py build/test/benchmarks/mlops_bench [rows]
"""
import json, os, random, resource, subprocess, sys, tempfile, time

import numpy as np
import pandas as pd
from sklearn.preprocessing import OneHotEncoder

bench = sys.argv[1]
rows = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
path = os.path.join(tempfile.gettempdir(), f"mlops_tables_{rows}.csv")
if not os.path.exists(path):
    rng = np.random.default_rng(17)
    df = pd.DataFrame({f"x{j}": rng.normal(size=rows).round(6) for j in range(12)})
    for j, k in enumerate([8, 16, 32, 64]):
        df[f"c{j}"] = np.char.add("level_", rng.integers(0, k, rows).astype(str))
    df["when"] = pd.to_datetime("2015-01-01") + pd.to_timedelta(rng.integers(0, 3650, rows), unit="D")
    df.to_csv(path, index=False, date_format="%Y-%m-%d")
size = os.path.getsize(path)

def median_time(fn, n=3):
    ts = []
    for _ in range(n):
        t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    return sorted(ts)[len(ts) // 2], ts

def mlops(filter_):
    out = subprocess.run([bench, f"--benchmark_filter={filter_}", "--benchmark_format=json"], capture_output=True, text=True,
                         env=dict(os.environ, MLOPS_BENCH_TABLE=path), check=True).stdout
    b = json.loads(out)["benchmarks"][0]
    scale = {"ms": 1e-3, "ns": 1e-9, "us": 1e-6}[b["time_unit"]]
    return b["real_time"] * scale

def peak_rss_mib(filter_):
    r = subprocess.run(["/usr/bin/time", "-f", "%M", bench, f"--benchmark_filter={filter_}"], capture_output=True, text=True,
                       env=dict(os.environ, MLOPS_BENCH_TABLE=path), check=True)
    return int(r.stderr.strip().splitlines()[-1]) / 1024

pd_t, pd_all = median_time(lambda: pd.read_csv(path, parse_dates=["when"]))
frame = pd.read_csv(path, parse_dates=["when"])
typed_bytes = rows * (12 * 8 + 4 * 4 + 8)  # what mlops holds: doubles, int32 codes, int64 instants (+ levels)
ml_read = [mlops("BM_read_csv_typed") for _ in range(3)]
ml_rss = peak_rss_mib("BM_read_csv_typed")
X = frame[[f"c{j}" for j in range(4)]]
sk_t, _ = median_time(lambda: OneHotEncoder(sparse_output=False).fit_transform(X))
ml_oh = [mlops("BM_onehot_fit_transform") for _ in range(3)]
ml_row = [mlops("BM_predict_row_mixed/1") for _ in range(3)]  # the default pipeline (auto_pipeline + scaler)
med = lambda v: sorted(v)[len(v) // 2]
print(f"file {path}: {rows} rows, {size / 1e6:.1f} MB")
print(f"read_csv typed:  mlops {med(ml_read)*1e3:.0f} ms (runs {', '.join(f'{x*1e3:.0f}' for x in ml_read)}), "
      f"pandas read_csv(parse_dates) {pd_t*1e3:.0f} ms -> {pd_t / med(ml_read):.2f}x; "
      f"mlops peak RSS {ml_rss:.0f} MiB = {ml_rss * 2**20 / typed_bytes:.2f}x the typed result ({typed_bytes / 2**20:.0f} MiB)")
print(f"one-hot fit+transform: mlops {med(ml_oh)*1e3:.0f} ms (runs {', '.join(f'{x*1e3:.0f}' for x in ml_oh)}), "
      f"scikit-learn {sk_t*1e3:.0f} ms -> {sk_t / med(ml_oh):.1f}x")
print(f"mixed predict_row: {med(ml_row)*1e9:.0f} ns (runs {', '.join(f'{x*1e9:.0f}' for x in ml_row)})")
