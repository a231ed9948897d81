"""Every script in examples/ runs at its tiny size (``--tiny``), in a fresh interpreter on one thread,
and the example run configuration loads and resolves.

Spec: STYLE.md §3 "Tests" (integration: every example at toy size).
"""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SCRIPTS = sorted(p.name for p in EXAMPLES.glob("*.py"))


def _run(script: str, *args: str, cwd: pathlib.Path) -> str:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", MPLBACKEND="Agg", XBARSIM_OFFLINE="1",
               XBARSIM_DATA=str(cwd / "no-data"))   # never find (or fetch) a real CIFAR: the random-data path
    proc = subprocess.run([sys.executable, str(EXAMPLES / script), "--tiny", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_every_example_is_tested():
    assert SCRIPTS == ["analog_mlp.py", "compare_algorithms.py", "convert_resnet.py", "numpy_dlpack.py"]


def test_analog_mlp(tmp_path):
    out = _run("analog_mlp.py", cwd=tmp_path)
    assert "epoch 1: test accuracy" in out


def test_convert_resnet(tmp_path):
    out = _run("convert_resnet.py", cwd=tmp_path)
    assert "11 analog layers" in out                  # layer3, layer4 (shortcuts included) and fc
    assert "fc                           AnalogLinear" in out
    assert "random CIFAR-shaped images" in out
    assert "step   2: loss" in out


def test_compare_algorithms(tmp_path):
    out = _run("compare_algorithms.py", "--out", str(tmp_path / "loss.png"), cwd=tmp_path)
    for name in ("analog SGD", "TT-v2", "c-TTv2", "MP", "ResL (4 tiles)"):
        assert name in out
    assert (tmp_path / "loss.png").stat().st_size > 0


def test_numpy_dlpack(tmp_path):
    out = _run("numpy_dlpack.py", cwd=tmp_path)
    assert "exact read matches x @ W.T: True" in out
    assert "same (seed, call) identical: True" in out
    assert "step   19:" in out


@pytest.mark.parametrize("name", ["train_config.yaml"])
def test_example_config_loads_and_resolves(name):
    from xbarsim.train import load_yaml, resolve

    cfg = load_yaml(EXAMPLES / name)
    resolved = resolve(cfg)
    assert resolved.preset == "table1/fashion-mnist/resl-3"
    assert resolved.tile_config.algorithm.n_tiles == cfg.tiles == 3
    assert resolved.tile_config.forward.is_perfect is False
