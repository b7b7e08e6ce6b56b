#!/usr/bin/env bash
# Black-box tests of the mlops command.
set -uo pipefail
mlops=$1 data=$2 work=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rm -rf "$work"; mkdir -p "$work"; cd "$work"
source "$here/check.sh"  # check, expect_error (errors: one line on stderr, never a signal)

# train, text and JSON
out=$("$mlops" train "$data" --target price --impute median --iqr 1.5 --standardize --model linear \
      --test-size 0.2 --seed 42 --out m.mlops 2>&1); rc=$?
check "train exits 0 ($out)" test $rc -eq 0
check "train prints test metrics" grep -q "test:  n=" <<<"$out"
check "model written" test -s m.mlops
json=$("$mlops" train "$data" --target price --impute mean --iqr 1.5 --standardize --model ridge --alpha 2 --out r.mlops --json)
check "train --json is JSON with test r2" python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["test"]["r2"] > 0.8, d["test"]; assert d["card"]["model"]["kind"] == "ridge"' <<<"$json"
rj=$("$mlops" train "$data" --target price --impute median --iqr 1.5 --standardize --model rls --forgetting 1 --delta 0.001 --out rls.mlops --json)
check "train --model rls" python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["card"]["model"]["kind"] == "rls" and d["card"]["model"]["solver"] == "recursive_least_squares"; assert d["test"]["r2"] > 0.8, d["test"]' <<<"$rj"
expect_rls_error=$("$mlops" train "$data" --target price --model rls --forgetting 2 --out x.mlops 2>&1 >/dev/null); rc=$?
check "rls bad forgetting is an error ($expect_rls_error)" test $rc -eq 1
gj=$("$mlops" train "$data" --target price --impute median --iqr 1.5 --standardize --model gd --learning-rate 0.3 --epochs 3000 --tol 1e-12 --out gd.mlops --json)
check "train --model gd" python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["optimizer"]["status"] == "converged", d["optimizer"]; assert d["test"]["r2"] > 0.8 and d["card"]["model"]["solver"] == "gradient_descent"' <<<"$gj"
sj=$("$mlops" train "$data" --target price --impute median --iqr 1.5 --standardize --model sgd --batch-size 16 --schedule invscaling --learning-rate 0.05 --power 0.25 --epochs 30 --validation-fraction 0.2 --patience 3 --out sgd.mlops --json)
check "train --model sgd" python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["optimizer"]["status"] in ("early_stopped", "max_epochs", "converged") and d["test"]["r2"] > 0.85, (d["optimizer"], d["test"])' <<<"$sj"
sd=$("$mlops" train "$data" --target price --impute median --standardize --model sgd --out sgd2.mlops --json)
check "--model sgd alone: scikit-learn's SGDRegressor() defaults and stopping rule" python3 -c '
import json,sys; d=json.load(sys.stdin); p=d["card"]["trainer"]["params"]
assert p["schedule"] == "invscaling" and p["power"] == 0.25 and p["l2"] == 1e-4 and p["tol"] == 1e-3 and p["n_iter_no_change"] == 5, p
# scikit-learn 1.2.1 on this split (median imputer, scaler, SGDRegressor(random_state=0..2)): test R2 0.331 .. 0.341 in 8 to 19 epochs
assert d["optimizer"]["status"] == "converged" and d["optimizer"]["epochs"] < 100 and 0.2 < d["test"]["r2"] < 0.5, (d["optimizer"], d["test"])' <<<"$sd"
expect_error "diverging gd" "[train.diverged]" "$mlops" train "$data" --target price --impute median --model gd --learning-rate 1 --epochs 50 --out diverged.mlops
check "a diverged run writes no model" test ! -e diverged.mlops
# same seed -> same model bytes apart from the timestamp: compare coefficients
c1=$("$mlops" inspect m.mlops --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["model"]["coefficients"])')
"$mlops" train "$data" --target price --impute median --iqr 1.5 --standardize --seed 42 --test-size 0.2 --out m2.mlops >/dev/null
c2=$("$mlops" inspect m2.mlops --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["model"]["coefficients"])')
check "same seed, same coefficients" test "$c1" = "$c2"

# predict
"$mlops" predict m.mlops "$data" --out pred.csv; rc=$?
check "predict exits 0" test $rc -eq 0
check "prediction column" grep -q "^area,age,location_score,price,prediction$" <(head -1 pred.csv)
check "one prediction per row" test "$(wc -l < pred.csv)" -eq "$(wc -l < "$data")"
check "predict to stdout" test "$("$mlops" predict m.mlops "$data" | wc -l)" -eq "$(wc -l < "$data")"

# evaluate and inspect
ev=$("$mlops" evaluate m.mlops "$data" --target price --json)
# (the full file includes the mis-keyed x8 prices, hence the modest R2)
check "evaluate --json" python3 -c 'import json,sys; d=json.load(sys.stdin); m=d["metrics"]; assert m["n"] == 1000 and 0 < m["rmse"] and m["r2"] > 0.3, m' <<<"$ev"
insp=$("$mlops" inspect m.mlops)
for s in "target: price" "step impute" "step iqr_filter" "step standardize" "coef area" "intercept" "test.r2" "format 1.2"; do
  check "inspect shows '$s'" grep -qF -- "$s" <<<"$insp"
done
check "inspect --json" python3 -c 'import json,sys; d=json.load(sys.stdin); assert set(d["features"]) == {"area","age","location_score"}' < <("$mlops" inspect m.mlops --json)

# classifiers: labels derived from the price (binary 0/1 and three tiers 0/1/2); price itself is left out
awk -F, 'NR==1{print "area,age,location_score,expensive"; next} $4!=""{print $1","$2","$3","($4 > 250000 ? 1 : 0)}' "$data" > bin.csv
awk -F, 'NR==1{print "area,age,location_score,tier"; next} $4!=""{print $1","$2","$3","($4 > 320000 ? 2 : ($4 > 200000 ? 1 : 0))}' "$data" > tier.csv
lj=$("$mlops" train bin.csv --target expensive --impute median --standardize --model logistic --C 1 --json --out logit.mlops)
check "train --model logistic reports accuracy, f1, roc auc" python3 -c '
import json,sys; d=json.load(sys.stdin); t=d["test"]
assert d["task"] == "classification" and d["optimizer"]["status"] == "converged", d["optimizer"]
assert t["accuracy"] > 0.8 and t["f1"] > 0.8 and t["roc_auc"] > 0.9 and len(t["confusion"]) == 2, t
assert d["card"]["model"]["kind"] == "logistic" and d["card"]["model"]["solver"] == "newton"' <<<"$lj"
# logistic stopping rules as flags: looser --gtol / --ftol stop L-BFGS in fewer iterations
lbj=$("$mlops" train bin.csv --target expensive --impute median --standardize --model logistic --solver lbfgs --json --out lb.mlops)
llj=$("$mlops" train bin.csv --target expensive --impute median --standardize --model logistic --solver lbfgs --gtol 1e-3 --ftol 0.01 \
      --json --out ll.mlops)
check "logistic --gtol/--ftol stop L-BFGS earlier" python3 -c '
import json,sys; a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert a["optimizer"]["status"] == b["optimizer"]["status"] == "converged", (a["optimizer"], b["optimizer"])
assert b["optimizer"]["epochs"] < a["optimizer"]["epochs"], (a["optimizer"], b["optimizer"])
assert b["test"]["accuracy"] > 0.8, b["test"]' "$lbj" "$llj"
vj=$("$mlops" train bin.csv --target expensive --impute median --standardize --model svm --class-weight balanced --json --out svm.mlops)
check "train --model svm" python3 -c '
import json,sys; d=json.load(sys.stdin); t=d["test"]
assert t["accuracy"] > 0.8 and t["roc_auc"] > 0.9 and t["log_loss"] is None, t
assert d["card"]["model"]["kind"] == "svm"' <<<"$vj"
mj=$("$mlops" train tier.csv --target tier --impute median --standardize --model logistic --solver lbfgs --json --out tier.mlops)
check "multinomial logistic" python3 -c '
import json,sys; d=json.load(sys.stdin); t=d["test"]
assert t["labels"] == [0, 1, 2] and t["accuracy"] > 0.7 and t["roc_auc"] > 0.85, t
assert len(d["card"]["model"]["outputs"]) == 3' <<<"$mj"
"$mlops" predict tier.mlops tier.csv --out tier_pred.csv
check "classifier predictions carry one probability column per class" grep -q "^area,age,location_score,tier,prediction,proba_0,proba_1,proba_2$" <(head -1 tier_pred.csv)
check "predicted labels are the data's labels" python3 -c '
import csv; rows=list(csv.DictReader(open("tier_pred.csv")))
assert {r["prediction"] for r in rows} <= {"0", "1", "2"}
assert all(abs(sum(float(r["proba_%d" % k]) for k in range(3)) - 1) < 1e-9 for r in rows)'
ce=$("$mlops" evaluate logit.mlops bin.csv --target expensive --json)
check "evaluate a classifier" python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["task"] == "classification" and d["metrics"]["accuracy"] > 0.8' <<<"$ce"
check "inspect a classifier" grep -q "output for class 1" <("$mlops" inspect logit.mlops)
awk -F, 'NR==1 || $4==1' tier.csv > one_class.csv
expect_error "a missing value names its column (--impute none)" "column 'area'" "$mlops" train bin.csv --target expensive --model logistic --impute none --out x.mlops
lj=$("$mlops" train bin.csv --target expensive --model logistic --out xi.mlops --json); rc=$?
check "without --impute, missing values are imputed and said so ($rc)" python3 -c '
import json,sys; d=json.load(sys.stdin); a=[x for x in d["auto"] if x["column"] == "area"]
assert a and a[0]["action"] == "imputed" and d["card"]["steps"][0]["step"] == "impute", d["auto"]' <<<"$lj"
expect_error "one class" "[data.single_class]" "$mlops" train one_class.csv --target tier --model logistic --impute mean --out x.mlops
awk -F, 'NR==1{print "a,label"; next} $1!="" && $1!="NA"{print $1","($1 > 150 ? 1 : 0)}' bin.csv > separable.csv
expect_error "separable without a penalty" "[train.separable]" "$mlops" train separable.csv --target label --model logistic --C inf --out x.mlops

# model selection: train --cv, tune
cvj=$("$mlops" train "$data" --target price --impute median --iqr 1.5 --standardize --model ridge --alpha 1 --cv 4 --threads 2 --out cv.mlops --json)
check "train --cv K reports per-fold and mean/std metrics" python3 -c '
import json,sys; d=json.load(sys.stdin); cv=d["cv"]
assert cv["k"] == 4 and len(cv["folds"]) == 4, cv
assert sum(f["test_rows"] for f in cv["folds"]) == d["rows"]["train"]
for m in ("r2", "rmse", "mae", "mse"):
    vals = [f["test"][m] for f in cv["folds"]]
    assert abs(cv["mean"][m] - sum(vals) / 4) < 1e-9 * max(1, abs(cv["mean"][m])), m
    assert cv["std"][m] >= 0' <<<"$cvj"
check "train --cv stores the cv means with the model" grep -q "cv.r2" <("$mlops" inspect cv.mlops)
cvt=$("$mlops" train "$data" --target price --impute median --standardize --cv 3 --out cv2.mlops)
check "train --cv prints the fold table" grep -q "3-fold cross-validation" <<<"$cvt"
tj=$("$mlops" tune "$data" --target price --impute median --iqr 1.5 --standardize --model ridge \
     --grid model.alpha=0.01,1,100 --grid iqr.k=1.5,3 --cv 3 --metric rmse --threads 2 --out tuned.mlops --json)
check "tune: every candidate, best by rmse, refit saved" python3 -c '
import json,sys; d=json.load(sys.stdin); s=d["search"]
assert len(s["candidates"]) == 6 and s["metric"] == "rmse" and not s["greater_is_better"]
best = min(s["candidates"], key=lambda c: c["mean"]["rmse"])
assert s["candidates"][s["best"]]["params"] == best["params"] == s["best_params"], s["best_params"]
assert sorted(c["rank"] for c in s["candidates"]) == list(range(1, 7))
assert all(len(c["folds"]) == 3 for c in s["candidates"])
assert d["model"] == "tuned.mlops" and d["test"]["r2"] > 0.8' <<<"$tj"
check "tune wrote the refitted best" test -s tuned.mlops
tt=$("$mlops" tune "$data" --target price --impute mean --model sgd --batch-size 8 --epochs 20 --grid model.learning_rate=0.001,0.01 --cv 3)
check "tune prints the ranking and the best" grep -q "best: model.learning_rate=" <<<"$tt"
lt=$("$mlops" tune bin.csv --target expensive --impute mean --standardize --model logistic --grid model.C=0.01,1 --metric roc_auc --json)
check "tune a classifier by roc_auc (stratified folds)" python3 -c '
import json,sys; d=json.load(sys.stdin); s=d["search"]; assert d["task"] == "classification" and s["metric"] == "roc_auc"
assert all(c["mean"]["roc_auc"] is not None for c in s["candidates"])' <<<"$lt"
# decision trees: a regression tree and a classification tree, inspected, predicted, tuned
trj=$("$mlops" train "$data" --target price --impute median --model tree --max-depth 4 --min-samples-leaf 5 --json --out tree.mlops)
check "train --model tree" python3 -c '
import json,sys; d=json.load(sys.stdin); m=d["card"]["model"]
assert m["kind"] == "tree" and m["depth"] <= 4 and m["leaves"] <= 16 and m["min_samples_leaf"] == 5, m
assert abs(sum(m["feature_importances"].values()) - 1) < 1e-9 and d["test"]["r2"] > 0.5, d["test"]' <<<"$trj"
tinsp=$("$mlops" inspect tree.mlops)
check "inspect shows the tree" grep -q "model: tree.*depth=" <<<"$tinsp"
check "inspect shows the importances" grep -q "feature_importances:" <<<"$tinsp"
check "predict with a tree" test "$("$mlops" predict tree.mlops "$data" | wc -l)" -eq "$(wc -l < "$data")"
tcj=$("$mlops" train bin.csv --target expensive --impute median --model tree --criterion entropy --max-depth 3 --json --out tc.mlops)
check "train --model tree --criterion entropy: a classifier" python3 -c '
import json,sys; d=json.load(sys.stdin); m=d["card"]["model"]
assert d["task"] == "classification" and m["kind"] == "tree_classifier" and m["criterion"] == "entropy" and m["classes"] == [0, 1], m
assert d["test"]["accuracy"] > 0.7 and d["test"]["roc_auc"] is not None, d["test"]' <<<"$tcj"
tpj=$("$mlops" train bin.csv --target expensive --impute median --model tree_classifier --param max_features=sqrt --param criterion=entropy --json --out tp.mlops)
check "--model tree_classifier with --param by name" python3 -c '
import json,sys; d=json.load(sys.stdin); m=d["card"]["model"]
assert d["task"] == "classification" and m["kind"] == "tree_classifier" and m["criterion"] == "entropy", m' <<<"$tpj"
expect_error "--param names the trainer's parameters" "max_depth" "$mlops" train "$data" --target price --impute median --model tree --param depth=3 --out x.mlops
check "predict adds tree probabilities" grep -q "proba_1" <(head -1 <("$mlops" predict tc.mlops bin.csv))
ttj=$("$mlops" tune "$data" --target price --impute median --model tree --grid tree.max_depth=1,4 --grid tree.min_samples_leaf=1,20 --cv 3 --json)
check "tune a tree's depth and leaf size" python3 -c '
import json,sys; d=json.load(sys.stdin); s=d["search"]
assert len(s["candidates"]) == 4 and s["best_params"]["tree.max_depth"] != 1, s["best_params"]' <<<"$ttj"
expect_error "tree: a bad max-features" "max_features" "$mlops" train "$data" --target price --impute median --model tree --max-features 7.5 --out x.mlops
expect_error "tune: unknown parameter" "has no parameter 'C'" "$mlops" tune "$data" --target price --impute mean --grid model.C=1,2
expect_error "tune: unknown step" "unknown step 'scaler'" "$mlops" tune "$data" --target price --impute mean --grid scaler.k=1
expect_error "tune: bad grid syntax" "NAME=V1,V2" "$mlops" tune "$data" --target price --impute mean --grid alpha
expect_error "tune: unknown metric" "unknown regression metric 'accuracy'" "$mlops" tune "$data" --target price --impute mean --grid model.alpha=1 --metric accuracy

# the registry
rg=$("$mlops" train "$data" --target price --impute median --standardize --model ridge --register price --registry reg --json)
check "train --register (no --out) registers version 1" python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["registered"]["version"] == 1 and d["model"] is None, d.get("registered")' <<<"$rg"
"$mlops" train "$data" --target price --impute median --iqr 1.5 --standardize --model ridge --register price --registry reg --out reg2.mlops >/dev/null
check "train --register with --out writes both" test -s reg2.mlops
rl=$("$mlops" registry list price --registry reg --json)
check "registry list NAME --json" python3 -c 'import json,sys; d=json.load(sys.stdin); assert [v["version"] for v in d] == [1, 2]; assert d[1]["parent"] == 1 and d[1]["parameters"]["iqr"] == "1.5" and len(d[1]["data_fingerprint"]) == 16' <<<"$rl"
check "registry list (models)" grep -q "price.*2 version" <("$mlops" registry list --registry reg)
check "registry promote" grep -q "production -> version 1" <("$mlops" registry promote price 1 production --registry reg)
"$mlops" registry promote price 2 production --registry reg >/dev/null
rs=$("$mlops" registry show price production --registry reg --json)
check "registry show ALIAS --json" python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["version"] == 2 and d["aliases"] == ["production"] and "test.r2" in d["metrics"]' <<<"$rs"
check "registry show VERSION (text)" grep -q "price version 1" <("$mlops" registry show price 1 --registry reg)
rc_=$("$mlops" registry compare price 1 2 --registry reg --json)
check "registry compare --json" python3 -c '
import json,sys; d=json.load(sys.stdin); assert d["a"] == 1 and d["b"] == 2 and d["same_schema"]
assert [p["parameter"] for p in d["parameters"]] == ["iqr"]
r2 = [m for m in d["metrics"] if m["metric"] == "test.r2"][0]; assert abs(r2["delta"] - (r2["b"] - r2["a"])) < 1e-12' <<<"$rc_"
rr=$("$mlops" registry rollback price production --registry reg --json)
check "registry rollback --json" python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["version"] == 1 and d["previous"] == 2' <<<"$rr"
rh=$("$mlops" registry history price production --registry reg --json)
check "registry history --json" python3 -c 'import json,sys; d=json.load(sys.stdin); assert [e["action"] for e in d] == ["promote", "promote", "rollback"]; assert [e["version"] for e in d] == [1, 2, 1]' <<<"$rh"
check "registry history (text)" grep -q "rollback 2 -> 1" <("$mlops" registry history price production --registry reg)
expect_error "rollback without a previous holder" "[registry.alias]" "$mlops" registry rollback price production --registry reg
expect_error "unknown model" "[registry.not_found]" "$mlops" registry show nope 1 --registry reg
expect_error "unknown version" "has no version 9" "$mlops" registry promote price 9 production --registry reg
expect_error "a name that escapes" "[registry.bad_name]" "$mlops" train "$data" --target price --impute mean --register ../escape --registry reg
check "nothing written outside the registry" test ! -e escape
expect_error "train needs --out or --register" "--out MODEL, --register NAME" "$mlops" train "$data" --target price --impute mean
# history.log: a torn last record is cut by the next writer, with a warning; damage in the
# middle is an error naming the line, and nothing is changed.
cp reg/price/history.log history.good
printf '0badc0de {"seq": 4, "al' >> reg/price/history.log
err=$("$mlops" registry promote price 2 production --registry reg 2>&1 >/dev/null); rc=$?
check "a torn history record: promote succeeds ($rc)" test $rc -eq 0
check "a torn history record: the cut is reported ($err)" grep -q "warning: .*cut a torn last record" <<<"$err"
cp history.good reg/price/history.log
python3 - reg/price/history.log <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
second = b.index(b"\n") + 1
b[second + 30] ^= 0x04          # one bit, in the middle of line 2 of 3
open(p, "wb").write(bytes(b))
PY
cp reg/price/history.log history.damaged
expect_error "mid-log damage: show names the line" "history.log line 2" "$mlops" registry show price production --registry reg
expect_error "mid-log damage: promote refuses" "[registry.corrupt]" "$mlops" registry promote price 1 production --registry reg
check "mid-log damage: nothing dropped or appended" cmp -s reg/price/history.log history.damaged
cp history.good reg/price/history.log
(mkdir -p defreg && cd defreg && "$mlops" train "$data" --target price --impute mean --register p >/dev/null && test -s models/p/v000001.json)
check "the default registry is ./models" test $? -eq 0

printf 'a,b\n1,2\n3\n' > ragged.csv
printf 'a,b\n1,x\n' > text.csv
printf 'garbage' > bad.mlops
head -c 100 m.mlops > trunc.mlops
printf 'area,age\n1,2\n' > missing_col.csv
expect_error "ragged csv" "ragged.csv:3" "$mlops" train ragged.csv --target b --out x.mlops
expect_error "a text target is refused" "target 'b' was read as categorical" "$mlops" train text.csv --target b --out x.mlops
expect_error "unknown target" "no column named 'nope'" "$mlops" train "$data" --target nope --out x.mlops
expect_error "missing data file" "cannot open" "$mlops" predict m.mlops nonexistent.csv
expect_error "not a model" "format.bad_magic" "$mlops" inspect bad.mlops
expect_error "truncated model" "format." "$mlops" inspect trunc.mlops
expect_error "missing feature column" "location_score" "$mlops" predict m.mlops missing_col.csv
expect_error "wrong target" "differs" "$mlops" evaluate m.mlops "$data" --target area
"$mlops" train "$data" --target price --model nonsense --out x.mlops >/dev/null 2>&1; rc=$?
check "bad flag value is a usage error" test $rc -ne 0 -a $rc -lt 128
check "failed runs wrote no model" test ! -e x.mlops

# monitor: replay a stream through the model's drift monitor
"$mlops" train "$data" --target price --impute median --standardize --model ridge --out mon.mlops >/dev/null
mt=$("$mlops" monitor mon.mlops "$data" --window 200); rc=$?
check "monitor exits 0 on the training data ($mt)" test $rc -eq 0
check "monitor prints the table" grep -q "location_score" <<<"$mt"
check "monitor: no retrain on the training data" grep -q "retrain recommended: no" <<<"$mt"
# A drifted stream: every area doubled, ages missing half the time.
python3 - "$data" <<'PY' > drifted.csv
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
print(",".join(rows[0]))
for i, r in enumerate(rows[1:]):
    try: r[0] = str(float(r[0]) * 2)
    except ValueError: pass  # NA stays missing
    if i % 2: r[1] = ""
    print(",".join(r))
PY
mj=$("$mlops" monitor mon.mlops drifted.csv --window 500 --json --alerts); rc=$?
check "monitor --json exits 0" test $rc -eq 0
check "monitor --json: area and age drift, retrain recommended" python3 -c '
import json,sys; d=json.load(sys.stdin); f={c["name"]: c for c in d["features"]}
assert f["area"]["level"] == "critical" and f["area"]["psi"] > 0.25, f["area"]
assert f["age"]["missing_rate"] > 0.4 and f["age"]["level"] == "critical", f["age"]
assert f["location_score"]["level"] == "ok", f["location_score"]
assert d["retrain_recommended"] is True and d["dataset"]["drifted_features"] == 2
assert any(a["feature"] == "area" and a["level"] == "critical" for a in d["alerts_fired"])
assert d["observed"] == 1000 and d["window"]["rows"] == 500' <<<"$mj"
mp=$("$mlops" monitor mon.mlops drifted.csv --window 500 --prometheus)
check "monitor --prometheus: gauges per feature" grep -q '^mlops_drift_psi{model="mon",feature="area"} [0-9.]*$' <<<"$mp"
check "monitor --prometheus: TYPE lines" grep -q '^# TYPE mlops_drift_retrain_recommended gauge$' <<<"$mp"
"$mlops" monitor mon.mlops drifted.csv --window 500 --on-alert 'cat >> hooks.jsonl' >/dev/null; rc=$?
check "monitor --on-alert exits 0" test $rc -eq 0
check "monitor --on-alert: one JSON line per alert" python3 -c '
import json
lines = [json.loads(l) for l in open("hooks.jsonl")]
assert lines and all(l["event"] == "alert" and l["model"] == "mon" and l["level"] in ("warning", "critical") for l in lines), lines'
err=$("$mlops" monitor mon.mlops drifted.csv --window 500 --on-alert 'exit 7' 2>&1 >/dev/null); rc=$?
check "a failing --on-alert command does not change the exit status" test $rc -eq 0
check "a failing --on-alert command is reported ($err)" grep -q "exited with status 7" <<<"$err"
"$mlops" monitor mon.mlops drifted.csv --window 500 --fail-on-drift >/dev/null; rc=$?
check "monitor --fail-on-drift exits 3 on drift" test $rc -eq 3
"$mlops" monitor mon.mlops "$data" --window 500 --state st.bin >/dev/null
sj=$("$mlops" monitor mon.mlops "$data" --window 500 --state st.bin --json)
check "monitor --state resumes (2000 rows observed)" python3 -c 'import json,sys; assert json.load(sys.stdin)["observed"] == 2000' <<<"$sj"
expect_error "monitor --state of another window" "[schema.mismatch]" "$mlops" monitor mon.mlops "$data" --window 250 --state st.bin
"$mlops" train "$data" --target price --impute median --bins 0 --out noprof.mlops >/dev/null
expect_error "monitor needs a drift profile" "no drift profile" "$mlops" monitor noprof.mlops "$data"
expect_error "monitor: missing feature column" "location_score" "$mlops" monitor mon.mlops missing_col.csv

# real-world tables: a pandas index, a text column, a date column, ';' as delimiter
python3 - "$data" > tables.csv <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
print(";" + ";".join(["city"] + rows[0] + ["sold"]))
for i, r in enumerate(rows[1:]):
    print(";".join([str(i), ["Lyon", "Paris", "Nantes"][i % 3]] + r + ["2021-%02d-%02d" % (i % 12 + 1, i % 28 + 1)]))
PY
# No step flag: the text column is one-hot encoded, the date expanded, gaps imputed,
# identifiers and empty columns left out; each choice printed once and kept in the card.
python3 - tables.csv > auto.csv <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines()
print(lines[0] + ";seller;notes")
for i, l in enumerate(lines[1:]):
    print(l + ";agent %d;" % i)
PY
aut=$("$mlops" train auto.csv --target price --out auto.mlops); rc=$?
check "train with --target alone on text, dates, gaps, an identifier and an empty column ($rc)" test $rc -eq 0
check "it says it one-hot encoded city ($aut)" grep -q "^auto: 'city' one-hot: 3 level(s)" <<<"$aut"
check "it says it expanded sold (no yearday, timestamp: collinear with the year)" grep -q "^auto: 'sold' date parts: datetime input expanded into year, month, day, weekday (" <<<"$aut"
check "it says it left out the identifier, with the flag to keep it" grep -q "^auto: 'seller' left out: looks like an identifier.*--keep seller" <<<"$aut"
check "it says it left out the empty column" grep -q "^auto: 'notes' left out: no value in any of the" <<<"$aut"
check "the card records the choices" python3 -c '
import json,sys; c=json.load(sys.stdin); n=c["notes"]
assert n["auto.city"].startswith("one-hot") and n["auto.seller"].startswith("left out") and n["auto.notes"].startswith("left out"), n
assert "seller" not in c["features"] and "notes" not in c["features"] and "city_Lyon" in c["design"], c["features"]' < <("$mlops" inspect auto.mlops --json)
aj=$("$mlops" train auto.csv --target price --encode none --date-features none --out auto2.mlops --json); rc=$?
check "--encode none --date-features none: those columns left out ($rc)" python3 -c '
import json,sys; d=json.load(sys.stdin); a={x["column"]: x["action"] for x in d["auto"]}
assert a["city"] == "left out" and a["sold"] == "left out" and a["notes"] == "left out", a
assert "city" not in d["card"]["features"] and "sold" not in d["card"]["features"], d["card"]["features"]' <<<"$aj"
kj=$("$mlops" train auto.csv --target price --keep seller --max-categories 4 --out auto3.mlops --json); rc=$?
check "--keep seller --max-categories 4: the identifier used, its rare levels grouped ($rc)" python3 -c '
import json,sys; d=json.load(sys.stdin); c=d["card"]
assert "seller" in c["features"] and "seller_infrequent" in c["design"] and len([x for x in c["design"] if x.startswith("seller_")]) == 4, c["design"]' <<<"$kj"
python3 - auto.csv > cat_drift.csv <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines()
print(lines[0])
for i, l in enumerate(lines[1:]):
    f = l.split(";")
    f[1] = "Rennes" if i % 10 == 0 else "Paris"
    print(";".join(f))
PY
cm=$("$mlops" monitor auto.mlops cat_drift.csv --window 100 --json); rc=$?
check "monitor watches a text input per level: unseen share, chi-square, the level that moved ($rc)" python3 -c '
import json,sys; d=json.load(sys.stdin); c=[f for f in d["features"] if f["name"] == "city"][0]; lv=c["levels"]
assert abs(lv["unseen_rate"] - 0.1) < 0.02 and lv["chi2_p"] < 1e-6 and lv["chi2_df"] == 2 and lv["moved"][0]["level"] == "Paris", lv
assert c["level"] == "critical" and c["ks"] is None, c' <<<"$cm"
cmt=$("$mlops" monitor auto.mlops cat_drift.csv --window 100)
check "the table names the levels that moved" grep -q "levels: chi2 .*'Paris' 0.3[0-9]* -> 0.9" <<<"$cmt"
tsj=$("$mlops" train auto.csv --target price --time-col sold --cv 3 --out ts.mlops --json); rc=$?
check "--time-col: the past trains, the future is held out, folds are expanding windows ($rc)" python3 -c '
import json,sys; d=json.load(sys.stdin); s=d["split"]
assert s["kind"] == "time" and s["time_col"] == "sold" and s["train_until"] <= s["test_from"], s
assert len(d["cv"]["folds"]) == 3 and d["cv"]["folds"][0]["rows_used"] < d["cv"]["folds"][2]["rows_used"], d["cv"]["folds"]' <<<"$tsj"
check "train prints the time cut" grep -q "split by time on 'sold': trained up to 20" < <("$mlops" train auto.csv --target price --split time --time-col sold --out ts.mlops)
expect_error "--split time without --time-col" "needs --time-col" "$mlops" train auto.csv --target price --split time --out x.mlops
expect_error "a text time column" "is text" "$mlops" train auto.csv --target price --time-col city --out x.mlops
"$mlops" monitor ts.mlops auto.csv --time-col sold --window 100 >/dev/null; rc=$?
check "monitor --time-col replays in time order ($rc)" test $rc -eq 0
expect_error "--keep an unknown column" "nope" "$mlops" train auto.csv --target price --keep nope --out x.mlops
expect_error "--date-features none with parts" "cannot be given with parts" "$mlops" train auto.csv --target price --date-features none,month --out x.mlops
tj=$("$mlops" train tables.csv --target price --impute median --drop sold --id city --out t.mlops --json); rc=$?
check "train --drop --id on a ';' file with a pandas index ($rc)" test $rc -eq 0
check "features exclude the id, the dropped and the index columns" python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["card"]["features"] == ["area","age","location_score"], d["card"]["features"]; assert d["test"]["r2"] > 0.3' <<<"$tj"
"$mlops" train tables.csv --target price --impute median --delimiter ';' --features area,age --out t2.mlops >/dev/null; rc=$?
check "train --delimiter ';' --features area,age" test $rc -eq 0
check "--features picks exactly those" python3 -c 'import json,sys; assert json.load(sys.stdin)["features"] == ["area","age"]' < <("$mlops" inspect t2.mlops --json)
ej=$("$mlops" train tables.csv --target price --impute median --encode onehot --date-features month,weekday --out enc.mlops --json); rc=$?
check "train --encode onehot --date-features on the file as it comes ($rc)" python3 -c '
import json,sys; d=json.load(sys.stdin); c=d["card"]
assert c["features"] == ["Unnamed: 0","city","area","age","location_score","sold"] or c["features"] == ["city","area","age","location_score","sold"], c["features"]
assert c["design"][:3] == ["city_Lyon","city_Nantes","city_Paris"], c["design"]
assert "sold_month" in c["design"] and "sold_weekday" in c["design"] and d["test"]["r2"] > 0.2' <<<"$ej"
insp=$("$mlops" inspect enc.mlops)
check "inspect shows input kinds and the encoder's levels" grep -q "input city: categorical (3 levels)" <<<"$insp"
check "inspect shows the levels" grep -q "Lyon, Nantes, Paris" <<<"$insp"
{ head -1 tables.csv; sed -n 2,4p tables.csv | sed 's/;Lyon;/;Rennes;/'; } > unseen.csv
up_err=$("$mlops" predict enc.mlops unseen.csv --id city --out up.csv 2>&1); rc=$?
check "predict with a level never seen in training ($rc)" test "$(sed -n 2p up.csv | cut -d, -f1)" = "Rennes"
check "predict names the unseen level and its rows ($up_err)" grep -q "row(s) hold levels of 'city' not seen in training, predicted as no level: 'Rennes' (" <<<"$up_err"
oj=$("$mlops" train tables.csv --target price --impute median --encode ordinal --date-features all --drop sold --out ord.mlops --json 2>&1); rc=$?
check "train --encode ordinal ($rc)" python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["card"]["steps"][0]["step"] == "ordinal" and d["card"]["inputs"][0] == {"name": "city", "kind": "categorical", "levels": 3}, d["card"]["inputs"]' <<<"$oj"
"$mlops" predict ord.mlops unseen.csv --id city --out op.csv; rc=$?
check "predict through the ordinal encoder, an unseen level included ($rc)" test "$(wc -l < op.csv)" -eq 4
expect_error "--date-features with an unknown part" "unknown date part 'week'" "$mlops" train tables.csv --target price --encode onehot --date-features week --out x.mlops
python3 - > penguins.csv <<'PY'
import random
r = random.Random(3)
print("bill,flipper,species")
for i in range(300):
    k = i % 3
    print(f"{38 + 5 * k + r.random() * 2:.2f},{190 + 10 * (k == 0) + r.random() * 3:.2f},{['Gentoo', 'Adelie', 'Chinstrap'][k]}")
PY
pj=$("$mlops" train penguins.csv --target species --model logistic --standardize --out peng.mlops --json); rc=$?
check "train a classifier on a text target ($rc)" python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["card"]["class_labels"] == ["Adelie","Chinstrap","Gentoo"] and d["test"]["accuracy"] > 0.9, d["test"]' <<<"$pj"
"$mlops" predict peng.mlops penguins.csv --out pp.csv; rc=$?
check "predict writes the labels and proba_<label> columns ($rc)" test "$(head -1 pp.csv):$(sed -n 2p pp.csv | cut -d, -f4)" = "bill,flipper,species,prediction,proba_Adelie,proba_Chinstrap,proba_Gentoo:Gentoo"
check "evaluate on a text target" python3 -c 'import json,sys; assert json.load(sys.stdin)["metrics"]["accuracy"] > 0.9' < <("$mlops" evaluate peng.mlops penguins.csv --target species --json)
check "evaluate names the classes in the confusion matrix" grep -q "rows: true Adelie, Chinstrap, Gentoo" < <("$mlops" evaluate peng.mlops penguins.csv --target species)
check "evaluate --json gives the label names" python3 -c 'import json,sys; assert json.load(sys.stdin)["metrics"]["label_names"] == ["Adelie","Chinstrap","Gentoo"]' < <("$mlops" evaluate peng.mlops penguins.csv --target species --json)
check "inspect names the classes" grep -q "class labels: Adelie, Chinstrap, Gentoo" < <("$mlops" inspect peng.mlops)
expect_error "a text target needs a classifier" "a regressor needs a numeric target" "$mlops" train penguins.csv --target species --out x.mlops
expect_error "--delimiter must be one character" "--delimiter" "$mlops" train tables.csv --target price --delimiter ';;' --out x.mlops
# Files as shipped: scikit-learn's count line, comment lines, single-quoted names.
{ echo "300,2,Adelie,Chinstrap,Gentoo"; tail -n +2 penguins.csv | sed 's/,Gentoo$/,2/; s/,Adelie$/,0/; s/,Chinstrap$/,1/'; } > counted.csv
expect_error "a count line is named with the flags to use" "--skip-rows 1" "$mlops" train counted.csv --target column_2 --out x.mlops
cj=$("$mlops" train counted.csv --skip-rows 1 --no-header --target column_2 --standardize --out counted.mlops --json); rc=$?
check "train --skip-rows 1 --no-header on a count-line file ($rc)" python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["rows"]["total"] == 300 and d["card"]["features"] == ["column_0","column_1"], d["rows"]' <<<"$cj"
{ echo "# exported 2026-12-07"; sed "s/^bill,flipper,species$/'bill','flipper','species'/" penguins.csv | sed '5i # a note'; } > commented.csv
kj=$("$mlops" train commented.csv --comment '#' --quote "'" --target species --model logistic --out commented.mlops --json); rc=$?
check "train --comment '#' --quote \"'\" ($rc)" python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["rows"]["total"] == 300 and d["card"]["features"] == ["bill","flipper"], (d["rows"], d["card"]["features"])' <<<"$kj"
expect_error "--comment must be one character" "--comment" "$mlops" train commented.csv --target species --comment '##' --out x.mlops
"$mlops" predict t.mlops tables.csv --id city --out tp.csv; rc=$?
check "predict --id writes the id beside the prediction" test "$rc:$(head -1 tp.csv)" = "0:city,prediction"
check "predict --id keeps every row and the texts" test "$(sed -n 3p tp.csv | cut -d, -f1):$(wc -l < tp.csv)" = "Paris:1001"
z=$("$mlops" train "$data" --target price --impute median --test-size 0 --out z.mlops --json); rc=$?
check "--test-size 0 trains on every row ($rc)" python3 -c '
import json,sys; d=json.load(sys.stdin)
assert d["rows"]["train"] == 1000 and d["rows"]["test"] == 0 and d["test"] is None, d["rows"]
t=d["train"]; assert t["max_error"] > 0 and t["explained_variance"] > 0.1 and t["mape"] > 0, t' <<<"$z"
check "--test-size 0: no test metrics in the model" python3 -c 'import json,sys; m=json.load(sys.stdin)["metrics"]; assert "test.r2" not in m and m["split.test_size"] == 0, m' < <("$mlops" inspect z.mlops --json)
expect_error "--test-size 1 is refused" "below 1" "$mlops" train "$data" --target price --test-size 1 --out x.mlops
{ head -1 "$data"; tail -n +2 "$data" | head -60; echo "1.0,2.0,3.0,oops"; } > stray.csv
err=$("$mlops" train stray.csv --target price --out x.mlops 2>&1 >/dev/null)
check "a stray text in a number column names line, value and the way out ($err)" grep -q "stray.csv:62:4: column 'price': cannot read 'oops'.*--categorical price" <<<"$err"
"$mlops" train stray.csv --target price --impute median --na oops --out x.mlops >/dev/null; rc=$?
check "--na makes the stray text missing ($rc)" test $rc -eq 0

mm=$("$mlops" train "$data" --target price --impute median --minmax --out mm.mlops --json); rc=$?
check "train --minmax ($rc)" python3 -c 'import json,sys; d=json.load(sys.stdin); s=[x["step"] for x in d["card"]["steps"]]; assert s == ["impute","minmax"], s; c=d["card"]["steps"][1]["columns"]["area"]; assert c["data_min"] < c["data_max"]' <<<"$mm"
check "inspect shows the minmax step" grep -q "step minmax: clip=false hi=1.0 lo=0.0" < <("$mlops" inspect mm.mlops)
tj=$("$mlops" tune "$data" --target price --impute median --minmax --grid minmax.hi=1,10 --cv 3 --json); rc=$?
check "tune --grid minmax.hi ($rc)" python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d["search"]["candidates"]) == 2' <<<"$tj"

# Standard output is checked: writing to a full device is an error, never exit 0.
if [[ -w /dev/full ]]; then
  "$mlops" train "$data" --target price --impute median --register price --registry fullreg >/dev/null
  "$mlops" train "$data" --target price --impute mean --register price --registry fullreg >/dev/null
  "$mlops" registry promote price 1 production --registry fullreg >/dev/null
  readers=("inspect m.mlops" "inspect m.mlops --json" "predict m.mlops $data" "evaluate m.mlops $data --target price"
           "monitor mon.mlops drifted.csv --json" "monitor mon.mlops drifted.csv" "registry list --registry reg"
           "registry list price --registry fullreg" "registry show price production --registry fullreg"
           "registry compare price 1 2 --registry fullreg --json" "registry history price production --registry fullreg"
           "train $data --target price --impute median --out full_t.mlops" "train $data --target price --impute median --out full_t.mlops --json"
           "tune $data --target price --impute median --model ridge --grid model.alpha=1,10 --cv 2" "--help" "train --help" "--version")
  if "$mlops" --help | grep -q keygen; then
    "$mlops" keygen fullkey >/dev/null && "$mlops" sign m.mlops --key fullkey.key >/dev/null
    readers+=("verify m.mlops --trusted-key fullkey.pub")
  fi
  for cmdline in "${readers[@]}"; do
    # shellcheck disable=SC2086
    err=$("$mlops" $cmdline 2>&1 >/dev/full); rc=$?
    if [[ $rc -eq 1 && "$err" == *"writing to standard output failed"* ]]; then ok; else bad "'mlops $cmdline > /dev/full' exits 1 naming the failure (rc=$rc: $err)"; fi
  done
else
  echo "SKIP: /dev/full is not writable here"
fi

# Unix conventions: "-" is standard input (data) and standard output (--out); pipes and
# process substitution work as inputs; `mlops` alone prints the usage; an unknown command
# is named; --json errors are JSON; error text never carries raw control characters.
p_file=$("$mlops" predict m.mlops "$data" --id area | md5sum)
p_stdin=$("$mlops" predict m.mlops - --id area < "$data" | md5sum)
check "predict reads - as standard input" test "$p_file" = "$p_stdin"
p_subst=$("$mlops" predict m.mlops <(cat "$data") --id area | md5sum)
check "predict reads a process substitution (a pipe)" test "$p_subst" = "$p_file"
p_dash=$("$mlops" predict m.mlops "$data" --id area --out - | md5sum)
check "predict --out - is standard output" test "$p_dash" = "$p_file"
cat "$data" | "$mlops" train - --target price --impute median --standardize --out - > piped.mlops 2> piped.err; rc=$?
check "train - --out -: exits 0 ($rc)" test $rc -eq 0
"$mlops" inspect piped.mlops >/dev/null; rc=$?
check "train --out -: the model on stdout ($rc)" test $rc -eq 0
check "train --out -: the report on stderr" grep -q "wrote the model to standard output" piped.err
check "no file named -" test ! -e ./-
"$mlops" > usage.out 2> usage.err; rc=$?
check "mlops alone prints the usage and exits 2 ($rc)" bash -c "[[ $rc -eq 2 ]] && grep -q 'Subcommands' usage.out"
expect_error "an unknown command is named" "unknown command 'bogus'" "$mlops" bogus
err=$("$mlops" inspect nonexistent.mlops --json 2>&1 >/dev/null); rc=$?
check "--json: the error is a JSON object ($rc: $err)" python3 -c 'import json,sys; d=json.load(sys.stdin)["error"]; assert d["id"] == "io.failed" and "nonexistent.mlops" in d["message"], d' <<<"$err"
err=$("$mlops" train "$data" --target nope --out x.mlops --json 2>&1 >/dev/null)
check "--json: a data error too" python3 -c 'import json,sys; d=json.load(sys.stdin)["error"]; assert d["id"] == "schema.missing_column", d' <<<"$err"
err=$("$mlops" train "$data" --target price --bogus-flag --json 2>&1 >/dev/null); rc=$?
check "--json: a usage error too ($rc)" python3 -c 'import json,sys; d=json.load(sys.stdin)["error"]; assert d["id"] == "argument.invalid", d' <<<"$err"
printf 'a,b\r\n1,2\r\n3,x\x1b[2J\r\n' > ctrl.csv
err=$("$mlops" train ctrl.csv --target b --out x.mlops 2>&1 >/dev/null)
check "error text carries no raw control characters" python3 -c 'import sys; t=sys.stdin.read().rstrip("\n"); assert t and all(c >= " " and c != "\x7f" for c in t), repr(t)' <<<"$err"

# Names that could not be written as JSON are refused where they enter, before anything
# is written (no orphan model file in the registry).
printf 'area,pr\xe9is\n1,2\n3,4\n5,7\n' > latin1.csv
expect_error "a column name in Latin-1 is refused at the boundary" "[csv.bad_name]" "$mlops" train latin1.csv --target area --register lat --registry latreg
check "nothing was registered" test ! -e latreg/lat/v000001.mlops
printf 'price\n1\n2\n3\n4\n' > only_target.csv
expect_error "a table of only the target is refused" "no feature columns" "$mlops" train only_target.csv --target price --out x.mlops

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
