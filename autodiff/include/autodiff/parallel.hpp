// Data-parallel loops that run on OpenBLAS's own worker threads.
//
// Why not a thread pool of our own: between two GEMMs OpenBLAS's workers do not sleep, they spin
// (sched_yield) waiting for the next one, so a second pool's threads fight them for the same cores.
// Measured on 2 cores, Adam over 235k floats after a GEMM: 155 µs on one thread, 270 µs split with
// a pool of our own, 77 µs split with OpenBLAS's (already awake) worker. So the elementwise work of
// a training step (the optimizer, gathering a mini-batch, bias + activation) goes to those same
// workers, as many as OpenBLAS uses for a GEMM (OPENBLAS_NUM_THREADS): the step then runs on the
// thread setup its GEMMs run on, no more. Where OpenBLAS's pool cannot be borrowed (another BLAS,
// one thread, a nested call), the loop runs on the calling thread.
//
// Results never depend on the split: bodies write disjoint elements and each element (or row) is
// computed by exactly the same code as in a serial loop.
#pragma once

#include <cstddef>
#include <memory>
#include <type_traits>

namespace ad {

// How many threads parallel_for splits a large loop over (1: it runs on the calling thread).
int parallel_threads();

namespace detail {
using RangeFn = void (*)(void* body, std::size_t begin, std::size_t end);
void parallel_run(std::size_t n, std::size_t grain, RangeFn fn, void* body);
}  // namespace detail

// Calls body(begin, end) on disjoint ranges that cover [0, n), in parallel when there are at least
// `grain` iterations per thread (below that, handing work over costs more than it saves: ~2 µs).
// An exception thrown by body is rethrown here once every range has finished.
template <class F>
void parallel_for(std::size_t n, std::size_t grain, F&& body) {
  if (n < 2 * (grain ? grain : 1)) {
    if (n) body(std::size_t(0), n);
    return;
  }
  using Body = std::remove_reference_t<F>;
  detail::parallel_run(
      n, grain, [](void* b, std::size_t begin, std::size_t end) { (*static_cast<Body*>(b))(begin, end); },
      const_cast<void*>(static_cast<const void*>(std::addressof(body))));
}

}  // namespace ad
