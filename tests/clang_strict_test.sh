#!/usr/bin/env bash
# The umbrella header (and the signing header when libsodium is there) under clang with a
# demanding user's warnings, header-only and as a user of mlops::compiled sees it: the
# GCC-built tests cover GCC's warnings, this covers clang's.
#   tests/clang_strict_test.sh CLANGXX INCLUDE_DIR [EXTRA_INCLUDE_DIR...]
set -uo pipefail
cxx=$1; shift
inc=$1; shift
flags=(-std=c++20 -fsyntax-only -Wall -Wextra -Wshadow -Wconversion -Wsign-conversion -Wpedantic -Werror -I"$inc")
for d in "$@"; do flags+=(-isystem "$d"); done
src='#include <mlops/mlops.hpp>\n'
if printf '#include <sodium.h>\n' | "$cxx" -fsyntax-only -x c++ - -o /dev/null 2>/dev/null; then
  src+='#include <mlops/io/signing.hpp>\n'
fi
fail=0
for mode in header-only compiled; do
  def=(); [[ $mode == compiled ]] && def=(-DMLOPS_COMPILED)
  if printf "$src" | "$cxx" "${flags[@]}" "${def[@]}" -x c++ - -o /dev/null; then
    echo "clang strict ($mode): no warning"
  else
    echo "clang strict ($mode): FAILED"
    fail=1
  fi
done
exit $fail
