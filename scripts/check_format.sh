#!/usr/bin/env bash
# Checks that the files below follow .clang-format (clang-format-16, as installed by
# scripts/setup.sh --ci). The list grows as files are brought to the style: the engine, nn's
# operations, the operation kit's example and tests, and the distributed search's and dlcourse's
# MPI files so far. Fix with: clang-format-16 -i FILE.
set -euo pipefail
cd "$(dirname "$0")/.."
files=(autodiff/include/autodiff/*.hpp autodiff/src/*.cpp autodiff/src/*.hpp
       nn/src/ops_batch_norm.cpp nn/src/ops_l2.cpp nn/src/activation.cpp nn/include/nn/ops.hpp
       examples/autodiff/custom_op.cpp tests/autodiff/test_fan_out.cpp tests/autodiff/test_blas_setup.cpp
       nn/include/nn/search_distributed.hpp nn/src/search_distributed.cpp nn/src/search_pool.hpp nn/src/search_pool.cpp
       tools/dlcourse/mpi_job.hpp tools/dlcourse/mpi_job.cpp bench/nn/caviar.cpp bench/nn/distributed_search.cpp
       tests/nn/test_search_distributed.cpp tests/tools/test_mpi_job_without_mpi.cpp tests/tools/test_dlcourse_mpi.cpp
       tests/tools/test_dlcourse_data.cpp tests/tools/test_dlcourse_mpi_search.cpp tests/tools/dlcourse_runner.hpp
       bench/nn/fashion_trials.hpp)
clang-format-16 --dry-run --Werror "${files[@]}"
echo "format: ${#files[@]} files follow .clang-format"
