// Load-time ISA dispatch of the CPU hot loops. A hot loop body runs as with_cpu_isa(fn): on x86-64
// the build holds three copies of fn, compiled for AVX-512 (x86-64-v4), AVX2 (x86-64-v3) and the
// baseline, each with fn and everything it calls inlined (`flatten`), so each copy is vectorised for
// its ISA; elsewhere only the baseline copy exists. The copy that runs is chosen once, when the
// module loads (cpu_isa.cpp): the one XBARSIM_CPU_ISA names (avx512, avx2 or baseline), else the best
// the CPU has; _core.cpu_isa() reports it, and tests/unit/test_isa_clones.py runs every copy the CPU
// can run and compares their bits. This replaces GCC's target_clones, whose ifunc resolver always
// picks the best ISA (so only one machine's clone was ever tested) and needs glibc.
// Invariant: every copy performs the same IEEE operations (nothing is contracted or reassociated:
// -ffp-contract=off, no fast-math), so the results are the same bits on every CPU and on the GPU.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace xbarsim::cpu {

enum class CpuIsa : int32_t { kBaseline = 0, kAvx2 = 1, kAvx512 = 2 };

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define XB_CPU_ISA_COPIES 1
#define XB_CPU_TARGET_AVX512 __attribute__((target("arch=x86-64-v4"), flatten, noinline))
#define XB_CPU_TARGET_AVX2 __attribute__((target("arch=x86-64-v3"), flatten, noinline))
#else
#define XB_CPU_ISA_COPIES 0
#endif
#if defined(__GNUC__) || defined(__clang__)
#define XB_CPU_TARGET_BASELINE __attribute__((flatten, noinline))
#else
#define XB_CPU_TARGET_BASELINE
#endif

namespace detail {

extern CpuIsa g_cpu_isa;  // chosen at load (cpu_isa.cpp); baseline until then

// One function per ISA; a template instance per call site's fn. Functions called from fn that cannot
// be inlined (other translation units) dispatch again by themselves.
#if XB_CPU_ISA_COPIES
template <typename Fn>
XB_CPU_TARGET_AVX512 void run_avx512(Fn& fn) { fn(); }
template <typename Fn>
XB_CPU_TARGET_AVX2 void run_avx2(Fn& fn) { fn(); }
#endif
template <typename Fn>
XB_CPU_TARGET_BASELINE void run_baseline(Fn& fn) { fn(); }

}  // namespace detail

// Runs fn() in the copy compiled for the ISA chosen at load.
template <typename Fn>
inline void with_cpu_isa(Fn&& fn) {
#if XB_CPU_ISA_COPIES
  switch (detail::g_cpu_isa) {
    case CpuIsa::kAvx512: detail::run_avx512(fn); return;
    case CpuIsa::kAvx2: detail::run_avx2(fn); return;
    case CpuIsa::kBaseline: break;
  }
#endif
  detail::run_baseline(fn);
}

CpuIsa cpu_isa();                              // the ISA the copies run with
const char* cpu_isa_name(CpuIsa isa);          // "avx512", "avx2", "baseline"
std::vector<std::string> cpu_isas_available(); // those this build and CPU can run, best first
// Why the XBARSIM_CPU_ISA request cannot be honoured ("" when it can or none was made); the module
// refuses to import with this message rather than run another ISA than the one asked for.
std::string cpu_isa_request_error();

}  // namespace xbarsim::cpu
