// The engine's public interface: include this one header.
#pragma once

#include "autodiff/blas_setup.hpp"
#include "autodiff/errors.hpp"
#include "autodiff/ops.hpp"
#include "autodiff/parallel.hpp"
#include "autodiff/tape.hpp"
#include "autodiff/tensor.hpp"
