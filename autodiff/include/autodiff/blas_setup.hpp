// Getting OpenBLAS's fast kernels.
//
// OpenBLAS 0.3.21 (Debian 12) does not recognise some virtualised Xeons (cpuinfo says only
// "Intel(R) Xeon(R) Processor") and falls back to its Prescott (SSE3) kernels: on this machine class
// the MLP step's GEMMs run 3.7× slower and the tiny MLP step 2.3× slower. Nor does it know AMD's
// Zen 4 and Zen 5, which have AVX-512: it runs its AVX2 kernels there (Haswell, Zen), and its
// SkylakeX kernels made the MLP step's GEMMs 1.8× faster on a Zen 5 (1400 → 770 µs; later OpenBLAS
// releases map Zen 4 to them too). The kernel is chosen once, when libopenblas loads, from the
// OPENBLAS_CORETYPE environment variable.
#pragma once

#include <string>

namespace ad {

// The kernel family OpenBLAS is using ("SkylakeX", "Haswell", "Prescott", ...).
std::string blas_kernel_name();

// Call first thing in main(). If better_blas_kernel names a better kernel for this CPU than the one
// OpenBLAS chose, sets OPENBLAS_CORETYPE to it and re-executes the program once with the same
// arguments. Does nothing when OPENBLAS_CORETYPE is already set (the user's choice wins), when the
// kernel is already right, or when re-executing fails (a warning is printed).
void use_best_blas_kernels(char** argv);

struct CpuFeatures {
  bool avx512 = false;    // AVX-512 F, BW, VL and DQ, enabled by the OS
  bool avx2_fma = false;  // AVX2 and FMA
};

// The kernel family to ask OpenBLAS for instead of `current` (as openblas_get_corename spells it) on
// a CPU with these features, or "" to keep `current`: SkylakeX on AVX-512 unless `current` is
// already an AVX-512 kernel (SkylakeX, Cooperlake, SapphireRapids); Haswell on AVX2 + FMA when
// `current` is a generic fallback (Prescott, Core2, ...); otherwise none.
std::string better_blas_kernel(const std::string& current, CpuFeatures cpu);

}  // namespace ad
