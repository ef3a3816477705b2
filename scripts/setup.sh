#!/usr/bin/env bash
# Installs what is missing (Debian 12, as root), configures and builds the project in ./build.
# --ci also installs what CI's fuzzing and format steps need (clang-16, its libFuzzer runtime, clang-format-16).
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(g++ meson ninja-build pkg-config libxtensor-dev libxsimd-dev libxtensor-blas-dev libopenblas-dev
          libfmt-dev libboost-test-dev nlohmann-json3-dev zlib1g-dev libzip-dev libcsv-dev libcli11-dev
          dataset-fashion-mnist gnuplot-nox libopenmpi-dev openmpi-bin)
# Debian 12's clang-14 cannot compile the project's std::source_location; clang-16 can.
# clang-format-16: CI's format check (scripts/check_format.sh).
ci_packages=(clang-16 libclang-rt-16-dev clang-format-16)
[ "${1:-}" = --ci ] && packages+=("${ci_packages[@]}")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
[ -f build/build.ninja ] || meson setup build
ninja -C build
