#!/usr/bin/env bash
# Runs the demo and checks what it promises: every step printed, bit-identical reload, an SVG,
# no drift on the data itself and a flagged drift on the shifted copy.
set -euo pipefail
demo=$1 data=$2 out=$3
rm -rf "$out"
log=$("$demo" "$data" "$out")
fail() { echo "FAIL: $*"; echo "$log"; exit 1; }
for s in "== 1. Load" "missing values per column" "IQR filter (k=1.5)" "dropped" "standardize:" "intercept" \
         "test:  n=" "bit-identically" "predicted price" "== 8. Watch for drift"; do
  grep -qF -- "$s" <<<"$log" || fail "output lacks '$s'"
done
grep -qE "predicts ([0-9]+) of \1 test rows bit-identically" <<<"$log" || fail "reload is not bit-identical"
r2=$(grep -oE "test:  n=[0-9]+ .* r2=[0-9.]+" <<<"$log" | head -1 | grep -oE "r2=[0-9.]+" | cut -d= -f2)
awk -v r="$r2" 'BEGIN { exit !(r > 0.8) }' || fail "test R2 $r2 is too low"
grep -qE "1000 rows, area x1: area psi 0\.0[0-9]+ \(ok\).*retrain recommended: no" <<<"$log" || fail "drift on unshifted data"
grep -qE "1000 rows, area x1.6: area psi [0-9.]+ \(critical\), age psi [0-9.]+ \(ok\).*retrain recommended: yes" <<<"$log" \
  || fail "the shifted area was not flagged (or age was)"
grep -qF "== 9. Tables as they come" <<<"$log" || fail "no step 9"
grep -qE "city +area +rooms +sold +price" <<<"$log" || fail "step 9 does not show the table"
grep -qF "categorical" <<<"$log" || fail "step 9 does not show the column kinds"
grep -qE "model columns: city_Lille, city_Lyon, city_Nantes, city_Paris, city_Saint-Étienne, city_nan, area, rooms, sold_year, sold_month, sold_day, sold_weekday$" <<<"$log" \
  || fail "step 9's model columns"
grep -qF "auto: 'city' one-hot: 5 level(s)" <<<"$log" || fail "step 9 does not say how it encoded city"
grep -qF "auto: 'area' imputed:" <<<"$log" || fail "step 9 does not say it imputed area"
r9=$(grep -A1 "model columns:" <<<"$log" | grep -oE "r2=[0-9.]+" | cut -d= -f2)
awk -v r="$r9" 'BEGIN { exit !(r > 0.85) }' || fail "step 9's test R2 $r9 is too low"
grep -qE "predicts ([0-9]+) of \1 test rows bit-identically" <<<"$(grep -A30 'Tables as they come' <<<"$log")" || fail "step 9's reload"
grep -qE "in Paris sold on 2023-07-14 -> predicted price [0-9]+" <<<"$log" || fail "step 9's mixed row"
[[ -s "$out/house_sales.mlops" ]] || fail "no step 9 model file"
[[ -s "$out/house_prices.mlops" ]] || fail "no model file"
head -c 200 "$out/house_prices_scatter.svg" | grep -q "<svg" || fail "no SVG"
[[ $(grep -c "<circle" "$out/house_prices_scatter.svg") -gt 100 ]] || fail "the SVG has too few points"
echo "demo ok (test r2=$r2)"
