// ad::better_blas_kernel: the kernel family use_best_blas_kernels asks OpenBLAS for, given the one
// OpenBLAS chose and the CPU's features (a pure function: every CPU's case is tested here, whatever
// machine runs the test).
#define BOOST_TEST_MODULE blas setup
#include <boost/test/unit_test.hpp>

#include <autodiff/blas_setup.hpp>

namespace {
const ad::CpuFeatures avx512{.avx512 = true, .avx2_fma = true};
const ad::CpuFeatures avx2{.avx512 = false, .avx2_fma = true};
const ad::CpuFeatures old_cpu{.avx512 = false, .avx2_fma = false};
}  // namespace

BOOST_AUTO_TEST_CASE(a_generic_fallback_is_replaced_by_the_best_family_the_cpu_runs) {
  // Debian 12's OpenBLAS on a virtualised Xeon it does not recognise.
  BOOST_TEST(ad::better_blas_kernel("Prescott", avx512) == "SkylakeX");
  BOOST_TEST(ad::better_blas_kernel("Core2", avx2) == "Haswell");
  BOOST_TEST(ad::better_blas_kernel("Prescott", avx2) == "Haswell");
  BOOST_TEST(ad::better_blas_kernel("Prescott", old_cpu) == "");  // nothing better to offer
}

BOOST_AUTO_TEST_CASE(avx2_kernels_are_replaced_on_a_cpu_with_avx512) {
  // AMD Zen 4 and Zen 5, which OpenBLAS 0.3.21 runs on its AVX2 kernels.
  BOOST_TEST(ad::better_blas_kernel("Haswell", avx512) == "SkylakeX");
  BOOST_TEST(ad::better_blas_kernel("Zen", avx512) == "SkylakeX");
  BOOST_TEST(ad::better_blas_kernel("Sandybridge", avx512) == "SkylakeX");
}

BOOST_AUTO_TEST_CASE(a_right_choice_is_kept) {
  for (const char* k : {"SkylakeX", "Cooperlake", "SapphireRapids", "SKYLAKEX"})
    BOOST_TEST(ad::better_blas_kernel(k, avx512) == "", k);
  for (const char* k : {"Haswell", "Zen", "Sandybridge"}) BOOST_TEST(ad::better_blas_kernel(k, avx2) == "", k);
}
