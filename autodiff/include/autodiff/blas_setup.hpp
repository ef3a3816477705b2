// Getting OpenBLAS's fast kernels.
//
// OpenBLAS 0.3.21 (Debian 12) does not recognise some virtualised Xeons (cpuinfo says only
// "Intel(R) Xeon(R) Processor") and falls back to its Prescott (SSE3) kernels: on this machine class
// the MLP step's GEMMs run 3.7× slower and the tiny MLP step 2.3× slower. The kernel is chosen once,
// when libopenblas loads, from the OPENBLAS_CORETYPE environment variable.
#pragma once

#include <string>

namespace ad {

// The kernel family OpenBLAS is using ("SkylakeX", "Haswell", "Prescott", ...).
std::string blas_kernel_name();

// Call first thing in main(). If OpenBLAS fell back to a generic kernel although this CPU has
// AVX-512 (or AVX2 and FMA), sets OPENBLAS_CORETYPE accordingly and re-executes the program once
// with the same arguments. Does nothing when OPENBLAS_CORETYPE is already set (the user's choice
// wins), when the kernel is already right, or when re-executing fails (a warning is printed).
void use_best_blas_kernels(char** argv);

}  // namespace ad
