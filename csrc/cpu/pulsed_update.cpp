// CPU loop driver of the pulsed update (ops/pulsed_update.h): phase 1 parallel over samples, phase
// 2 parallel over rows (output lines); a row stays in cache while all samples are applied to it.
// Samples with BL = 0, rows whose output line never fires and input lines that never fire are
// skipped. Results do not depend on the thread count (every draw is keyed by position).
//
// The random draws run in batches (batched_draws.h) so that they vectorise: phase 1 draws a slot of
// all lines of one side at once; phase 2 first lists a row's pulse runs (cell, count, direction) for
// a chunk of samples, then draws all their cycle-to-cycle normals in one loop, then applies the
// runs in sample order. The numbers drawn and the order of the pulses are those of the per-element
// path (and of the CUDA kernel); only the loops around them differ.
#include "xbarsim/ops/pulsed_update.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "batched_draws.h"
#include "cpu_clones.h"
#include "xbarsim/devices/device_visit.h"
#include "xbarsim/math/abs_max.h"

namespace xbarsim::cpu {
namespace {

// Below this much work a loop runs on one thread: a parallel region costs more than it saves for
// small tiles and batches (and much more on an oversubscribed machine). Pure function of the
// shapes and of phase 1's counts; the results never depend on the thread count.
constexpr double kParallelWork = 65536.0;

// Per-thread scratch of phase 1: the lines' probabilities of one vector (padded to whole groups),
// one slot's Philox words and the bit-line words being built.
template <typename T>
struct SampleScratch {
  std::vector<T> prob;
  std::vector<uint32_t> slot_words;
  std::vector<uint64_t> acc;
  std::vector<int32_t> active;  // the groups of 4 lines with a nonzero probability
  explicit SampleScratch(const UpdateKernelParams<T>& p) {
    const size_t max_lines = static_cast<size_t>(4 * ((std::max(p.in, p.out) + 3) / 4));
    prob.assign(max_lines, T(0));
    if (is_stochastic(p.type)) {
      slot_words.assign(max_lines, 0u);
      acc.assign(max_lines, 0u);
      active.assign(max_lines / 4, 0);
    }
  }
};

struct SampleCounts {
  int64_t fired_x = 0, fired_d = 0, slots = 0;
  double work2 = 0.0;  // expected coincidence checks of phase 2
};

// Bit lines of one side of sample b (stochastic types), stored in the workspace layout.
template <typename T>
XB_INLINE int64_t sample_bit_lines(const UpdateKernelParams<T>& p, int64_t b, bool side_d, const BlAb& ab,
                                   SampleScratch<T>& s) {
  const int64_t lines = side_d ? p.out : p.in, groups = (lines + 3) / 4;
  sample_line_probabilities(p, b, side_d, ab, 0, lines, s.prob.data());
  for (int64_t line = lines; line < 4 * groups; ++line) s.prob[line] = T(0);
  const BitLineDraws draws{p.seed, side_d ? Stream::kBitLineD : Stream::kBitLineX, p.call,
                           static_cast<uint64_t>(b) * static_cast<uint64_t>(p.bl_max), static_cast<uint64_t>(groups),
                           ab.bl};
  // Lines with probability 0 (zero inputs: background pixels, dead units) never fire: their groups
  // are not drawn (bit_line_words). All groups active: the plain loop, without the index list.
  int64_t n_active = 0;
  for (int64_t g = 0; g < groups; ++g) {
    const T* pg = s.prob.data() + 4 * g;
    s.active[n_active] = static_cast<int32_t>(g);
    n_active += (pg[0] > T(0)) | (pg[1] > T(0)) | (pg[2] > T(0)) | (pg[3] > T(0));
  }
  const int32_t* active = n_active < groups ? s.active.data() : nullptr;
  int64_t fired = 0;
  for (int32_t word = 0; word < p.words; ++word) {
    bit_line_words(draws, s.prob.data(), lines, word, s.slot_words.data(), s.acc.data(), active, n_active);
    // x: [m, in, words]; d: [out, m, words]
    uint64_t* bits = side_d ? p.bits_d + b * p.words + word : p.bits_x + b * p.in * p.words + word;
    const int64_t stride = side_d ? p.m * p.words : p.words;
    for (int64_t line = 0; line < lines; ++line) bits[line * stride] = s.acc[line];
    if (p.counters != nullptr) {
      for (int64_t line = 0; line < lines; ++line) fired += popcount64(s.acc[line]);
    }
  }
  if (side_d) {
    const T* db = p.d + b * p.out;
    for (int64_t line = 0; line < lines; ++line) p.neg_d[line * p.m + b] = db[line] < T(0) ? 1 : 0;
  }
  return fired;
}

// Writes the indices of the lines whose bit-line words are not all zero to act (ascending) and
// returns their number: 64 lines at a time into a mask (a vectorised test), then its set bits.
XB_INLINE int32_t fired_lines(const uint64_t* bits, int64_t lines, int32_t words, int32_t* act) {
  int32_t n = 0;
  for (int64_t j0 = 0; j0 < lines; j0 += 64) {
    const int64_t len = lines - j0 < 64 ? lines - j0 : 64;
    uint64_t mask = 0;
    for (int64_t t = 0; t < len; ++t) {
      uint64_t any = 0;
      for (int32_t w = 0; w < words; ++w) any |= bits[(j0 + t) * words + w];
      mask |= static_cast<uint64_t>(any != 0) << t;
    }
    for (; mask != 0; mask &= mask - 1) act[n++] = static_cast<int32_t>(j0 + __builtin_ctzll(mask));
  }
  return n;
}

// Phase 1 for sample b: BL, A, B, then the bit lines (or line values) and the list of input lines
// that fire at least once.
template <typename T>
void prepare_sample(const UpdateKernelParams<T>& p, int64_t b, SampleScratch<T>& s, SampleCounts& n) {
  const BlAb ab = sample_bl_ab(p, abs_max_of(p.x + b * p.in, p.in), abs_max_of(p.d + b * p.out, p.out));
  p.bl[b] = ab.bl;
  n.slots += ab.bl;
  int32_t* act = p.act_x + b * p.in;
  int32_t n_act = 0;
  int64_t n_act_d = 0;
  if (ab.bl > 0 && is_stochastic(p.type)) {
    n.fired_d += sample_bit_lines(p, b, true, ab, s);
    for (int64_t i = 0; i < p.out; ++i) {
      uint64_t any = 0;
      for (int32_t w = 0; w < p.words; ++w) any |= p.bits_d[(i * p.m + b) * p.words + w];
      n_act_d += any != 0;
    }
    // No output line fired: no cell of this sample gets a pulse, and phase 2 never reads its input
    // bit lines (every row returns at its silent output line), so they are drawn only when the
    // counters need the input pulses. The draws are keyed by position: skipping them changes nothing.
    if (n_act_d > 0 || p.counters != nullptr) {
      n.fired_x += sample_bit_lines(p, b, false, ab, s);
      n_act = fired_lines(p.bits_x + b * p.in * p.words, p.in, p.words, act);
    }
  } else if (ab.bl > 0) {
    for (int64_t j = 0; j < p.in; ++j) {
      n.fired_x += sample_line_value(p, b, false, j, ab);
      if (p.val_x[b * p.in + j] != T(0)) act[n_act++] = static_cast<int32_t>(j);
    }
    for (int64_t i = 0; i < p.out; ++i) {
      n.fired_d += sample_line_value(p, b, true, i, ab);
      n_act_d += p.val_d[i * p.m + b] != T(0);
    }
  }
  n.work2 += static_cast<double>(n_act) * static_cast<double>(n_act_d) * (p.dev.noisy ? 8.0 : 1.0);
  p.n_act[b] = n_act;
}

// Returns an estimate of phase 2's work: rows x samples plus the expected coincidence checks.
template <typename T>
double prepare_samples(const UpdateKernelParams<T>& p) {
  int64_t fired_x = 0, fired_d = 0, slots = 0;
  double work2 = static_cast<double>(p.out) * static_cast<double>(p.m);
  const double work1 = static_cast<double>(p.m) * static_cast<double>(p.in + p.out) *
                       (1.0 + static_cast<double>(p.bl_max) / 16.0);
  // Static, contiguous blocks of vectors: the output-line arrays are [out, m, ...], so neighbouring
  // vectors write neighbouring words, and interleaved vectors on two threads would share cache lines.
#pragma omp parallel reduction(+ : fired_x, fired_d, slots, work2) if (work1 >= kParallelWork)
  {
    SampleScratch<T> scratch(p);
    SampleCounts counts;
#pragma omp for schedule(static)
    for (int64_t b = 0; b < p.m; ++b) with_cpu_isa([&] { prepare_sample(p, b, scratch, counts); });
    fired_x += counts.fired_x;
    fired_d += counts.fired_d;
    slots += counts.slots;
    work2 += counts.work2;
  }
  if (p.counters != nullptr) {
    p.counters[kCounterInputPulses] += fired_x;
    p.counters[kCounterOutputPulses] += fired_d;
    p.counters[kCounterPulseSlots] += slots;
  }
  return work2;
}

// The pulses one cell receives from one sample: `count` pulses in one direction.
struct PulseRun {
  int32_t col;    // j
  int32_t count;  // n >= 1
  int32_t up;     // 1: the weight increases
  int32_t first_normal;  // index into the chunk's normals (4 per Philox element), if noisy
};

// A chunk ends after the sample that brings it to this many Philox elements of noise (or runs):
// the normals (16 bytes per element) and runs stay in L2 while they are drawn and applied.
constexpr size_t kChunkDraws = 8192;

// Per-thread buffers of one chunk of one row.
struct RowChunk {
  std::vector<PulseRun> runs;
  std::vector<uint64_t> elements;  // Philox elements of the runs' normals, in run order
  std::vector<float> normals;      // 4 per element
  int32_t max_count = 0;
  void clear() {
    runs.clear();
    elements.clear();
    max_count = 0;
  }
};

// Lists the runs of row i for sample b into the chunk (in column order) and the Philox elements of
// their normals (apply_pulses' numbering: noise_base(b, cell) + k / 4 for pulse k).
template <typename T>
void list_sample_runs(const UpdateKernelParams<T>& p, int64_t i, int64_t b, bool noisy, RowChunk& chunk) {
  const bool stochastic = is_stochastic(p.type);
  const int32_t words = p.words;
  const int32_t bl = p.bl[b];
  if (bl == 0) return;
  const uint64_t* bd = nullptr;
  T vd = T(0);
  bool neg_d = false;
  if (stochastic) {
    bd = p.bits_d + (i * p.m + b) * words;
    uint64_t any = 0;
    for (int32_t w = 0; w < words; ++w) any |= bd[w];
    if (any == 0) return;
    neg_d = p.neg_d[i * p.m + b] != 0;
  } else {
    vd = p.val_d[i * p.m + b];
    if (vd == T(0)) return;
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
    chunk.runs.push_back(PulseRun{static_cast<int32_t>(j), n, up ? 1 : 0,
                                  static_cast<int32_t>(4 * chunk.elements.size())});
    chunk.max_count = std::max(chunk.max_count, n);
    if (noisy) {
      const uint64_t base = noise_base(p, b, i * p.in + j);
      for (int32_t k0 = 0; k0 < n; k0 += 4) chunk.elements.push_back(base + static_cast<uint64_t>(k0 >> 2));
    }
  }
}

// Applies the chunk's runs in order to row i (wrow = its target weights); adds the pulses to n_up / n_down.
template <class Model, typename T>
void apply_runs(const UpdateKernelParams<T>& p, int64_t i, T* wrow, bool noisy, const RowChunk& chunk,
                int64_t& n_up, int64_t& n_down) {
  for (const PulseRun& r : chunk.runs) {
    const DeviceCell<T> c = load_cell(p.cells_v, Model::kCellFields, i * p.in + r.col);
    const float* z = noisy ? chunk.normals.data() + r.first_normal : nullptr;
    wrow[r.col] = apply_pulses_drawn<Model>(c, p.dev, wrow[r.col], r.count, r.up != 0, z);
    (r.up ? n_up : n_down) += r.count;
  }
}

// Phase 2 for row i: chunks of samples, each listed, drawn and applied in order; then the apparent
// weights of the touched cells (write noise). touched: per-thread flags, all zero on entry and exit.
template <class Model, typename T>
void update_row(const UpdateKernelParams<T>& p, int64_t i, RowChunk& chunk, uint8_t* touched, int64_t& n_up,
                int64_t& n_down) {
  const bool write_noise = p.dev.write_noise != T(0);
  const bool noisy = p.dev.noisy;
  T* wrow = p.target + i * p.in;
  for (int64_t b = 0; b < p.m;) {
    chunk.clear();
    while (b < p.m && chunk.runs.size() < kChunkDraws && chunk.elements.size() < kChunkDraws) {
      list_sample_runs(p, i, b++, noisy, chunk);
    }
    if (chunk.runs.empty()) continue;
    if (noisy) {
      chunk.normals.resize(4 * chunk.elements.size());
      pulse_normals_batch(p.seed, p.call, chunk.elements.data(), static_cast<int64_t>(chunk.elements.size()),
                          chunk.max_count > 2, chunk.normals.data());
    }
    apply_runs<Model>(p, i, wrow, noisy, chunk, n_up, n_down);
    if (write_noise) {
      for (const PulseRun& r : chunk.runs) touched[r.col] = 1;
    }
  }
  if (write_noise) {  // the apparent weight of every cell the row's pulses touched, once
    for (int64_t j = 0; j < p.in; ++j) {
      if (!touched[j]) continue;
      p.weight[i * p.in + j] = apparent_weight(p, i * p.in + j, wrow[j]);
      touched[j] = 0;
    }
  }
}

template <class Model, typename T>
void update_rows(const UpdateKernelParams<T>& p, double work) {
  const bool write_noise = p.dev.write_noise != T(0);
  int64_t n_up = 0, n_down = 0;
#pragma omp parallel reduction(+ : n_up, n_down) if (work >= kParallelWork)
  {
    RowChunk chunk;
    std::vector<uint8_t> touched(write_noise ? static_cast<size_t>(p.in) : 0u, 0);
#pragma omp for schedule(dynamic, 1)
    for (int64_t i = 0; i < p.out; ++i)
      with_cpu_isa([&] { update_row<Model>(p, i, chunk, touched.data(), n_up, n_down); });
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
