# Sourced by the shell tests: counters and the check helpers they share.
#   check WHAT COMMAND...       passes when COMMAND succeeds
#   expect_error WHAT PATTERN COMMAND...
#                               passes when COMMAND fails (not by a signal) with one line on
#                               stderr containing PATTERN
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }
check() { local what=$1; shift; if "$@"; then ok; else bad "$what"; fi; }
expect_error() {
  local what=$1 pattern=$2; shift 2
  local err rc
  err=$("$@" 2>&1 >/dev/null); rc=$?
  if [[ $rc -ne 0 && $rc -lt 128 && $(wc -l <<<"$err") -eq 1 && "$err" == *"$pattern"* ]]; then ok
  else bad "$what: rc=$rc stderr='$err'"; fi
}
