// Load-time ISA dispatch of the CPU hot loops. On x86-64 a function marked XB_CPU_CLONES is compiled
// for AVX-512 (x86-64-v4), AVX2 (x86-64-v3) and the baseline, and the loader picks the best one the
// CPU has (GCC/Clang target_clones), so one build runs everywhere and vectorises where it can.
// Invariant: every version performs the same IEEE operations (nothing is contracted or reassociated:
// -ffp-contract=off, no fast-math), so the results are the same bits on every CPU and on the GPU.
// The clones are resolved by an ELF ifunc, which needs glibc: elsewhere (macOS, musl, other ISAs)
// the functions are compiled once for the build's target.
#pragma once

#include <cstdint>  // defines __GLIBC__ on glibc systems

#if defined(__x86_64__) && defined(__linux__) && defined(__GLIBC__) && (defined(__GNUC__) || defined(__clang__))
#define XB_CPU_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"), flatten))
#elif defined(__GNUC__) || defined(__clang__)
#define XB_CPU_CLONES __attribute__((flatten))
#else
#define XB_CPU_CLONES
#endif
