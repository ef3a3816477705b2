#!/usr/bin/env bash
# Checks that the files below follow .clang-format (clang-format-16, as installed by
# scripts/setup.sh --ci). The list grows as files are brought to the style: the engine, nn's
# operations and the operation kit's example and tests so far. Fix with: clang-format-16 -i FILE.
set -euo pipefail
cd "$(dirname "$0")/.."
files=(autodiff/include/autodiff/*.hpp autodiff/src/*.cpp autodiff/src/*.hpp
       nn/src/ops_batch_norm.cpp nn/src/ops_l2.cpp nn/src/activation.cpp nn/include/nn/ops.hpp
       examples/autodiff/custom_op.cpp tests/autodiff/test_fan_out.cpp)
clang-format-16 --dry-run --Werror "${files[@]}"
echo "format: ${#files[@]} files follow .clang-format"
