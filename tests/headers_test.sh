#!/usr/bin/env bash
# Every header under include/mlops compiles on its own (it includes what it uses), with
# -Wall -Wextra and no warning: each is compiled alone with -fsyntax-only, in parallel.
#   tests/headers_test.sh CXX INCLUDE_DIR [EXTRA_INCLUDE_DIR...]
set -uo pipefail
cxx=$1; shift
inc=$1; shift
flags=(-std=c++20 -fsyntax-only -Wall -Wextra -Werror -I"$inc")
for d in "$@"; do flags+=(-isystem "$d"); done
export cxx
list=$(cd "$inc" && find mlops -name '*.hpp' | sort)
# mlops/io/signing.hpp needs libsodium's header (libsodium-dev); without it, it is left out.
if ! printf '#include <sodium.h>\n' | "$cxx" -fsyntax-only -x c++ - -o /dev/null 2>/dev/null; then
  echo "headers: sodium.h not found (libsodium-dev): mlops/io/signing.hpp not checked"
  list=$(grep -v '^mlops/io/signing.hpp$' <<<"$list")
fi
# A header that holds only includes of mlops headers (the umbrella, the headers kept where
# a room moved) compiles alone when each of those does: it is listed, not compiled again
# (the umbrella as a whole is compiled by the unit tests' test_headers.cpp).
forwarding=$(cd "$inc" && for h in $list; do
  grep -Evq '^[[:space:]]*(//.*)?$|^#pragma once$|^#include "mlops/[^"]*"$' "$h" || echo "$h"
done)
list=$(grep -vxF -f <(printf '%s\n' "$forwarding") <<<"$list")
n=$(wc -l <<<"$list")
fail=0
# shellcheck disable=SC2016
out=$(xargs -P "$(nproc)" -I{} sh -c 'printf "#include <{}>\n" | "$0" "$@" -x c++ - -o /dev/null 2>&1 || echo "FAILED: {}"' \
        "$cxx" "${flags[@]}" <<<"$list")
if grep -q "FAILED:" <<<"$out"; then
  echo "$out"
  fail=1
fi
echo "headers: $n compiled alone, $(grep -c 'FAILED:' <<<"$out") failed; $(wc -w <<<"$forwarding") only forward:" $forwarding
exit $fail
