// Iterative bound management: the saturation test of one ADC output and the stop rules of the loop.
// Spec: analog-tile.md §1.3 steps 2, 6.5 and 7 (and §6 quirk 4: a vector fails if any positive clip
// occurred, or any negative clip when bm_test_negative_bound is set).
// Invariants: pure, host and device; no random draws. The reduction r is a power of two.
#pragma once

#include <cstdint>

#include "xbarsim/core/host_device.h"

namespace xbarsim {

// Bit 0: the output exceeded +bound (always a failure); bit 1: it fell below -bound and the negative
// bound is tested. A clip is "v beyond the bound", strictly: an output equal to the bound (255 ADC
// steps of 24/510 = 12) does not fail the test. With ADC quantisation v is the level k and bound the
// largest level in range (io/quantize.h, adc_convert).
template <typename T>
XB_HD XB_INLINE uint32_t saturation_bits(T v, T bound, bool test_negative) {
  return (v > bound ? 1u : 0u) | ((v < -bound) & test_negative ? 2u : 0u);
}

// Stop rule after a failed round with reduction r (step 7): stop once r > max_bm_factor, or once
// r > max_bm_res / inp_res_eff when the DAC quantises. Evaluated in double on the host only, since
// it decides how many rounds run, not a value.
XB_HD XB_INLINE bool bm_stop(double r, double max_bm_factor, double max_bm_res, double inp_res_eff) {
  return r > max_bm_factor || (inp_res_eff > 0.0 && r > max_bm_res / inp_res_eff);
}

// Number of rounds the stop rules allow (r = 1, 2, 4, ... up to the first r that stops): 5 with the
// default config (r = 16 > 15.75), 11 without DAC quantisation (r = 1024 > 1000).
inline int bm_max_rounds(double max_bm_factor, double max_bm_res, double inp_res_eff) {
  int rounds = 1;
  double r = 1.0;
  while (!bm_stop(r, max_bm_factor, max_bm_res, inp_res_eff)) {
    r *= 2.0;
    ++rounds;
  }
  return rounds;
}

}  // namespace xbarsim
