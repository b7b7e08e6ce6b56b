#!/usr/bin/env bash
# Runs a ThreadSanitizer test binary. GCC 12's TSan cannot start on kernels that
# randomise mmap with more bits than it expects ("unexpected memory mapping"); then the
# run is repeated with address randomisation off for this process (setarch -R).
set -uo pipefail
out=$("$@" 2>&1); rc=$?
if [[ $rc -ne 0 && "$out" == *"unexpected memory mapping"* ]] && command -v setarch >/dev/null; then
  echo "tsan_run: TSan could not map its shadow memory; retrying with setarch -R"
  out=$(setarch "$(uname -m)" -R "$@" 2>&1); rc=$?
fi
printf '%s\n' "$out"
exit $rc
