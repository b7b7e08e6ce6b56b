#!/usr/bin/env python3
"""5-fold cross-validation of impute -> one-hot -> standardize -> ridge, the whole command.

Usage: /usr/bin/python3 benchmarks/cv_bench.py BUILD_DIR [ROWS] [REPEATS]

Writes ROWS (default 200,000) rows of 12 numeric columns (3% missing) and 4 text columns
of 8, 16, 32 and 64 levels (2% missing) with a linear target, then times, each REPEATS
times (default 3; medians with min..max):
  - mlops: `mlops train data.csv --target y --encode onehot --impute mean --standardize
    --model ridge --alpha 1 --cv 5 --test-size 0 --out model.mlops` (read, 5-fold CV, fit
    on every row, write the model);
  - the reference: pandas.read_csv, a scikit-learn Pipeline of a ColumnTransformer
    (SimpleImputer + StandardScaler on the numbers, OneHotEncoder(handle_unknown="ignore")
    on the text) and Ridge(alpha=1), cross_validate on KFold(5, shuffle=True), fit on every
    row, joblib.dump.
Both in one run, on the same file; prints a markdown row for benchmarks/RESULTS.md.
"""
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def write_data(path, n, seed=0):
    rng = np.random.default_rng(seed)
    cols = {}
    y = rng.normal(0, 0.5, n)
    for j in range(12):
        x = rng.normal(j, 1 + j % 3, n)
        y += (j % 5 - 2) * 0.3 * x
        x[rng.random(n) < 0.03] = np.nan
        cols[f"x{j}"] = x
    for t, levels in enumerate([8, 16, 32, 64]):
        codes = rng.integers(0, levels, n)
        effect = rng.normal(0, 1, levels)
        y += effect[codes]
        text = np.array([f"t{t}_{k:02d}" for k in range(levels)], dtype=object)[codes]
        text[rng.random(n) < 0.02] = ""
        cols[f"c{t}"] = text
    cols["y"] = y
    import pandas as pd
    pd.DataFrame(cols).to_csv(path, index=False, float_format="%.6g")


REFERENCE = r"""
import sys, time
t0 = time.perf_counter()
import numpy as np, pandas as pd, joblib
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
t1 = time.perf_counter()
df = pd.read_csv(sys.argv[1])
X, y = df.drop(columns=["y"]), df["y"]
num = [c for c in X.columns if c.startswith("x")]
cat = [c for c in X.columns if c.startswith("c")]
pre = ColumnTransformer([("num", Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())]), num),
                         ("cat", OneHotEncoder(handle_unknown="ignore"), cat)])
p = Pipeline([("pre", pre), ("ridge", Ridge(alpha=1.0))])
t_read = time.perf_counter()
cv = cross_validate(p, X, y, cv=KFold(5, shuffle=True, random_state=0), scoring=("r2", "neg_mean_squared_error"))
t_cv = time.perf_counter()
p.fit(X, y)
joblib.dump(p, sys.argv[2])
t2 = time.perf_counter()
print(f"{(t2 - t1) * 1000:.1f} {np.mean(cv['test_r2']):.6f} {(t_cv - t_read) * 1000:.1f}")
"""


def median_spread(values):
    v = sorted(values)
    return v[len(v) // 2], v[0], v[-1]


def main():
    build = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200_000
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    cli = os.path.join(build, "tools", "mlops")
    with tempfile.TemporaryDirectory() as d:
        data = os.path.join(d, "data.csv")
        write_data(data, n)
        ref_py = os.path.join(d, "ref.py")
        with open(ref_py, "w") as f:
            f.write(REFERENCE)
        ours, theirs, r2_ours, r2_ref = [], [], None, None
        ours_cv, theirs_cv = [], []
        for _ in range(reps):
            t0 = time.perf_counter()
            out = subprocess.run([cli, "train", data, "--target", "y", "--encode", "onehot", "--impute", "mean", "--standardize",
                                  "--model", "ridge", "--alpha", "1", "--cv", "5", "--test-size", "0", "--json",
                                  "--out", os.path.join(d, "m.mlops")], check=True, capture_output=True, text=True).stdout
            ours.append((time.perf_counter() - t0) * 1000)
            import json
            j = json.loads(out)
            r2_ours = j["cv"]["mean"]["r2"]
            ours_cv.append(sum(f["fit_seconds"] + f["score_seconds"] for f in j["cv"]["folds"]) * 1000)
            shared = j["cv"].get("one_pass")
            r = subprocess.run([sys.executable, ref_py, data, os.path.join(d, "m.joblib")], check=True, capture_output=True,
                               text=True).stdout.split()
            theirs.append(float(r[0]))
            r2_ref = float(r[1])
            theirs_cv.append(float(r[2]))
        mo, lo, hi = median_spread(ours)
        mt, tlo, thi = median_spread(theirs)
        r2 = r2_ours
        print(f"| 5-fold CV, impute -> one-hot (4 text columns, 8-64 levels) -> standardize -> ridge(1), whole `mlops train "
              f"--cv 5` vs read_csv + ColumnTransformer + cross_validate + fit + dump | {n} x 16 | {mt:.0f} ms ({tlo:.0f}-{thi:.0f}) "
              f"| {mo:.0f} ms ({lo:.0f}-{hi:.0f}) | **{mt / mo:.1f}x** | >= 15x |")
        co, clo, chi = median_spread(ours_cv)
        ct, ctlo, cthi = median_spread(theirs_cv)
        print(f"| the same, cross-validation alone (mlops: the folds' fit + score times) vs cross_validate | {n} x 16 | {ct:.0f} ms "
              f"({ctlo:.0f}-{cthi:.0f}) | {co:.0f} ms ({clo:.0f}-{chi:.0f}) | **{ct / co:.1f}x** | - |")
        print(f"mean r2: mlops {r2:.6f} (shared statistics: {shared}), scikit-learn {r2_ref:.6f}")


if __name__ == "__main__":
    main()
