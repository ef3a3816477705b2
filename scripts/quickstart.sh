#!/usr/bin/env bash
# Quick start: install what is missing, build, and run the main example.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -x build/examples/nn/fashion_mnist ]; then
  OPENBLAS_NUM_THREADS=2 build/examples/nn/fashion_mnist "$@"
else
  build/examples/autodiff/tiny_mlp "$@"
fi
