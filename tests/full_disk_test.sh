#!/usr/bin/env bash
# A real full disk (issue 19): a small tmpfs, filled page by page, under `mlops train
# --register`, `registry promote`, `train --out` and standard output. Every command
# either commits and exits 0, or changes nothing and exits non-zero, or (the commit point
# passed, a later step failed) exits non-zero saying the change is in effect; the
# registry stays readable, a model file being replaced stays intact, and once space
# returns everything works with no debris left; remounted read-only, the registry still
# reads and refuses writes cleanly. Needs root and permission to mount
# (skipped with a message otherwise).
#   tests/full_disk_test.sh MLOPS DATA.csv WORK_DIR
set -uo pipefail
mlops=$1 data=$2 work=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rm -rf "$work"; mkdir -p "$work"; cd "$work"
source "$here/check.sh"  # check

mkdir -p disk
if [[ $(id -u) -ne 0 ]] || ! mount -t tmpfs -o size=256k,mode=0755 tmpfs disk 2>/dev/null; then
  echo "SKIP: cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN): the full-disk test did not run"
  exit 0
fi
trap 'cd / && umount "$work/disk" 2>/dev/null' EXIT
reg=disk/reg
page=4096

# Models trained once, outside the small disk; registering copies them in.
"$mlops" train "$data" --target price --impute median --standardize --out m1.mlops >/dev/null || exit 1
"$mlops" train "$data" --target price --impute mean --out m2.mlops >/dev/null || exit 1
"$mlops" train "$data" --target price --impute median --register house --registry "$reg" >/dev/null || exit 1
"$mlops" registry promote house 1 production --registry "$reg" >/dev/null || exit 1
cp m1.mlops disk/keep.mlops

versions() { "$mlops" registry list house --registry "$reg" --json 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null || echo "unreadable"; }
holder() { "$mlops" registry show house production --registry "$reg" --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])' 2>/dev/null || echo "unreadable"; }
# Fills the disk, then frees `pages` pages.
fill_leaving() {
  rm -f disk/filler
  dd if=/dev/zero of=disk/filler bs=$page 2>/dev/null
  local size; size=$(stat -c %s disk/filler)
  truncate -s $(( size > $1 * page ? size - $1 * page : 0 )) disk/filler
}

for pages in 0 1 2 3 4 6; do
  fill_leaving "$pages"
  # Register: committed and listed, or nothing changed, or "in effect" said.
  before=$(versions)
  err=$("$mlops" train "$data" --target price --impute median --register house --registry "$reg" 2>&1 >/dev/null); rc=$?
  after=$(versions)
  if [[ $rc -eq 0 ]]; then
    check "register with $pages free pages: exit 0 and listed ($before -> $after)" test "$after" = $((before + 1))
  elif [[ "$err" == *"in effect"* ]]; then
    check "register with $pages free pages: 'in effect' and listed ($before -> $after: $err)" test "$after" = $((before + 1))
  else
    check "register with $pages free pages: failed, nothing listed ($before -> $after: $err)" test "$after" = "$before"
    check "register with $pages free pages: one error line naming the failure" bash -c "[[ \$(wc -l <<<\"\$0\") -eq 1 && \"\$0\" == *'[io.failed]'* ]]" "$err"
  fi
  # Promote: the alias moved exactly when it says so.
  want=$(( pages % 2 == 0 ? 1 : 2 ))
  was=$(holder)
  err=$("$mlops" registry promote house "$want" production --registry "$reg" 2>&1 >/dev/null); rc=$?
  now=$(holder)
  if [[ $rc -eq 0 || "$err" == *"in effect"* ]]; then
    check "promote with $pages free pages: moved when it says so ($was -> $now, rc $rc: $err)" test "$now" = "$want"
  else
    check "promote with $pages free pages: failed, alias unchanged ($was -> $now: $err)" test "$now" = "$was"
  fi
  # Replacing a model file: done, or the old one intact.
  "$mlops" train "$data" --target price --impute mean --out disk/keep.mlops >/dev/null 2>&1; rc=$?
  "$mlops" inspect disk/keep.mlops >/dev/null 2>&1; rc2=$?
  check "--out with $pages free pages: the file at the path is a whole model (save rc $rc)" test $rc2 -eq 0
  check "the registry stays readable with $pages free pages" test "$(versions)" != unreadable
done

# Standard output onto the full disk: exit 1, never 0.
fill_leaving 0
"$mlops" predict m1.mlops "$data" > disk/pred.csv 2> pred.err; rc=$?
check "predict > full disk: exit 1 naming the failure (rc $rc)" bash -c "[[ $rc -eq 1 ]] && grep -q 'writing to standard output failed' pred.err"

# Space returns: everything works, no temporary files or orphans are left behind.
rm -f disk/filler disk/pred.csv
before=$(versions)
"$mlops" train "$data" --target price --impute median --register house --registry "$reg" >/dev/null; rc=$?
check "after space returns: register works ($rc)" test $rc -eq 0 -a "$(versions)" = $((before + 1))
"$mlops" registry promote house 1 production --registry "$reg" >/dev/null; rc=$?
check "after space returns: promote works ($rc)" test $rc -eq 0
debris=$(find disk -name '.*.tmp.*' | wc -l)
check "no temporary files left ($debris)" test "$debris" -eq 0
orphans=$(for f in "$reg"/house/v*.mlops; do [[ -e "${f%.mlops}.json" ]] || echo "$f"; done | wc -l)
check "no model file without its metadata ($orphans)" test "$orphans" -eq 0

# A read-only registry (the same tmpfs remounted read-only): readers work, writers fail
# with one error line and change nothing.
if mount -o remount,ro "$work/disk" 2>/dev/null; then
  n=$(versions); h=$(holder)
  check "read-only: registry list works ($n)" test "$n" != unreadable
  "$mlops" registry show house production --registry "$reg" >/dev/null; rc=$?
  check "read-only: registry show works ($rc)" test $rc -eq 0
  "$mlops" predict disk/keep.mlops "$data" >/dev/null; rc=$?
  check "read-only: a model file there predicts ($rc)" test $rc -eq 0
  err=$("$mlops" registry promote house 2 production --registry "$reg" 2>&1 >/dev/null); rc=$?
  check "read-only: promote fails with one line ($rc: $err)" bash -c "[[ $rc -eq 1 && \$(wc -l <<<\"\$0\") -eq 1 ]]" "$err"
  check "read-only: the alias did not move" test "$(holder)" = "$h"
  "$mlops" train "$data" --target price --impute median --register house --registry "$reg" >/dev/null 2>&1; rc=$?
  check "read-only: register fails, nothing listed ($rc)" test $rc -ne 0 -a "$(versions)" = "$n"
else
  echo "SKIP: cannot remount the tmpfs read-only: the read-only registry check did not run"
fi

echo "full disk: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
