"""Running a sweep: points into a sweep directory, through an executor, resumably.

:func:`run_sweep` takes validated :class:`~xbarsim.experiments.sweep.spec.SweepPoint` s (a spec's grid or
a reproduction grid), records them in ``state.json``, skips the runs whose ``summary.json`` says
completed, and hands the others (new, interrupted or failed before; a run with a checkpoint resumes
from it) to the local executor or to Ray. While the sweep goes on it prints one line per finished run
(accuracy, wall time; a failure with the tail of its log) under one progress bar. A failed run does
not stop the others. Ctrl-C or SIGTERM stops the sweep: every running run checkpoints, and the same
command later resumes them.

Spec: docs/sweeps.md.
"""
from __future__ import annotations

import contextlib
import datetime
import signal
import sys
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Optional, Sequence, Union

from .executors import LocalExecutor, RayExecutor, Task, available_cores, plan_local, require_ray
from .spec import SweepPoint, same_run
from .state import SweepDirectory

__all__ = ["run_sweep", "SweepOutcome", "make_executor", "ADDRESS_HELP"]

ADDRESS_HELP = ("Ray to run on: 'local' (start a Ray instance on this machine), 'auto' (the cluster this machine "
                "belongs to, after `ray start`), 'ray://HOST:PORT' (Ray Client) or 'HOST:PORT' (the head node)")

LOG_LINES_SHOWN = 12


@dataclass
class SweepOutcome:
    """How a sweep ended: run counts by status, and the signal that stopped it (None if none)."""

    total: int
    completed: int
    failed: int
    interrupted: int
    pending: int
    signum: Optional[int] = None

    @property
    def exit_code(self) -> int:
        """128 + signal if the sweep was stopped; 1 if a run failed or is unfinished; else 0."""
        if self.signum is not None:
            return 128 + self.signum
        return 0 if self.completed == self.total else 1


def make_executor(points: Sequence[SweepPoint], *, workers: Optional[int] = None, threads: Optional[int] = None,
                  address: Optional[str] = None, gpus_per_run: float = 0.0,
                  log: Callable[[str], None] = print) -> Union[LocalExecutor, RayExecutor]:
    """The executor the options ask for, checked against the points (nothing starts yet).

    Raises:
        ValueError: inconsistent options (GPUs without Ray, CUDA runs without GPUs, ...).
        RuntimeError: ``address`` given but Ray is not installed (the message says what to install).
    """
    for name, value, low in (("workers", workers, 1), ("threads", threads, 1)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
            raise ValueError(f"xbarsim sweep: --{name} must be an int >= {low}; got {value!r}")
    if isinstance(gpus_per_run, bool) or not isinstance(gpus_per_run, (int, float)) or not 0 <= gpus_per_run:
        raise ValueError(f"xbarsim sweep: --gpus-per-run must be a number >= 0; got {gpus_per_run!r}")
    if address is None:
        if gpus_per_run:
            raise ValueError("xbarsim sweep: --gpus-per-run reserves GPUs through Ray and needs --address; a local "
                             "sweep runs on the device its spec names (device: cuda)")
        n, t, note = plan_local(available_cores(), workers or 1, threads)
        if note:
            log(f"xbarsim sweep: {note}")
        return LocalExecutor(n, t)
    if not isinstance(address, str) or not (address in ("local", "auto") or address.startswith("ray://")
                                            or _host_port(address)):
        raise ValueError(f"xbarsim sweep: --address must be 'local', 'auto', 'ray://HOST:PORT' or 'HOST:PORT'; "
                         f"got {address!r}")
    cuda = [p.name for p in points if str(p.config.device).startswith("cuda")]
    if gpus_per_run and len(cuda) < len(points):
        other = next(p.name for p in points if p.name not in cuda)
        raise ValueError(f"xbarsim sweep: --gpus-per-run {gpus_per_run:g} reserves GPUs, but run {other!r} trains on "
                         "the CPU; set device: cuda in the spec's fixed options")
    if cuda and not gpus_per_run:
        raise ValueError(f"xbarsim sweep: run {cuda[0]!r} trains on {points[0].config.device!r} but Ray gives a task "
                         "a GPU only if it reserves one: add --gpus-per-run (e.g. 0.25 to share a GPU by four runs)")
    require_ray()
    local_cpus = None
    if address == "local":
        n, t, note = plan_local(available_cores(), workers or available_cores(), threads)
        if note and workers is not None:
            log(f"xbarsim sweep: {note}")
        workers, threads, local_cpus = (workers and n), t, n * t
    return RayExecutor(address, workers=workers, threads=threads or 1, gpus_per_run=float(gpus_per_run),
                       local_cpus=local_cpus)


def _host_port(address: str) -> bool:
    host, _, port = address.rpartition(":")
    return bool(host) and port.isdigit()


def run_sweep(points: Sequence[SweepPoint], out, *, record: dict, workers: Optional[int] = None,
              threads: Optional[int] = None, address: Optional[str] = None, gpus_per_run: float = 0.0,
              progress: Optional[bool] = None, log: Callable[[str], None] = print) -> SweepOutcome:
    """Run ``points`` into the sweep directory ``out``; finished runs are skipped, interrupted ones resumed.

    Args:
        points: the runs (names unique; validated, e.g. by :func:`~xbarsim.experiments.sweep.spec.load_spec`).
        out: the sweep directory.
        record: what ``sweep.yaml`` records (the spec; for a reproduction, its table and options).
        workers: runs at once (local default 1; Ray default: what the cluster holds).
        threads: CPU threads per run (local default: the cores split among the workers; Ray default 1).
        address: None for local processes, else where Ray runs (see :data:`ADDRESS_HELP`).
        gpus_per_run: GPUs each Ray task reserves (fractions share a GPU).
        progress: one progress bar for the sweep (None: only on a terminal).
        log: where the per-run lines go.

    Raises:
        ValueError: a run of the directory changed its options, or inconsistent executor options.
        RuntimeError: another sweep holds the directory, or Ray is missing.
    """
    points = list(points)
    names = [p.name for p in points]
    if len(set(names)) != len(names):
        raise ValueError("xbarsim sweep: run names must be unique")
    executor = make_executor(points, workers=workers, threads=threads, address=address, gpus_per_run=gpus_per_run,
                             log=log)
    sweep = SweepDirectory(out)
    with sweep.locked():
        state = sweep.read_state()
        runs = state["runs"]
        changed = [p.name for p in points if p.name in runs and not same_run(runs[p.name]["options"], p.options)]
        if changed:
            raise ValueError(f"xbarsim sweep: {str(sweep.path)!r} already holds runs {changed[:3]}"
                             f"{' ...' if len(changed) > 3 else ''} with other options; repeat the sweep with the "
                             "same spec to resume it, or use another --out")
        for p in points:
            entry = runs.setdefault(p.name, SweepDirectory.new_entry(p))
            entry.update(cell=p.cell, paper_key=p.paper_key, options=p.options)
        sweep.write_spec(record)
        done, todo = [], []
        for p in points:
            entry = runs[p.name]
            if sweep.finished(p.name):
                entry["status"] = "completed"
                done.append(p)
            else:
                if entry["status"] in ("running", "completed"):  # an earlier sweep died with it running
                    entry["status"] = "interrupted"
                entry.pop("pid", None)
                todo.append(p)
        sweep.write_state(state)
        return _Run(sweep, state, points, done, todo, executor, progress, log).go()


class _Run:
    """One invocation of a sweep: the callbacks of the executor, the lines and the bar."""

    def __init__(self, sweep, state, points, done, todo, executor, progress, log) -> None:
        self.sweep, self.state, self.points, self.done, self.todo = sweep, state, points, done, todo
        self.executor, self.log = executor, log
        self.lock = threading.Lock()
        self.finished = 0
        self.bar = _bar(progress, len(points), len(done))

    def say(self, line: str) -> None:
        if self.bar is not None:
            self.bar.write(line, file=sys.stdout)
            sys.stdout.flush()
        else:
            self.log(line)

    def go(self) -> SweepOutcome:
        n, sweep = len(self.points), self.sweep
        resumable = sum(sweep.has_checkpoint(p.name) for p in self.todo)
        self.say(f"xbarsim sweep: {n} runs in {sweep.path}: {len(self.done)} finished earlier, "
                 f"{len(self.todo)} to run ({resumable} resuming from a checkpoint)")
        for p in self.done:
            self.finished += 1
            acc = self.state["runs"][p.name].get("final_test_accuracy")
            if acc is None:
                acc = (sweep.run_summary(p.name) or {}).get("final_test_accuracy")
            self.say(f"[{self.finished}/{n}] skipped {p.name}: finished earlier"
                     + (f" (test accuracy {100 * acc:.2f} %)" if acc is not None else ""))
        # absolute: a Ray task runs in another working directory (on a cluster, the same path on a shared disk)
        tasks = [Task(p.name, str(sweep.run_path(p.name).absolute()), p.options) for p in self.todo]
        signum = None
        t0 = time.perf_counter()
        try:
            if tasks:
                with _signals_as_interrupts() as caught:
                    try:
                        self.executor.open()
                        self.say(f"xbarsim sweep: running on {self.executor.description}")
                        self.executor.run(tasks, self.on_start, self.on_finish)
                    except KeyboardInterrupt:
                        signum = caught.signum or signal.SIGINT
        finally:
            self.executor.close()
            if self.bar is not None:
                self.bar.close()
            with self.lock:
                sweep.write_state(self.state)
        counts = {s: 0 for s in ("completed", "failed", "interrupted", "pending")}
        for p in self.points:
            status = self.state["runs"][p.name]["status"]
            counts["pending" if status == "running" else status] += 1
        outcome = SweepOutcome(total=n, signum=signum, **counts)
        self.log(f"xbarsim sweep: {n} runs: {outcome.completed} completed, {outcome.failed} failed, "
                 f"{outcome.interrupted} interrupted, {outcome.pending} not started "
                 f"({time.perf_counter() - t0:.1f} s)")
        if outcome.completed < n:
            self.log("xbarsim sweep: repeat the same command to resume the interrupted runs and retry the failed ones")
        return outcome

    def on_start(self, task: Task, pid: Optional[int]) -> None:
        with self.lock:
            entry = self.state["runs"][task.name]
            entry.update(status="running", attempts=entry.get("attempts", 0) + 1,
                         started=datetime.datetime.now().isoformat(timespec="seconds"))
            if pid is not None:
                entry["pid"] = pid
            self.sweep.write_state(self.state)
            self._postfix()

    def on_finish(self, task: Task, result: dict) -> None:
        if result["status"] != "completed" and result["returncode"] is None and self.sweep.finished(task.name):
            # a Ray task cancelled (or lost) after its run had finished: the run's summary decides
            result = dict(result, status="completed", summary=self.sweep.run_summary(task.name))
        with self.lock:
            entry = self.state["runs"][task.name]
            summary = result.get("summary") or {}
            entry.pop("pid", None)
            entry.update(status=result["status"], returncode=result["returncode"], host=result["host"],
                         last_wall_s=round(result["wall_s"], 3), wall_s=round(entry.get("wall_s", 0.0)
                                                                             + result["wall_s"], 3),
                         ended=datetime.datetime.now().isoformat(timespec="seconds"))
            if result["status"] == "completed":
                entry.update(final_test_accuracy=summary.get("final_test_accuracy"),
                             best_test_accuracy=summary.get("best_test_accuracy"))
            self.sweep.write_state(self.state)
            self.finished += 1
            self.say(self._line(task, result, summary))
            if self.bar is not None:
                self.bar.update(1)
            self._postfix()

    def _postfix(self) -> None:
        if self.bar is not None:
            runs = self.state["runs"]
            names = [p.name for p in self.points]
            self.bar.set_postfix(running=sum(runs[n]["status"] == "running" for n in names),
                                 failed=sum(runs[n]["status"] == "failed" for n in names), refresh=True)

    def _line(self, task: Task, result: dict, summary: dict) -> str:
        head = f"[{self.finished}/{len(self.points)}]"
        wall = f"{result['wall_s']:.1f} s"
        after = f" after {wall}" if result["returncode"] is not None else ""
        status = result["status"]
        if status == "completed":
            acc, best = summary.get("final_test_accuracy"), summary.get("best_test_accuracy")
            accs = "" if acc is None else f": test accuracy {100 * acc:.2f} %" + \
                ("" if best is None else f" (best {100 * best:.2f} %)")
            return f"{head} completed{' (resumed)' if result['resumed'] else ''} {task.name}{accs}, {wall}"
        code = result["returncode"]
        why = "no exit code" if code is None else f"signal {-code}" if code < 0 else f"exit code {code}"
        if status == "interrupted":
            return f"{head} interrupted {task.name} ({why}){after}; the next sweep resumes it"
        lines = (result.get("log_tail") or "").splitlines()[-LOG_LINES_SHOWN:]
        log = self.sweep.log(task.name)
        return "\n".join([f"{head} FAILED {task.name} ({why}){after}; log: {log}"]
                         + [f"    {line}" for line in lines])


def _bar(progress: Optional[bool], total: int, initial: int):
    show = sys.stderr.isatty() if progress is None else progress
    if not show:
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return None
    return tqdm(total=total, initial=initial, desc="sweep", unit="run", dynamic_ncols=True, file=sys.stderr)


class _Caught:
    signum: Optional[int] = None


@contextlib.contextmanager
def _signals_as_interrupts() -> Iterator[_Caught]:
    """SIGINT and SIGTERM raise KeyboardInterrupt in the main thread (remembering which came)."""
    caught = _Caught()
    if threading.current_thread() is not threading.main_thread():
        yield caught
        return

    def handle(signum, frame):
        if caught.signum is None:
            caught.signum = signum
        raise KeyboardInterrupt

    previous = {s: signal.signal(s, handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield caught
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
