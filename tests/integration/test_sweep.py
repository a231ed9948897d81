"""``xbarsim sweep``: spec validation, local parallel runs, resumption after a killed run, failures,
reports, and the same sweep on a local Ray instance.

One sweep of 4 tiny runs (resl and sgd × seeds 0 and 1, 2 workers) is run once for the module: one of
its runs is killed with SIGKILL mid-way, the sweep goes on, and the repeated command resumes it.

Spec: docs/sweeps.md.
"""
from __future__ import annotations

import json
import os
import pathlib
import signal
import statistics
import subprocess
import sys
import time

import pytest
import torch
import yaml

from conftest import in_ci
from xbarsim.cli.main import main
from xbarsim.experiments.sweep import SweepDirectory, load_spec, make_executor, parse_spec, plan_local

# 20 steps per epoch, a checkpoint every 5: a run is killed between checkpoints with a margin.
SPEC = {"fixed": {"epochs": 2, "limit": 320, "test_limit": 64, "batch_size": 16, "checkpoint_every": 5},
        "axes": {"algorithm": ["resl", "sgd"], "seed": [0, 1]}}
RUNS = ["algorithm=resl/seed0", "algorithm=resl/seed1", "algorithm=sgd/seed0", "algorithm=sgd/seed1"]
TIMING = ("steps_per_s", "epoch_train_s", "eval_s")


def _env() -> dict:
    return dict(os.environ, XBARSIM_OFFLINE="1")


def _sweep(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "xbarsim", "sweep", *args], capture_output=True, text=True,
                          timeout=600, env=_env(), **kw)


def _write_spec(path: pathlib.Path, spec: dict) -> pathlib.Path:
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def _state(out: pathlib.Path) -> dict:
    return json.loads((out / "state.json").read_text())["runs"]


def _metrics(run: pathlib.Path) -> list[dict]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in TIMING} for r in rows]


def _model(run: pathlib.Path) -> dict:
    return torch.load(run / "checkpoint.pt", weights_only=True)["model"]


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory):
    """The 4-run sweep with 2 workers, one run SIGKILLed after its first checkpoint, then repeated."""
    root = tmp_path_factory.mktemp("sweep")
    spec = _write_spec(root / "spec.yaml", SPEC)
    out = root / "out"
    args = [str(spec), "--workers", "2", "--threads", "1", "--out", str(out)]
    proc = subprocess.Popen([sys.executable, "-m", "xbarsim", "sweep", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env())
    killed = None
    deadline = time.monotonic() + 500
    while killed is None and proc.poll() is None and time.monotonic() < deadline:
        try:
            runs = _state(out)
        except (FileNotFoundError, json.JSONDecodeError):
            runs = {}
        for name, entry in runs.items():
            run = out / name
            if entry["status"] == "running" and "pid" in entry and (run / "checkpoint.pt").is_file() \
                    and not (run / "summary.json").exists():
                os.kill(entry["pid"], signal.SIGKILL)  # the sweep's child: a run crashing mid-way
                killed = name
                break
        time.sleep(0.02)
    first_out, first_err = proc.communicate(timeout=600)
    assert killed is not None, f"no run was caught between checkpoints:\n{first_out}\n{first_err}"
    first_state = _state(out)
    second = _sweep(*args)
    return {"root": root, "spec": spec, "out": out, "killed": killed, "first": (proc.returncode, first_out, first_err),
            "first_state": first_state, "second": second}


def test_a_killed_run_is_reported_and_the_others_finish(local_sweep):
    code, out, err = local_sweep["first"]
    killed = local_sweep["killed"]
    assert code == 1, err
    state = local_sweep["first_state"]
    assert state[killed]["status"] == "interrupted" and state[killed]["returncode"] == -signal.SIGKILL
    assert all(state[n]["status"] == "completed" and state[n]["attempts"] == 1 for n in RUNS if n != killed)
    assert f"interrupted {killed} (signal 9)" in out
    assert out.count("] completed ") == 3 and "test accuracy" in out  # one line per finished run
    assert "running on 2 local processes x 1 thread" in out


def test_the_repeated_sweep_resumes_the_killed_run_and_skips_the_others(local_sweep):
    res, out, killed = local_sweep["second"], local_sweep["out"], local_sweep["killed"]
    assert res.returncode == 0, res.stderr
    assert res.stdout.count("skipped") == 3 and f"completed (resumed) {killed}" in res.stdout
    state = _state(out)
    assert [state[n]["status"] for n in RUNS] == ["completed"] * 4
    assert state[killed]["attempts"] == 2 and state[killed]["wall_s"] > state[killed]["last_wall_s"]
    log = (out / killed / "log.txt").read_text()
    assert "=== xbarsim sweep: start" in log and "=== xbarsim sweep: resume" in log
    assert (out / "sweep.yaml").is_file() and yaml.safe_load((out / "sweep.yaml").read_text()) == SPEC
    for name in RUNS:
        assert yaml.safe_load((out / name / "spec.yaml").read_text())["seed"] == int(name[-1])


def test_the_resumed_run_equals_an_uninterrupted_run(local_sweep, tmp_path):
    killed = local_sweep["out"] / local_sweep["killed"]
    reference = tmp_path / "reference"
    res = subprocess.run([sys.executable, "-m", "xbarsim", "train", "--config", str(killed / "spec.yaml"),
                          "--threads", "1", "--out", str(reference)], capture_output=True, text=True, timeout=600,
                         env=_env())
    assert res.returncode == 0, res.stderr
    a, b = _model(reference), _model(killed)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]) if isinstance(a[k], torch.Tensor) else a[k] == b[k], k
    assert _metrics(killed) == _metrics(reference)


def test_the_report_aggregates_mean_and_std_over_seeds(local_sweep, tmp_path):
    out = local_sweep["out"]
    report = json.loads((out / "report.json").read_text())
    cells = {c["cell"]: c for c in report["cells"]}
    assert list(cells) == ["algorithm=resl", "algorithm=sgd"] and report["not_completed"] == []
    for cell, c in cells.items():
        finals = [100 * _metrics(out / cell / f"seed{s}")[-1]["test_accuracy"] for s in (0, 1)]
        assert c["final"] == finals and c["seeds"] == 2 and c["finished"] == 2
        row = f"| {cell} | — | {statistics.mean(finals):.2f} ± {statistics.stdev(finals):.2f} |"
        assert row in (out / "report.md").read_text()
    assert (out / "accuracy.png").is_file()
    # xbarsim report SWEEP_DIR rebuilds the same table
    assert main(["report", str(out), "--out", str(tmp_path)]) == 0
    again = json.loads((tmp_path / "report.json").read_text())
    assert [c["final"] for c in again["cells"]] == [c["final"] for c in report["cells"]]


def test_a_changed_spec_is_refused_in_the_same_directory(local_sweep, tmp_path):
    spec = dict(SPEC, fixed=dict(SPEC["fixed"], epochs=3))
    path = _write_spec(tmp_path / "changed.yaml", spec)
    before = (local_sweep["out"] / "state.json").read_text()
    with pytest.raises(SystemExit, match="other options"):
        main(["sweep", str(path), "--out", str(local_sweep["out"])])
    assert (local_sweep["out"] / "state.json").read_text() == before


def test_the_same_sweep_on_a_local_ray_instance_gives_the_same_table(local_sweep, tmp_path):
    try:
        import ray  # noqa: F401
    except ImportError:
        if in_ci():
            pytest.fail("Ray is not installed; CI installs the sweep extra (pip install '.[test,sweep]')")
        pytest.skip("Ray is not installed (pip install 'xbarsim[sweep]')")
    out = tmp_path / "ray"
    res = _sweep(str(local_sweep["spec"]), "--address", "local", "--workers", "2", "--threads", "1", "--out", str(out))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "a local Ray instance, 1 CPU per run, at most 2 at once" in res.stdout  # num_cpus = 2
    local = json.loads((local_sweep["out"] / "report.json").read_text())["cells"]
    remote = json.loads((out / "report.json").read_text())["cells"]
    assert [(c["cell"], c["final"], c["best"], c["epochs"]) for c in remote] == \
        [(c["cell"], c["final"], c["best"], c["epochs"]) for c in local]
    for name in RUNS:
        assert _metrics(out / name) == _metrics(local_sweep["out"] / name)


def test_a_failed_run_is_reported_with_its_log_and_does_not_stop_the_others(tmp_path):
    empty = tmp_path / "no-data"
    empty.mkdir()
    spec = _write_spec(tmp_path / "spec.yaml", {
        "fixed": {"algorithm": "digital", "epochs": 1, "limit": 32, "test_limit": 32, "data_dir": str(empty)},
        "axes": {"dataset": ["mnist", "fashion-mnist-mini"]}})
    out = tmp_path / "out"
    res = _sweep(str(spec), "--workers", "2", "--out", str(out))
    assert res.returncode == 1, res.stderr
    assert "FAILED dataset=mnist/seed0 (exit code 1)" in res.stdout and "FileNotFoundError: load: mnist" in res.stdout
    state = _state(out)
    assert state["dataset=mnist/seed0"]["status"] == "failed"
    assert state["dataset=fashion-mnist-mini/seed0"]["status"] == "completed"
    report = (out / "report.md").read_text()
    assert "## Runs that did not complete (1)" in report and "`dataset=mnist/seed0`: failed after 1 attempt" in report
    assert "FileNotFoundError: load: mnist" in report.split("## Runs that did not complete")[1]  # its log's tail
    assert "| dataset=fashion-mnist-mini |" in report


BAD_SPECS = [
    ({"axes": {"tiels": [3, 4]}}, "unknown option 'tiels' (did you mean 'tiles'?)"),
    ({"axes": {"algorithm": ["resl", "ttv9"]}}, "axes.algorithm: 'ttv9' is not one of"),
    ({"fixed": {"dataset": "cifar"}}, "fixed.dataset: 'cifar' is not one of"),
    ({"axes": {"tiles": ["four"]}}, "axes.tiles must be an int"),
    ({"axes": {"lr": ["fast"]}}, "axes.lr must be a number"),
    ({"fixed": {"epochs": 0}}, "epochs must be >= 1"),
    ({"axes": {"tiles": [1, 4]}}, "run tiles=1"),  # no residual learning with one tile
    ({"fixed": {"algorithm": "sgd"}, "axes": {"gamma": [0.3]}}, "gamma applies to residual learning"),
    ({"fixed": {"threads": 4}}, "set by the sweep"),
    ({"axes": {"seed": []}}, "non-empty list"),
    ({"axes": {"seed": 3}}, "non-empty list"),
    ({"grid": {}}, "unknown keys ['grid']"),
    ({"fixed": {"seed": 1}, "axes": {"seed": [0, 1]}}, "both in fixed and in axes"),
    ({"fixed": {"device": "gpu0"}}, "is not a torch device"),
]


@pytest.mark.parametrize("spec,message", BAD_SPECS, ids=[m for _, m in BAD_SPECS])
def test_a_bad_spec_is_rejected_before_anything_runs(tmp_path, spec, message):
    path = _write_spec(tmp_path / "bad.yaml", spec)
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as info:
        main(["sweep", str(path), "--out", str(out)])
    assert message in str(info.value)
    assert not out.exists()


def test_exponent_floats_yaml_leaves_as_strings_are_numbers():
    spec = parse_spec({"fixed": {"algorithm": "resl"}, "axes": {"lr": ["1e-2", 0.05], "seed": [0, 1]}})
    assert [p.config.lr for p in spec.points] == [0.01, 0.01, 0.05, 0.05]
    assert [p.name for p in spec.points][:2] == ["lr=0.01/seed0", "lr=0.01/seed1"]
    assert all(p.paper_key is None for p in spec.points)  # lr changes the method: no paper number beside it


def test_paper_cells_of_budget_only_sweeps():
    spec = parse_spec({"fixed": {"epochs": 1, "limit": 100}, "axes": {"tiles": [3, 4]}})
    assert [p.paper_key for p in spec.points] == ["table1/fashion-mnist/resl-3", "table1/fashion-mnist/resl-4"]
    assert [p.name for p in spec.points] == ["tiles=3/seed0", "tiles=4/seed0"]


def test_dry_run_lists_the_points_and_runs_nothing(tmp_path, capsys):
    path = _write_spec(tmp_path / "spec.yaml", SPEC)
    assert main(["sweep", str(path), "--dry-run", "--out", str(tmp_path / "out")]) == 0
    text = capsys.readouterr().out
    assert all(name in text for name in RUNS) and "4 runs would go into" in text
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("cores,workers,threads,expected", [
    (16, 1, None, (1, 16)), (16, 3, None, (3, 5)), (16, 4, None, (4, 4)), (2, 4, None, (2, 1)),
    (8, 4, 4, (2, 4)), (8, 2, 2, (2, 2)), (4, 1, 8, (1, 4)), (1, 1, None, (1, 1))])
def test_cpu_threads_are_split_fairly_and_never_exceed_the_cores(cores, workers, threads, expected):
    n, t, note = plan_local(cores, workers, threads)
    assert (n, t) == expected and n * t <= cores
    assert (note is None) == (n == workers and threads in (None, t))


def test_address_without_ray_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    points = parse_spec({"fixed": {"epochs": 1}}).points
    with pytest.raises(RuntimeError, match=r"pip install 'xbarsim\[sweep\]'"):
        make_executor(points, address="local")
    make_executor(points, workers=2)  # the local executor needs no Ray
    path = _write_spec(tmp_path / "spec.yaml", {"fixed": {"epochs": 1}})
    with pytest.raises(SystemExit, match=r"xbarsim\[sweep\]"):
        main(["sweep", str(path), "--address", "auto", "--out", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()


def test_executor_options_are_checked():
    cpu = parse_spec({"fixed": {"epochs": 1}}).points
    cuda = parse_spec({"fixed": {"epochs": 1, "device": "cuda"}}).points
    with pytest.raises(ValueError, match="needs --address"):
        make_executor(cpu, gpus_per_run=0.5)
    with pytest.raises(ValueError, match="must be 'local', 'auto'"):
        make_executor(cpu, address="ray.example.org")
    with pytest.raises(ValueError, match="trains on the CPU"):
        make_executor(cpu, address="auto", gpus_per_run=0.5)
    with pytest.raises(ValueError, match="add --gpus-per-run"):
        make_executor(cuda, address="auto")
    with pytest.raises(ValueError, match="--workers must be an int >= 1"):
        make_executor(cpu, workers=0)


def test_spec_files_are_read_safely(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text("fixed: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(ValueError, match="not valid YAML"):
        load_spec(path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_spec(tmp_path / "missing.yaml")


def test_a_sweep_directory_is_held_by_one_sweep(tmp_path):
    sweep = SweepDirectory(tmp_path / "s")
    with sweep.locked():
        with pytest.raises(RuntimeError, match="another sweep is running"):
            with SweepDirectory(tmp_path / "s").locked():
                pass
    with sweep.locked():  # released
        pass


def test_reproduce_runs_its_table_grid_through_the_sweep_engine(tmp_path):
    out = tmp_path / "t1"
    res = subprocess.run([sys.executable, "-m", "xbarsim", "reproduce", "table1", "--dataset", "fashion-mnist-mini",
                          "--methods", "resl", "sgd", "--tiles", "3", "--epochs", "1", "--limit", "32",
                          "--test-limit", "32", "--workers", "2", "--threads", "1", "--out", str(out)],
                         capture_output=True, text=True, timeout=600, env=_env())
    assert res.returncode == 0, res.stdout + res.stderr
    assert "running on 2 local processes x 1 thread" in res.stdout
    state = _state(out)
    assert sorted(state) == ["table1_fashion-mnist_resl-3/seed0", "table1_fashion-mnist_sgd/seed0"]
    assert {e["cell"] for e in state.values()} == {"table1/fashion-mnist/resl-3", "table1/fashion-mnist/sgd"}
    assert yaml.safe_load((out / "sweep.yaml").read_text())["reproduce"] == "table1"
    assert "| table1/fashion-mnist/resl-3 | 68.09 ± 0.49 |" in (out / "report.md").read_text()
