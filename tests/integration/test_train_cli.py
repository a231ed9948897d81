"""The `xbarsim` command line and the training loop end to end: runs, run directories, resume, signals.

Spec: experiments.md §11; docs/training.md.
"""
from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest
import torch

from xbarsim.cli.main import build_parser, main

COMMANDS = ("train", "reproduce", "sweep", "report", "info", "demo", "cost")
# Small, fast runs: one thread (the tests share the machine), 10 steps per epoch.
TINY = ["--limit", "160", "--test-limit", "64", "--batch-size", "16", "--threads", "1"]


def _xbarsim(*args: str, cwd=None, env=None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "xbarsim", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=600, **kw)


def _state(run: pathlib.Path) -> dict:
    payload = torch.load(run / "checkpoint.pt", weights_only=True)
    return payload["model"]


def _assert_same_model(a: pathlib.Path, b: pathlib.Path) -> None:
    sa, sb = _state(a), _state(b)
    assert sa.keys() == sb.keys()
    for k in sa:
        if isinstance(sa[k], torch.Tensor):
            assert torch.equal(sa[k], sb[k]), k
        else:
            assert sa[k] == sb[k], k


def _metrics(run: pathlib.Path) -> list[dict]:
    timing = ("steps_per_s", "epoch_train_s", "eval_s")
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in timing} for r in rows]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_top_level_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    text = capsys.readouterr().out
    assert all(c in text for c in COMMANDS)


def test_tiny_training_run_writes_the_run_directory(tmp_path, fashion_mnist_dir):
    run = tmp_path / "run"
    res = _xbarsim("train", "--dataset", "fashion-mnist", "--data-dir", str(fashion_mnist_dir.parent),
                   "--algorithm", "resl", "--tiles", "3", "--epochs", "2", *TINY, "--out", str(run))
    assert res.returncode == 0, res.stderr
    for name in ("config.yaml", "command.txt", "environment.json", "metrics.jsonl", "checkpoint.pt", "summary.json",
                 "plots/curves.png"):
        assert (run / name).is_file(), name
    rows = _metrics(run)
    assert [r["epoch"] for r in rows] == [1, 2] and [r["step"] for r in rows] == [10, 20]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["epochs_completed"] == 2
    assert summary["final_test_accuracy"] == rows[-1]["test_accuracy"]
    import yaml

    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["preset"] == "table1/fashion-mnist/resl-3" and config["tile_config"]["type"] == "TileConfig"
    assert "test accuracy" in res.stdout


def test_default_dataset_is_the_embedded_subset(tmp_path):
    """The README's first command needs no data files: the embedded Fashion-MNIST subset is the default."""
    run = tmp_path / "run"
    res = _xbarsim("train", "--algorithm", "sgd", "--epochs", "1", "--limit", "32", "--test-limit", "32",
                   "--threads", "1", "--out", str(run), env=dict(os.environ, XBARSIM_DATA=str(tmp_path / "none")))
    assert res.returncode == 0, res.stderr
    assert "fashion-mnist-mini" in (run / "config.yaml").read_text()


def test_an_existing_run_is_not_overwritten(tmp_path):
    run = tmp_path / "run"
    args = ["train", "--algorithm", "digital", "--epochs", "1", "--limit", "32", "--test-limit", "32",
            "--threads", "1", "--out", str(run)]
    assert _xbarsim(*args).returncode == 0
    res = _xbarsim(*args)
    assert res.returncode != 0 and "--resume" in res.stderr


def _start(run: pathlib.Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "xbarsim", "train", "--algorithm", "resl", "--tiles", "3",
                             "--epochs", "2", *TINY, "--checkpoint-every", "3", "--out", str(run), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_checkpoint(run: pathlib.Path, proc: subprocess.Popen, timeout: float = 300) -> None:
    start = time.monotonic()
    while not (run / "checkpoint.pt").is_file():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() - start < timeout
        time.sleep(0.05)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> pathlib.Path:
    """The uninterrupted run the interrupted ones must end equal to."""
    run = tmp_path_factory.mktemp("reference") / "run"
    res = _xbarsim("train", "--algorithm", "resl", "--tiles", "3", "--epochs", "2", *TINY, "--checkpoint-every",
                   "3", "--out", str(run))
    assert res.returncode == 0, res.stderr
    return run


def test_a_run_killed_mid_epoch_resumes_to_the_uninterrupted_result(tmp_path, reference):
    run = tmp_path / "killed"
    proc = _start(run)
    _wait_for_checkpoint(run, proc)
    time.sleep(0.3)  # a few more steps, so the kill lands between checkpoints
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    assert not (run / "summary.json").exists()
    resumed = _xbarsim("train", "--out", str(run), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    _assert_same_model(reference, run)
    assert _metrics(run) == _metrics(reference)


def test_sigint_saves_a_checkpoint_and_the_run_resumes(tmp_path, reference):
    run = tmp_path / "interrupted"
    proc = _start(run)
    _wait_for_checkpoint(run, proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signal.SIGINT, err
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "interrupted" and "--resume" in out
    resumed = _xbarsim("train", "--out", str(run), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((run / "summary.json").read_text())["status"] == "completed"
    _assert_same_model(reference, run)
    assert _metrics(run) == _metrics(reference)


def test_yaml_config_with_an_unknown_key_is_rejected(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("algorithm: resl\ntiels: 4\n")
    res = _xbarsim("train", "--config", str(path), "--out", str(tmp_path / "r"))
    assert res.returncode != 0 and "tiels" in res.stderr


def test_reproduce_toy_writes_a_report_and_plots(tmp_path):
    out = tmp_path / "toy"
    res = _xbarsim("reproduce", "toy", "--steps", "200", "--targets", "3", "--seeds", "1", "--tiles", "1", "2",
                   "--out", str(out))
    assert res.returncode == 0, res.stderr
    report = (out / "report.md").read_text()
    assert "| paper | noisy | 200 | 3 | 1 | 2 |" in report and "| theory | noise-free | 200 | 3 | 1 | 1 |" in report
    assert len(list(out.glob("*.png"))) == 4 and len(list(out.glob("*.json"))) == 4


def test_report_merges_toy_results_of_separate_commands(tmp_path):
    """Variants run by separate commands (own step counts) into separate directories: `xbarsim report`
    gathers them into one toy report; mixing toy and training directories is refused."""
    for variant, steps in (("paper", "120"), ("theory", "200")):
        res = _xbarsim("reproduce", "toy", "--variants", variant, "--noise", "noise-free", "--steps", steps,
                       "--targets", "2", "--seeds", "1", "--tiles", "1", "2", "--out", str(tmp_path / variant))
        assert res.returncode == 0, res.stderr
    res = _xbarsim("report", str(tmp_path / "paper"), str(tmp_path / "theory"), "--out", str(tmp_path / "all"))
    assert res.returncode == 0, res.stderr
    report = (tmp_path / "all" / "report.md").read_text()
    assert "| paper | noise-free | 120 | 2 | 1 | 2 |" in report and "| theory | noise-free | 200 | 2 | 1 | 1 |" in report
    (tmp_path / "run").mkdir()
    res = _xbarsim("report", str(tmp_path / "paper"), str(tmp_path / "run"))
    assert res.returncode != 0 and "not both" in res.stderr


def test_demo_runs_the_four_methods_in_parallel_and_prints_the_table(tmp_path):
    out = tmp_path / "demo"
    res = _xbarsim("demo", "--limit", "32", "--test-limit", "32", "--epochs", "1", "--workers", "2",
                   "--out", str(out))
    assert res.returncode == 0, res.stderr
    rows = [line.split()[0] for line in res.stdout.splitlines() if line.startswith("table1/fashion-mnist/")]
    assert rows == ["table1/fashion-mnist/digital", "table1/fashion-mnist/sgd", "table1/fashion-mnist/ttv2",
                    "table1/fashion-mnist/resl-4"]
    assert (out / "report.md").is_file() and (out / "accuracy.png").is_file()
    assert json.loads((out / "state.json").read_text())  # a sweep directory: rerunning skips finished runs


def test_reproduce_a_table_at_a_tiny_budget_and_rebuild_its_report(tmp_path):
    out = tmp_path / "t1"
    res = _xbarsim("reproduce", "table1", "--dataset", "fashion-mnist-mini", "--methods", "resl", "sgd",
                   "--tiles", "3", "--epochs", "1", "--limit", "32", "--test-limit", "32", "--threads", "1",
                   "--out", str(out))
    assert res.returncode == 0, res.stderr
    report = (out / "report.md").read_text()
    assert "table1/fashion-mnist/resl-3" in report and "73.35" not in report  # resl-3's paper cell is 68.09
    assert "68.09 ± 0.49" in report
    assert (out / "accuracy.png").is_file()
    again = _xbarsim("reproduce", "table1", "--dataset", "fashion-mnist-mini", "--methods", "resl", "sgd",
                     "--tiles", "3", "--epochs", "1", "--limit", "32", "--test-limit", "32", "--threads", "1",
                     "--out", str(out))
    assert again.returncode == 0 and again.stdout.count("skipped") == 2  # finished runs are not run again
    (out / "report.md").unlink()
    assert _xbarsim("report", str(out)).returncode == 0 and (out / "report.md").is_file()
