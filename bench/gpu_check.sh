#!/usr/bin/env bash
# The first GPU session in one script (about 8 minutes on one H100 with 16 cores): build xbarsim for
# sm_90, print `python -m xbarsim info`, run the CPU == CUDA parity tests and the golden tests on CUDA,
# the ISA-copy test (the GPU hosts' CPUs usually have AVX-512, which the build machine lacks), a short
# compute-sanitizer pass (memcheck, initcheck, racecheck) and the CUDA benchmarks. Everything is
# written to $OUT (or ./gpu_check_out): one log per step plus summary.txt.
#
#   bash bench/gpu_check.sh            # from the repository root, in an environment with CUDA torch
#
# Each step has its own time limit so that a hang cannot eat the session; a failed step is recorded
# and the script goes on. Exit status: 0 if every step passed, 1 otherwise.
set -u
cd "$(dirname "$0")/.."
OUT="${OUT:-$PWD/gpu_check_out}"
mkdir -p "$OUT"
PY="${PYTHON:-python}"
JOBS="${JOBS:-$(nproc)}"
T0=$(date +%s)
status=0
: > "$OUT/summary.txt"

# run NAME LIMIT_SECONDS COMMAND...: logs to $OUT/NAME.log, records the outcome in summary.txt.
run() {
  local name="$1" limit="$2"
  shift 2
  local t=$(date +%s)
  echo "=== [+$((t - T0))s] $name (limit ${limit}s): $*" | tee -a "$OUT/summary.txt"
  timeout --kill-after=10 "$limit" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  local msg="ok"
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then msg="TIMEOUT"; elif [ $rc -ne 0 ]; then msg="FAILED (exit $rc)"; fi
  [ $rc -ne 0 ] && status=1
  echo "    $name: $msg in $(( $(date +%s) - t ))s; last lines:" | tee -a "$OUT/summary.txt"
  tail -n 5 "$OUT/$name.log" | sed 's/^/      /' | tee -a "$OUT/summary.txt"
  return $rc
}

run environment 60 bash -c "nvidia-smi; nvcc --version; $PY -c 'import torch; print(torch.__version__, torch.version.cuda, torch.cuda.is_available(), torch.cuda.device_count(), torch.cuda.get_device_name() if torch.cuda.is_available() else None)'; lscpu | grep -i -E \"model name|flags\" | cut -c1-400"

# sm_90 only (H100/H200): a third of the default build's CUDA compile time.
if ! run build 330 env XBARSIM_CUDA=ON CUDAARCHS=90 CMAKE_BUILD_PARALLEL_LEVEL="$JOBS" \
    "$PY" -m pip install --no-build-isolation -v . -Ccmake.define.CMAKE_CUDA_ARCHITECTURES=90; then
  echo "build failed: nothing else can run" | tee -a "$OUT/summary.txt"
  exit 1
fi

run info 60 "$PY" -m xbarsim info
# A core that cannot see the GPU torch sees makes every CUDA test fail (tests/conftest.py): stop early.
run cuda_visible 60 "$PY" -c "import xbarsim, torch; assert torch.cuda.is_available(), 'torch sees no GPU'; \
assert xbarsim.cuda_available(), xbarsim.build_info()" || { echo "no usable GPU: stopping" | tee -a "$OUT/summary.txt"; exit 1; }

run parity 150 "$PY" -m pytest -q -x -p no:cacheprovider -m "not slow" tests/parity \
    --junitxml="$OUT/parity.xml"
run golden 60 "$PY" -m pytest -q -p no:cacheprovider tests/reference/test_update_golden.py \
    tests/reference/test_io_golden.py --junitxml="$OUT/golden.xml"
run isa_copies 90 "$PY" -m pytest -q -p no:cacheprovider tests/unit/test_isa_clones.py
# A short subset under each sanitizer tool: transfers (cooperative multi-block events, shared-memory
# reductions), the update kernels and the read path's scan.
run sanitizer 100 "$PY" tests/parity/run_sanitizer.py --out "$OUT/sanitizer" --timeout 30 \
    -k "lines_longer_than_a_block and adc_noise and direct or long_train_parity or running_max_bit_identical"
run bench 90 "$PY" bench/run.py --device cuda --out "$OUT/bench_cuda.json"
if [ $? -ne 0 ]; then run bench_quick 45 "$PY" bench/run.py --device cuda --quick --out "$OUT/bench_cuda_quick.json"; fi
# With time left: the slow parity tests (the 4096 x 4096 batch-1024 update, 16.8 M-cell clipping).
if [ $(( $(date +%s) - T0 )) -lt 400 ]; then
  run parity_slow 80 "$PY" -m pytest -q -p no:cacheprovider -m slow tests/parity --junitxml="$OUT/parity_slow.xml"
fi

echo "=== done in $(( $(date +%s) - T0 ))s, status $status" | tee -a "$OUT/summary.txt"
exit $status
