#include "autodiff/blas_setup.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>

extern "C" char* openblas_get_corename(void);

namespace ad {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

// The kernel family this CPU can run, best first; empty when nothing beats the fallbacks.
const char* best_kernel_for_cpu() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512dq"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  return "";
}

// What OpenBLAS picks for a CPU model it does not know.
bool is_generic_fallback(const std::string& core) {
  const std::string c = lower(core);
  return c == "prescott" || c == "core2" || c == "katmai" || c == "coppermine" || c == "northwood" || c == "banias" ||
         c == "unknown";
}

}  // namespace

std::string blas_kernel_name() {
  const char* name = openblas_get_corename();
  return name ? name : "unknown";
}

void use_best_blas_kernels(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE")) return;
  const std::string best = best_kernel_for_cpu();
  if (best.empty() || !is_generic_fallback(blas_kernel_name())) return;
  setenv("OPENBLAS_CORETYPE", best.c_str(), 1);
  std::fflush(stdout);
  execv("/proc/self/exe", argv);
  std::fprintf(stderr, "warning: OpenBLAS uses its slow %s kernels; set OPENBLAS_CORETYPE=%s for speed\n",
               blas_kernel_name().c_str(), best.c_str());
}

}  // namespace ad
