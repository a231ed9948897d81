// CPU loop driver of the pulsed update (ops/pulsed_update.h): phase 1 parallel over samples, phase
// 2 parallel over rows (output lines); a row stays in cache while all samples are applied to it.
// Samples with BL = 0, rows whose output line never fires and input lines that never fire are
// skipped. Results do not depend on the thread count (every draw is keyed by position).
#include "xbarsim/ops/pulsed_update.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "xbarsim/devices/device_visit.h"

namespace xbarsim::cpu {
namespace {

// Below this much work a loop runs on one thread: a parallel region costs more than it saves for
// small tiles and batches (and much more on an oversubscribed machine). Pure function of the
// shapes and of phase 1's counts; the results never depend on the thread count.
constexpr double kParallelWork = 65536.0;

// Returns an estimate of phase 2's work: rows x samples plus the expected coincidence checks.
template <typename T>
double prepare_samples(const UpdateKernelParams<T>& p) {
  const bool stochastic = is_stochastic(p.type);
  int64_t fired_x = 0, fired_d = 0;
  double work2 = static_cast<double>(p.out) * static_cast<double>(p.m);
  const double work1 = static_cast<double>(p.m) * static_cast<double>(p.in + p.out) *
                       (1.0 + static_cast<double>(p.bl_max) / 16.0);
  // Static, contiguous blocks of vectors: the output-line arrays are [out, m, ...], so neighbouring
  // vectors write neighbouring words, and interleaved vectors on two threads would share cache lines.
#pragma omp parallel reduction(+ : fired_x, fired_d, work2) if (work1 >= kParallelWork)
  {
  // The lines' probabilities of one vector, computed in one tight loop (padded to whole groups).
  std::vector<T> prob(static_cast<size_t>(4 * ((std::max(p.in, p.out) + 3) / 4)), T(0));
#pragma omp for schedule(static)
  for (int64_t b = 0; b < p.m; ++b) {
    const T* xb = p.x + b * p.in;
    const T* db = p.d + b * p.out;
    // Max-reductions (exact in any order); fabs instead of a sign test keeps them branch-free.
    T x_max = T(0), d_max = T(0);
    for (int64_t j = 0; j < p.in; ++j) {
      const T v = std::fabs(xb[j]);
      x_max = v > x_max ? v : x_max;
    }
    for (int64_t i = 0; i < p.out; ++i) {
      const T v = std::fabs(db[i]);
      d_max = v > d_max ? v : d_max;
    }
    const BlAb ab = sample_bl_ab(p, x_max, d_max);
    p.bl[b] = ab.bl;
    int32_t* act = p.act_x + b * p.in;
    int32_t n_act = 0;
    if (ab.bl > 0) {
      if (stochastic) {
        const int64_t gx = (p.in + 3) / 4, gd = (p.out + 3) / 4;
        for (int side = 0; side < 2; ++side) {
          const bool side_d = side == 1;
          const int64_t lines = side_d ? p.out : p.in, groups = side_d ? gd : gx;
          sample_line_probabilities(p, b, side_d, ab, 0, lines, prob.data());
          for (int64_t line = lines; line < 4 * groups; ++line) prob[line] = T(0);
          int64_t fired = 0;
          for (int64_t g = 0; g < groups; ++g) fired += sample_bit_group_from(p, b, side_d, g, ab, prob.data() + 4 * g);
          (side_d ? fired_d : fired_x) += fired;
        }
        const uint64_t* bx = p.bits_x + b * p.in * p.words;
        for (int64_t j = 0; j < p.in; ++j) {
          uint64_t any = 0;
          for (int32_t w = 0; w < p.words; ++w) any |= bx[j * p.words + w];
          act[n_act] = static_cast<int32_t>(j);  // branch-free compaction: whether a line fired is random
          n_act += any != 0;
        }
        int64_t n_act_d = 0;
        for (int64_t i = 0; i < p.out; ++i) {
          uint64_t any = 0;
          for (int32_t w = 0; w < p.words; ++w) any |= p.bits_d[(i * p.m + b) * p.words + w];
          n_act_d += any != 0;
        }
        work2 += static_cast<double>(n_act) * static_cast<double>(n_act_d) * (p.dev.noisy ? 8.0 : 1.0);
      } else {
        for (int64_t j = 0; j < p.in; ++j) {
          fired_x += sample_line_value(p, b, false, j, ab);
          if (p.val_x[b * p.in + j] != T(0)) act[n_act++] = static_cast<int32_t>(j);
        }
        int64_t n_act_d = 0;
        for (int64_t i = 0; i < p.out; ++i) {
          fired_d += sample_line_value(p, b, true, i, ab);
          n_act_d += p.val_d[i * p.m + b] != T(0);
        }
        work2 += static_cast<double>(n_act) * static_cast<double>(n_act_d) * (p.dev.noisy ? 8.0 : 1.0);
      }
    }
    p.n_act[b] = n_act;
  }
  }
  if (p.counters != nullptr) {
    p.counters[kCounterInputPulses] += fired_x;
    p.counters[kCounterOutputPulses] += fired_d;
  }
  return work2;
}

template <class Model, typename T>
void update_rows(const UpdateKernelParams<T>& p, double work) {
  const bool stochastic = is_stochastic(p.type);
  const bool write_noise = p.dev.write_noise != T(0);
  const int32_t words = p.words;
  int64_t n_up = 0, n_down = 0;
#pragma omp parallel reduction(+ : n_up, n_down) if (work >= kParallelWork)
  {
    std::vector<int32_t> touched;
    std::vector<uint8_t> is_touched(write_noise ? static_cast<size_t>(p.in) : 0u, 0);
#pragma omp for schedule(dynamic, 1)
    for (int64_t i = 0; i < p.out; ++i) {
      T* wrow = p.target + i * p.in;
      for (int64_t b = 0; b < p.m; ++b) {
        const int32_t bl = p.bl[b];
        if (bl == 0) continue;
        const uint64_t* bd = nullptr;
        T vd = T(0);
        bool neg_d = false;
        if (stochastic) {
          bd = p.bits_d + (i * p.m + b) * words;
          uint64_t any = 0;
          for (int32_t w = 0; w < words; ++w) any |= bd[w];
          if (any == 0) continue;
          neg_d = p.neg_d[i * p.m + b] != 0;
        } else {
          vd = p.val_d[i * p.m + b];
          if (vd == T(0)) continue;
        }
        const int32_t* act = p.act_x + b * p.in;
        const int32_t n_act = p.n_act[b];
        const uint64_t* bxb = stochastic ? p.bits_x + b * p.in * words : nullptr;
        const T* xb = p.x + b * p.in;
        for (int32_t a = 0; a < n_act; ++a) {
          const int64_t j = act[a];
          int32_t n;
          bool up;
          if (stochastic) {
            n = words == 1 ? popcount64(bxb[j] & bd[0]) : coincidences(bxb + j * words, bd, words);
            if (n == 0) continue;
            up = pulse_up(xb[j] < T(0), neg_d, p.neg_lr);
          } else {
            const int32_t sn = deterministic_count(p.type, p.val_x[b * p.in + j], vd, bl);
            if (sn == 0) continue;
            n = sn < 0 ? -sn : sn;
            up = (sn < 0) != p.neg_lr;
          }
          const int64_t cell = i * p.in + j;
          const DeviceCell<T> c = load_cell(p.cells_v, Model::kCellFields, cell);
          wrow[j] = apply_pulses<Model>(c, p.dev, wrow[j], n, up, p.seed, p.call, noise_base(p, b, cell));
          n_up += up ? n : 0;
          n_down += up ? 0 : n;
          if (write_noise && !is_touched[j]) {
            is_touched[j] = 1;
            touched.push_back(static_cast<int32_t>(j));
          }
        }
      }
      if (write_noise) {
        for (const int32_t j : touched) {
          const int64_t cell = i * p.in + j;
          p.weight[cell] = apparent_weight(p, cell, wrow[j]);
          is_touched[j] = 0;
        }
        touched.clear();
      }
    }
  }
  if (p.counters != nullptr) {
    p.counters[kCounterCoincidencesUp] += n_up;
    p.counters[kCounterCoincidencesDown] += n_down;
  }
}

template <typename T>
void run(const PulsedUpdateArgs& a) {
  const UpdateKernelParams<T> p = make_update_params<T>(a);
  if (p.m == 0) return;
  const double work = prepare_samples(p);
  visit_device(a.device.model, [&](auto model) { update_rows<decltype(model)>(p, work); });
}

}  // namespace

void pulsed_update(const PulsedUpdateArgs& a) {
  if (a.weight.dtype == DType::kFloat64) run<double>(a);
  else run<float>(a);
}

}  // namespace xbarsim::cpu
