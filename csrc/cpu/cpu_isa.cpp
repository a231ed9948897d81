// The load-time choice of cpu_clones.h: XBARSIM_CPU_ISA or the best ISA the CPU runs.
#include <cstdlib>

#include "cpu_clones.h"

namespace xbarsim::cpu {
namespace {

bool cpu_runs(CpuIsa isa) {
  if (isa == CpuIsa::kBaseline) return true;
#if XB_CPU_ISA_COPIES
  __builtin_cpu_init();  // this may run before the constructors that usually initialise the CPU model
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
  // The architecture levels exactly as target("arch=x86-64-v3/v4") compiles for them.
  if (isa == CpuIsa::kAvx512) return __builtin_cpu_supports("x86-64-v4");
  return __builtin_cpu_supports("x86-64-v3");
#else
  const bool v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                  __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2");
  if (isa == CpuIsa::kAvx2) return v3;
  return v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vl");
#endif
#else
  return false;
#endif
}

struct Choice {
  CpuIsa isa = CpuIsa::kBaseline;
  std::string error;
};

Choice choose() {
  Choice c;
  for (CpuIsa isa : {CpuIsa::kAvx512, CpuIsa::kAvx2, CpuIsa::kBaseline}) {
    if (cpu_runs(isa)) {
      c.isa = isa;
      break;
    }
  }
  const char* request = std::getenv("XBARSIM_CPU_ISA");
  if (request == nullptr || *request == '\0') return c;
  const std::string want(request);
  for (CpuIsa isa : {CpuIsa::kAvx512, CpuIsa::kAvx2, CpuIsa::kBaseline}) {
    if (want != cpu_isa_name(isa)) continue;
    if (cpu_runs(isa)) {
      c.isa = isa;
    } else {
      std::string available;
      for (const std::string& name : cpu_isas_available()) available += (available.empty() ? "" : ", ") + name;
      c.error = "XBARSIM_CPU_ISA=" + want + ": this CPU or build cannot run it (available: " + available + ")";
    }
    return c;
  }
  c.error = "XBARSIM_CPU_ISA must be avx512, avx2 or baseline; got '" + want + "'";
  return c;
}

const Choice& choice() {
  static const Choice c = choose();
  return c;
}

}  // namespace

namespace detail {
CpuIsa g_cpu_isa = choice().isa;  // dynamic initialisation: when the module loads
}  // namespace detail

CpuIsa cpu_isa() { return detail::g_cpu_isa; }

const char* cpu_isa_name(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::kAvx512: return "avx512";
    case CpuIsa::kAvx2: return "avx2";
    case CpuIsa::kBaseline: return "baseline";
  }
  return "unknown";
}

std::vector<std::string> cpu_isas_available() {
  std::vector<std::string> out;
  for (CpuIsa isa : {CpuIsa::kAvx512, CpuIsa::kAvx2, CpuIsa::kBaseline})
    if (cpu_runs(isa)) out.emplace_back(cpu_isa_name(isa));
  return out;
}

std::string cpu_isa_request_error() { return choice().error; }

}  // namespace xbarsim::cpu
