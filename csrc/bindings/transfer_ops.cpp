// _core bindings of the multi-tile ops: the fused transfers, the reduction of the visible weight and
// the random line draw of random_selection. Thin: convert, check cheaply, release the GIL, dispatch.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <vector>

#include "../dispatch.h"
#include "device_checks.h"
#include "registry.h"
#include "views.h"
#include "xbarsim/ops/testing.h"
#include "xbarsim/ops/transfer.h"
#include "xbarsim/rng/distributions.h"

namespace py = pybind11;

namespace xbarsim::bindings {
namespace {

struct TileLists {
  std::vector<TensorView> weights;
  std::vector<std::optional<TensorView>> persistents, counters, piecewise_up, piecewise_down;
  std::vector<DeviceCellViews> cells;
  std::vector<DeviceConfigArgs> device_models;
  std::vector<double> granularities;
  std::vector<uint64_t> seeds;
};

std::string tile_arg(const char* name, size_t k) {
  return std::string("transfer: ") + name + "[" + std::to_string(k) + "]";
}

// Tile k: its weight like weights[0] (shape, dtype, device), and every persistent tensor it brings
// (persistent weights, counters, per-cell arrays, piecewise tables) on that device with the shape and
// dtype the kernels dereference.
void check_tile(const TileLists& t, size_t k) {
  const TensorView& w0 = t.weights[0];
  const TensorView& w = t.weights[k];
  const std::string name = tile_arg("weights", k);
  expect_floating(w, name.c_str(), 2);
  if (w.dtype != w0.dtype) throw py::type_error(name + " must have the dtype of weights[0]");
  if (w.shape[0] != w0.shape[0] || w.shape[1] != w0.shape[1])
    throw py::value_error(name + " must have the shape of weights[0]");
  expect_same_device(w, w0, name.c_str(), "weights[0]");
  if (t.persistents[k]) check_matrix(tile_arg("persistents", k), *t.persistents[k], w, w.shape[0], w.shape[1]);
  if (t.counters[k]) check_counters(tile_arg("counters", k), *t.counters[k], w);
  check_cells(tile_arg("cells", k), t.cells[k], t.device_models[k].model, w);
  if (t.device_models[k].model == DeviceModel::kPiecewiseStep)
    check_piecewise("transfer", t.piecewise_up[k], t.piecewise_down[k], w, "[" + std::to_string(k) + "]");
  if (!(t.granularities[k] > 0.0)) throw py::value_error(tile_arg("granularities", k) + " must be > 0");
}

void fill_tiles(TransferArgs& a, const TileLists& t) {
  const size_t n = t.weights.size();
  if (n < 1 || n > static_cast<size_t>(kMaxTransferTiles))
    throw py::value_error("transfer: weights must list 1 to " + std::to_string(kMaxTransferTiles) + " tiles; got " +
                          std::to_string(n));
  if (t.persistents.size() != n || t.counters.size() != n || t.cells.size() != n || t.device_models.size() != n ||
      t.granularities.size() != n || t.seeds.size() != n || t.piecewise_up.size() != n ||
      t.piecewise_down.size() != n)
    throw py::value_error("transfer: every per-tile list must have one entry per tile");
  a.n_tiles = static_cast<int32_t>(n);
  for (size_t k = 0; k < n; ++k) {
    check_tile(t, k);
    TransferTileArgs& tile = a.tiles[k];
    tile.weight = t.weights[k];
    tile.persistent = t.persistents[k].value_or(TensorView{});
    tile.counters = t.counters[k].value_or(TensorView{});
    tile.cells = t.cells[k];
    tile.piecewise_up = t.piecewise_up[k].value_or(TensorView{});
    tile.piecewise_down = t.piecewise_down[k].value_or(TensorView{});
    tile.device = t.device_models[k];
    tile.granularity = t.granularities[k];
    tile.seed = t.seeds[k];
  }
}

void check_event_table(const TransferArgs& a) {
  expect_view(a.events, "transfer: events", 2, DType::kInt64);
  expect_view(a.rates, "transfer: rates", 2, DType::kFloat64);
  if (a.events.device != DeviceKind::kCPU || a.rates.device != DeviceKind::kCPU)
    throw py::value_error("transfer: events and rates must be in host memory");
  if (a.events.shape[1] != kEvColumns || a.rates.shape[1] != kRateColumns || a.rates.shape[0] != a.events.shape[0])
    throw py::value_error("transfer: events must be [E, 6] and rates [E, 3]");
  const int64_t out = a.tiles[0].weight.shape[0], in = a.tiles[0].weight.shape[1];
  const int64_t lines = a.transpose ? out : in;
  const int64_t* ev = a.events.ptr<const int64_t>();
  for (int64_t e = 0; e < a.events.shape[0]; ++e) {
    const int64_t* r = ev + e * kEvColumns;
    if (r[kEvSource] < 0 || r[kEvSource] >= a.n_tiles || r[kEvTarget] < 0 || r[kEvTarget] >= a.n_tiles)
      throw py::value_error("transfer: event tiles must be in [0, n_tiles)");
    if (r[kEvLine] < 0 || r[kEvLine] >= lines) throw py::value_error("transfer: event lines must be in [0, lines)");
    if (r[kEvReadCall] < 0 || r[kEvWriteCall] < 0) throw py::value_error("transfer: calls must be >= 0");
    if (a.kind != TransferKind::kDirect) {
      if (a.buffers.ndim != 3 || r[kEvBufferIndex] < 0 || r[kEvBufferIndex] >= a.buffers.shape[0])
        throw py::value_error("transfer: buffered events need a buffer index into buffers [n, out, in]");
    }
  }
}

// The buffers (buffered kinds) and the chopper signs (chopped): the tiles' dtype and device.
void check_buffers(const TransferArgs& a) {
  const TensorView& w0 = a.tiles[0].weight;
  const int64_t out = w0.shape[0], in = w0.shape[1];
  if (a.kind != TransferKind::kDirect) {
    expect_floating(a.buffers, "transfer: buffers", 3);
    if (a.buffers.shape[1] != out || a.buffers.shape[2] != in || a.buffers.dtype != w0.dtype)
      throw py::value_error("transfer: buffers must be [n, out, in] in the tiles' dtype");
    expect_same_device(a.buffers, w0, "transfer: buffers", "weights[0]");
  }
  if (a.kind == TransferKind::kChopped) {
    expect_floating(a.chop_in, "transfer: chop_in", 1);
    expect_floating(a.chop_out, "transfer: chop_out", 1);
    if (a.chop_in.shape[0] != in || a.chop_out.shape[0] != out)
      throw py::value_error("transfer: chop_in must be [in] and chop_out [out]");
    if (a.chop_in.dtype != w0.dtype || a.chop_out.dtype != w0.dtype)
      throw py::type_error("transfer: chop_in and chop_out must have the tiles' dtype");
    expect_same_device(a.chop_in, w0, "transfer: chop_in", "weights[0]");
    expect_same_device(a.chop_out, w0, "transfer: chop_out", "weights[0]");
  }
}

TransferArgs make_args(const TileLists& tiles, const TensorView& events, const TensorView& rates, const IoParams& io,
                       double out_scale, const UpdateArgs& update, bool transpose, int kind,
                       const std::optional<TensorView>& buffers, const std::optional<TensorView>& chop_in,
                       const std::optional<TensorView>& chop_out, int buffer_bl, double momentum, bool forget_buffer,
                       bool no_buffer) {
  TransferArgs a{};
  fill_tiles(a, tiles);
  a.events = events;
  a.rates = rates;
  a.io = io;
  a.out_scale = out_scale;
  a.update = update;
  a.transpose = transpose;
  if (kind < 0 || kind > 2) throw py::value_error("transfer: kind must be 0 (direct), 1 (buffered) or 2 (chopped)");
  a.kind = static_cast<TransferKind>(kind);
  a.buffers = buffers.value_or(TensorView{});
  a.chop_in = chop_in.value_or(TensorView{});
  a.chop_out = chop_out.value_or(TensorView{});
  a.buffer_bl = buffer_bl;
  a.momentum = momentum;
  a.forget_buffer = forget_buffer;
  a.no_buffer = no_buffer;
  check_event_table(a);
  check_buffers(a);
  return a;
}

int64_t scratch_bytes_binding(const std::vector<TensorView>& weights, const std::vector<double>& granularities,
                              const TensorView& events, const TensorView& rates, const UpdateArgs& update) {
  TransferArgs a{};
  if (weights.empty() || weights.size() != granularities.size() ||
      weights.size() > static_cast<size_t>(kMaxTransferTiles))
    throw py::value_error("transfer_scratch_bytes: weights and granularities must list the same tiles");
  a.n_tiles = static_cast<int32_t>(weights.size());
  for (size_t k = 0; k < weights.size(); ++k) {
    a.tiles[k].weight = weights[k];
    a.tiles[k].granularity = granularities[k];
  }
  a.events = events;
  a.rates = rates;
  a.update = update;
  expect_view(a.events, "transfer_scratch_bytes: events", 2, DType::kInt64);
  expect_view(a.rates, "transfer_scratch_bytes: rates", 2, DType::kFloat64);
  if (a.events.device != DeviceKind::kCPU || a.rates.device != DeviceKind::kCPU)
    throw py::value_error("transfer_scratch_bytes: events and rates must be in host memory");
  if (a.events.shape[1] != kEvColumns || a.rates.shape[1] != kRateColumns || a.rates.shape[0] != a.events.shape[0])
    throw py::value_error("transfer_scratch_bytes: events must be [E, 6] and rates [E, 3]");
  const int64_t* ev = a.events.ptr<const int64_t>();
  for (int64_t e = 0; e < a.events.shape[0]; ++e) {
    const int64_t target = ev[e * kEvColumns + kEvTarget];
    if (target < 0 || target >= a.n_tiles)
      throw py::value_error("transfer_scratch_bytes: event tiles must be in [0, n_tiles)");
  }
  const int64_t bl = detail::transfer_bl_max(a);
  if (is_pulsed(update.pulse_type) && bl > kMaxBL)
    throw py::value_error("transfer: transfer rates must give at most " + std::to_string(kMaxBL) +
                          " pulses per write without BL management");
  return static_cast<int64_t>(transfer_scratch_bytes(a));
}

void transfer_binding(std::vector<TensorView> weights, std::vector<std::optional<TensorView>> persistents,
                      std::vector<std::optional<TensorView>> counters, std::vector<DeviceCellViews> cells,
                      std::vector<std::optional<TensorView>> piecewise_up,
                      std::vector<std::optional<TensorView>> piecewise_down,
                      std::vector<DeviceConfigArgs> device_models, std::vector<double> granularities,
                      std::vector<uint64_t> seeds, const TensorView& events, const TensorView& rates,
                      const TensorView& scratch, const IoParams& io, double out_scale, const UpdateArgs& update,
                      bool transpose, int kind, const std::optional<TensorView>& buffers,
                      const std::optional<TensorView>& chop_in, const std::optional<TensorView>& chop_out,
                      int buffer_bl, double momentum, bool forget_buffer, bool no_buffer, uintptr_t cuda_stream) {
  TileLists t{std::move(weights), std::move(persistents), std::move(counters), std::move(piecewise_up),
              std::move(piecewise_down), std::move(cells), std::move(device_models), std::move(granularities),
              std::move(seeds)};
  TransferArgs a = make_args(t, events, rates, io, out_scale, update, transpose, kind, buffers, chop_in, chop_out,
                             buffer_bl, momentum, forget_buffer, no_buffer);
  expect_view(scratch, "transfer: scratch", 1, DType::kUInt8);
  expect_same_device(scratch, a.tiles[0].weight, "transfer: scratch", "weights[0]");
  if (static_cast<size_t>(scratch.numel()) < transfer_scratch_bytes(a))
    throw py::value_error("transfer: scratch is smaller than transfer_scratch_bytes");
  a.scratch = scratch;
  py::gil_scoped_release release;
  dispatch_by_device(a.tiles[0].weight, [&] { cpu::transfer(a); }, [&] { cuda::transfer(a, cuda_stream); });
}

void tile_reduce_binding(const TensorView& out, const std::vector<TensorView>& tiles, const std::vector<double>& gammas,
                         uintptr_t cuda_stream) {
  expect_floating(out, "tile_reduce: out", 2);
  if (tiles.empty() || tiles.size() != gammas.size() || tiles.size() > static_cast<size_t>(kMaxTransferTiles))
    throw py::value_error("tile_reduce: tiles and gammas must have the same length, 1 to 16");
  TileReduceArgs a{};
  a.out = out;
  a.n_tiles = static_cast<int32_t>(tiles.size());
  for (size_t k = 0; k < tiles.size(); ++k) {
    expect_floating(tiles[k], "tile_reduce: tiles[k]", 2);
    if (tiles[k].dtype != out.dtype || tiles[k].shape[0] != out.shape[0] || tiles[k].shape[1] != out.shape[1])
      throw py::value_error("tile_reduce: tiles must have the shape and dtype of out");
    expect_same_device(tiles[k], out, "tile_reduce: tiles[k]", "out");
    a.tiles[k] = tiles[k];
    a.gammas[k] = gammas[k];
  }
  py::gil_scoped_release release;
  dispatch_by_device(out, [&] { cpu::tile_reduce(a); }, [&] { cuda::tile_reduce(a, cuda_stream); });
}

void chi_accumulate_binding(const TensorView& chi, const TensorView& x, const TensorView& d, double lr,
                            uintptr_t cuda_stream) {
  expect_floating(chi, "chi_accumulate: chi", 2);
  expect_floating(x, "chi_accumulate: x", 2);
  expect_floating(d, "chi_accumulate: d", 2);
  if (x.dtype != chi.dtype || d.dtype != chi.dtype) throw py::type_error("chi_accumulate: dtypes differ");
  if (x.shape[0] != d.shape[0] || x.shape[1] != chi.shape[1] || d.shape[1] != chi.shape[0])
    throw py::value_error("chi_accumulate: x must be [m, in] and d [m, out] for chi [out, in]");
  expect_same_device(x, chi, "chi_accumulate: x", "chi");
  expect_same_device(d, chi, "chi_accumulate: d", "chi");
  ChiAccumulateArgs a{chi, x, d, lr};
  py::gil_scoped_release release;
  dispatch_by_device(chi, [&] { cpu::chi_accumulate(a); }, [&] { cuda::chi_accumulate(a, cuda_stream); });
}

void transfer_fill_binding(const TensorView& out, uint64_t seed, uint64_t call, const std::string& kind,
                           uintptr_t cuda_stream) {
  // The algorithms' bulk draws (quantisation rounding, resets) reuse the random fill loops of
  // ops/testing.h on the transfer stream.
  expect_view(out, "transfer_fill: out", out.ndim, DType::kFloat32);
  FillRandomArgs a;
  a.out = out;
  a.seed = seed;
  a.stream = static_cast<uint32_t>(Stream::kTransfer);
  a.call = call;
  if (kind == "uniform") a.kind = RandomKind::kUniform;
  else if (kind == "normal") a.kind = RandomKind::kNormal;
  else throw py::value_error("transfer_fill: kind must be 'uniform' or 'normal'; got " + kind);
  py::gil_scoped_release release;
  dispatch_by_device(out, [&] { cpu::fill_random(a); }, [&] { cuda::fill_random(a, cuda_stream); });
}

int64_t random_line(uint64_t seed, uint64_t call, uint64_t index, int64_t n_lines) {
  if (n_lines < 1) throw py::value_error("random_line: n_lines must be >= 1");
  const float u = uniform_at(seed, Stream::kTransfer, call, index);
  const int64_t line = static_cast<int64_t>(static_cast<double>(u) * static_cast<double>(n_lines));
  return line < n_lines ? line : n_lines - 1;
}

void register_transfer_entry_points(py::module_& m) {
  m.def("transfer_scratch_bytes", &scratch_bytes_binding, py::arg("weights"), py::arg("granularities"),
        py::arg("events"), py::arg("rates"), py::arg("update"), "Bytes of the scratch buffer of one transfer call.");
  m.def("transfer", &transfer_binding, py::arg("weights"), py::arg("persistents"), py::arg("counters"),
        py::arg("cells"), py::arg("piecewise_up"), py::arg("piecewise_down"), py::arg("device_models"),
        py::arg("granularities"), py::arg("seeds"), py::arg("events"), py::arg("rates"), py::arg("scratch"),
        py::arg("io"), py::arg("out_scale"), py::arg("update"), py::arg("transpose"), py::arg("kind"),
        py::arg("buffers"), py::arg("chop_in"), py::arg("chop_out"), py::arg("buffer_bl"), py::arg("momentum"),
        py::arg("forget_buffer"), py::arg("no_buffer"), py::arg("cuda_stream") = 0,
        "All transfer events of one call, in order: one-hot read through the transfer IO, the written "
        "vector (direct or buffered), the pulsed write of the line (algorithms.md §3.3, §8.3, §8.4).");
}

void register_tile_arithmetic(py::module_& m) {
  m.def("tile_reduce", &tile_reduce_binding, py::arg("out"), py::arg("tiles"), py::arg("gammas"),
        py::arg("cuda_stream") = 0,
        "out = Σ_n gammas[n]·tiles[n], summed in tile order (the visible weight W̄, algorithms.md §1).");
  m.def("chi_accumulate", &chi_accumulate_binding, py::arg("chi"), py::arg("x"), py::arg("d"), py::arg("lr"),
        py::arg("cuda_stream") = 0,
        "chi += lr·dᵀx, samples added in order (mixed precision's digital accumulator, algorithms.md §8.6).");
}

void register_transfer_draws(py::module_& m) {
  m.def("random_line", &random_line, py::arg("seed"), py::arg("call"), py::arg("index"), py::arg("n_lines"),
        "floor(U·n_lines) with U = uniform_at(seed, Stream::kTransfer, call, index): a uniformly random line.");
  m.def("transfer_uniform",
        [](uint64_t seed, uint64_t call, uint64_t index) {
          return static_cast<double>(uniform_at(seed, Stream::kTransfer, call, index));
        },
        py::arg("seed"), py::arg("call"), py::arg("index"),
        "uniform_at(seed, Stream::kTransfer, call, index) on [0, 1): the algorithms' host-side draws.");
  m.def("transfer_fill", &transfer_fill_binding, py::arg("out"), py::arg("seed"), py::arg("call"), py::arg("kind"),
        py::arg("cuda_stream") = 0, "out[i] = uniform_at / normal_at(seed, Stream::kTransfer, call, i) (float32).");
}

}  // namespace

void register_transfer_ops(py::module_& m) {
  register_transfer_entry_points(m);
  register_tile_arithmetic(m);
  register_transfer_draws(m);
}

}  // namespace xbarsim::bindings
