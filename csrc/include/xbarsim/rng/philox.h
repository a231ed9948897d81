// Philox4x32-10 (Salmon, Moraes, Dror, Shaw, SC'11): a counter-based generator, a pure function of a
// 128-bit counter and a 64-bit key. Spec: analog-tile.md Appendix A (known-answer vectors).
// Invariants: stateless, host and device, integer arithmetic only (bit-identical everywhere).
#pragma once

#include <cstdint>

#include "xbarsim/core/host_device.h"

namespace xbarsim {

struct Philox4x32 {
  uint32_t v[4];
};

namespace detail {
constexpr uint32_t kPhiloxM0 = 0xD2511F53u;  // multiplier of words 0/1
constexpr uint32_t kPhiloxM1 = 0xCD9E8D57u;  // multiplier of words 2/3
constexpr uint32_t kPhiloxW0 = 0x9E3779B9u;  // key bump (golden ratio)
constexpr uint32_t kPhiloxW1 = 0xBB67AE85u;  // key bump (sqrt(3) - 1)
}  // namespace detail

XB_HD XB_INLINE Philox4x32 philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3,
                                         uint32_t k0, uint32_t k1) {
  XB_UNROLL
  for (int round = 0; round < 10; ++round) {
    const uint32_t hi0 = mulhi32(detail::kPhiloxM0, c0);
    const uint32_t lo0 = detail::kPhiloxM0 * c0;
    const uint32_t hi1 = mulhi32(detail::kPhiloxM1, c2);
    const uint32_t lo1 = detail::kPhiloxM1 * c2;
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += detail::kPhiloxW0;
    k1 += detail::kPhiloxW1;
  }
  return Philox4x32{{c0, c1, c2, c3}};
}

}  // namespace xbarsim
