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

CpuFeatures this_cpu() {
  __builtin_cpu_init();
  return {.avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                    __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"),
          .avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")};
}

// What OpenBLAS picks for a CPU model it does not know.
bool is_generic_fallback(const std::string& core) {
  const std::string c = lower(core);
  return c == "prescott" || c == "core2" || c == "katmai" || c == "coppermine" || c == "northwood" || c == "banias" ||
         c == "unknown";
}

bool is_avx512_kernel(const std::string& core) {
  const std::string c = lower(core);
  return c == "skylakex" || c == "cooperlake" || c == "sapphirerapids";
}

}  // namespace

std::string blas_kernel_name() {
  const char* name = openblas_get_corename();
  return name ? name : "unknown";
}

std::string better_blas_kernel(const std::string& current, CpuFeatures cpu) {
  if (cpu.avx512 && !is_avx512_kernel(current)) return "SkylakeX";
  if (cpu.avx2_fma && !cpu.avx512 && is_generic_fallback(current)) return "Haswell";
  return "";
}

void use_best_blas_kernels(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE")) return;
  const std::string best = better_blas_kernel(blas_kernel_name(), this_cpu());
  if (best.empty()) return;
  setenv("OPENBLAS_CORETYPE", best.c_str(), 1);
  std::fflush(stdout);
  execv("/proc/self/exe", argv);
  std::fprintf(stderr, "warning: OpenBLAS uses its slow %s kernels; set OPENBLAS_CORETYPE=%s for speed\n",
               blas_kernel_name().c_str(), best.c_str());
}

}  // namespace ad
