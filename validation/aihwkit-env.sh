#!/usr/bin/env bash
# Build the peer simulator for validation/: aihwkit 1.2.0, CPU only, from its source distribution,
# in a virtualenv of its own (default validation/.venv-aihwkit). aihwkit is never a dependency of
# xbarsim: only the scripts in validation/ and the live compat tests use it, and they skip without it.
#
#   bash validation/aihwkit-env.sh [VENV_DIR]
#
# Needs Debian's libopenblas-dev (installed here with apt-get when missing and we are root).
# On 2 busy cores the build takes 10-40 minutes; set MAKEFLAGS to use more cores.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${1:-$HERE/.venv-aihwkit}"
PY="${PYTHON:-python3}"

if ! dpkg -s libopenblas-dev >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && apt-get install -y -qq libopenblas-dev
    else
        echo "aihwkit-env.sh: install Debian's libopenblas-dev first" >&2; exit 1
    fi
fi

"$PY" -m venv "$VENV"
# The build calls mypy's stubgen from PATH.
export PATH="$VENV/bin:$PATH"
pip install -q --upgrade pip
pip install -q torch==2.13.0 numpy scipy protobuf requests tqdm "scikit-build>=0.18.1" \
    "pybind11>=3.0.1" ninja "cmake>=4.2.1" mypy setuptools wheel pyyaml
export MAKEFLAGS="${MAKEFLAGS:--j2}"
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"
nice -n "${NICE:-0}" pip install -v --no-build-isolation --no-deps --no-binary aihwkit aihwkit==1.2.0
python -c "import aihwkit, aihwkit.simulator.rpu_base as r; print('aihwkit', aihwkit.__version__, 'cuda', r.cuda.is_compiled())"
