#!/usr/bin/env bash
# Installs the Debian 12 packages mlops needs. Idempotent: installs only what is missing.
#   scripts/install-deps.sh            build + test dependencies
#   scripts/install-deps.sh --bench    also the Python reference (scikit-learn, pandas)
#   scripts/install-deps.sh --fuzz     also clang (libFuzzer) for scripts/fuzz.sh
set -euo pipefail
pkgs=(g++ cmake ninja-build libeigen3-dev xtl-dev xtensor-dev libfmt-dev nlohmann-json3-dev
      libcli11-dev doctest-dev libbenchmark-dev python3 ccache pkg-config
      libcpp-httplib-dev prometheus   # `mlops serve` (cpp-httplib), its scrape test and promtool
      libsodium-dev)                  # model signing (mlops/io/signing.hpp, `mlops sign`)
[[ "${1:-}" == "--bench" ]] && pkgs+=(wrk python3-flask)
[[ "${1:-}" == "--bench" ]] && pkgs+=(python3-sklearn python3-pandas python3-numpy)
[[ "${1:-}" == "--fuzz" ]] && pkgs+=(clang libclang-rt-14-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#pkgs[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
