// parallel_for on OpenBLAS's worker threads (see parallel.hpp for why).
//
// OpenBLAS has no public "run this on your pool" call. Its blas_level1_thread (exported by every
// 0.3.x build, unchanged since GotoBLAS) splits m over its threads, runs one piece on the caller and
// the others on its workers, and waits for all of them: it is how OpenBLAS threads its own level-1
// routines. We rely on as little of it as possible:
//   - m is the number of pieces, and each call claims the next piece from an atomic counter, so
//     OpenBLAS's own split is never read;
//   - the job travels in `a` with lda = ldb = 0 (the pointer is then not advanced per piece), and
//     `a` is the fourth integer argument of the routine, f(m, n, k, alpha, a, ...), whatever the
//     type of alpha (float or double in a vector register, long double on the stack): the routine
//     declares only the arguments it reads;
//   - mode 2 is "real" in every numbering (0.3.21 renumbered the precisions: 2 is single now,
//     extended or single before), so some routine call is made; if a build makes none, the pieces
//     left unclaimed run on the caller and the pool is not asked again.
#include "autodiff/parallel.hpp"

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <string_view>

extern "C" int blas_level1_thread(int mode, long m, long n, long k, void* alpha, void* a, long lda, void* b, long ldb,
                                  void* c, long ldc, int (*function)(), int threads) __attribute__((weak));

namespace ad {
namespace {

// Inside a piece: a nested parallel_for runs serially (OpenBLAS's workers must not wait on themselves).
thread_local bool inside_piece = false;
// Cleared when the pool called nothing: then every later loop runs on the caller.
std::atomic<bool> pool_works{true};

bool pool_available() {
  // Only OpenBLAS 0.3.x with threads: the builds whose blas_level1_thread is known (see above).
  static const bool known = [] {
#if !defined(__linux__) || !(defined(__x86_64__) || defined(__aarch64__))
    return false;  // the argument passing above is checked for these ABIs only
#endif
    if (!blas_level1_thread) return false;
    const char* config = openblas_get_config();
    return config && std::string_view(config).starts_with("OpenBLAS 0.3.") && openblas_get_parallel() != 0;
  }();
  return known && pool_works.load(std::memory_order_relaxed);
}

struct Job {
  detail::RangeFn fn = nullptr;
  void* body = nullptr;
  std::size_t n = 0;
  int pieces = 0;
  std::atomic<int> calls{0};  // routine calls made by the pool
  std::atomic<bool> first_taken{false};
  std::atomic<int> next{1};  // the next piece for the workers (piece 0 is the caller's)
  std::atomic<bool> failed{false};
  std::exception_ptr error;
};

// The calling thread of parallel_run, while OpenBLAS runs the pieces.
thread_local bool calling = false;

void run_piece(Job& job, int i) {
  const std::size_t begin = job.n * std::size_t(i) / std::size_t(job.pieces);
  const std::size_t end = job.n * std::size_t(i + 1) / std::size_t(job.pieces);
  try {
    job.fn(job.body, begin, end);
  } catch (...) {
    // An exception must not unwind through OpenBLAS's C frames: keep the first, rethrow later.
    if (!job.failed.exchange(true)) job.error = std::current_exception();
  }
}

// The caller runs the first piece, the workers the others (then any left). OpenBLAS gives the first
// range of its own splits to the caller too, so a loop over what a GEMM just wrote finds its piece
// in its own core's cache: measured, Adam over W[1] after computing dW[1] takes 60-70 µs this way
// and 80-85 µs with the halves the other way round.
void run_pieces(Job& job, bool caller) {
  const bool was_inside = inside_piece;
  inside_piece = true;
  if (caller && !job.first_taken.exchange(true)) run_piece(job, 0);
  for (int i; (i = job.next.fetch_add(1, std::memory_order_relaxed)) < job.pieces;) run_piece(job, i);
  inside_piece = was_inside;
}

int piece_routine(long, long, long, void* job) {
  Job& j = *static_cast<Job*>(job);
  j.calls.fetch_add(1, std::memory_order_relaxed);
  run_pieces(j, calling);
  return 0;
}

}  // namespace

int parallel_threads() {
  if (inside_piece || !pool_available()) return 1;
  return std::max(1, openblas_get_num_threads());
}

namespace detail {

void parallel_run(std::size_t n, std::size_t grain, RangeFn fn, void* body) {
  const int threads = parallel_threads();
  const std::size_t most = n / std::max<std::size_t>(grain, 1);
  const int pieces = int(std::min<std::size_t>(std::size_t(threads), most));
  if (pieces < 2) {
    fn(body, 0, n);
    return;
  }
  Job job;
  job.fn = fn;
  job.body = body;
  job.n = n;
  job.pieces = pieces;
  double alpha[2] = {0, 0};  // read as whatever precision the mode says; unused
  // Through void(*)(): the generic function pointer type (OpenBLAS casts it back to its own type).
  const auto routine = reinterpret_cast<int (*)()>(reinterpret_cast<void (*)()>(&piece_routine));
  calling = true;
  blas_level1_thread(2, pieces, 0, 0, alpha, &job, 0, &job, 0, nullptr, 0, routine, pieces);
  calling = false;
  if (job.calls.load() == 0) pool_works.store(false);  // the pool ran nothing: never ask it again
  run_pieces(job, true);                               // whatever is left (nothing, when the pool did its part)
  if (job.error) std::rethrow_exception(job.error);
}

}  // namespace detail
}  // namespace ad
