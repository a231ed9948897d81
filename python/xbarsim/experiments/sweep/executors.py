"""Where a sweep's runs execute: local processes, or Ray tasks on a cluster or a Ray instance started here.

Both executors run every point through :func:`~xbarsim.experiments.sweep.worker.launch` (one child
process per run, its log in ``RUN/log.txt``) and report to the sweep through two callbacks:
``on_start(task, pid)`` when a run is handed over and ``on_finish(task, record)`` when its attempt
ends. On Ctrl-C or SIGTERM (raised as KeyboardInterrupt in the main thread) they stop handing out
runs, send each running one SIGTERM (it checkpoints and exits), report those attempts and re-raise.

xbarsim does not schedule: locally a fixed number of processes take runs in order; under Ray each
run is a task reserving ``threads`` CPUs and ``gpus_per_run`` (possibly fractional) GPUs, and Ray's
scheduler places it.

Spec: docs/sweeps.md.
"""
from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

from .worker import launch

__all__ = ["Task", "LocalExecutor", "RayExecutor", "available_cores", "plan_local", "require_ray", "RAY_HINT"]

RAY_HINT = "pip install 'xbarsim[sweep]' (or: pip install 'ray[default]')"

OnStart = Callable[["Task", Optional[int]], None]
OnFinish = Callable[["Task", dict], None]


@dataclass(frozen=True)
class Task:
    """One run handed to an executor: its name in the sweep, its directory and its options."""

    name: str
    path: str
    options: dict


def available_cores() -> int:
    """The CPU cores this process may use (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def plan_local(cores: int, workers: int, threads: Optional[int]) -> tuple[int, int, Optional[str]]:
    """``(workers, threads, note)`` so that ``workers × threads <= cores``: without ``threads`` the cores
    are split evenly among the workers; ``note`` says what was reduced and why (None if nothing)."""
    asked = (workers, threads)
    if threads is None:
        workers = min(workers, cores)
        threads = max(1, cores // workers)
    else:
        threads = min(threads, cores)
        workers = max(1, min(workers, cores // threads))
    if (workers, threads) == asked or (asked[1] is None and workers == asked[0]):
        return workers, threads, None
    return workers, threads, (f"{asked[0]} workers{'' if asked[1] is None else f' x {asked[1]} threads'} would "
                              f"exceed the {cores} cores: running {workers} x {threads} threads")


def failure_record(exc: BaseException) -> dict:
    """The record of an attempt that could not even start its process."""
    return {"status": "failed", "returncode": None, "wall_s": 0.0, "host": None, "pid": None, "resumed": False,
            "summary": None, "log_tail": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))}


class LocalExecutor:
    """``workers`` threads on this machine, each running one child process at a time with ``threads``
    CPU threads."""

    def __init__(self, workers: int, threads: int) -> None:
        self.workers = workers
        self.threads = threads
        self.description = f"{workers} local process{'es' if workers > 1 else ''} x {threads} thread" \
                           f"{'s' if threads > 1 else ''}"

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def run(self, tasks: Sequence[Task], on_start: OnStart, on_finish: OnFinish) -> None:
        pending = deque(tasks)
        results: queue.Queue = queue.Queue()
        lock = threading.Lock()
        live: dict[str, subprocess.Popen] = {}
        stopping = threading.Event()

        def work() -> None:
            while True:
                with lock:
                    if stopping.is_set() or not pending:
                        return
                    task = pending.popleft()

                def started(proc: subprocess.Popen, task: Task = task) -> None:
                    with lock:
                        live[task.name] = proc
                        if stopping.is_set():
                            proc.send_signal(signal.SIGTERM)
                    on_start(task, proc.pid)

                try:
                    record = launch(task.path, task.options, self.threads, started=started)
                except Exception as exc:  # noqa: BLE001 - reported as the run's failure
                    record = failure_record(exc)
                with lock:
                    live.pop(task.name, None)
                results.put((task, record))

        workers = [threading.Thread(target=work, name=f"xbarsim-sweep-{k}", daemon=True)
                   for k in range(min(self.workers, len(tasks)))]
        for w in workers:
            w.start()

        def drain(timeout: float) -> None:
            try:
                task, record = results.get(timeout=timeout)
            except queue.Empty:
                return
            on_finish(task, record)

        def busy() -> bool:
            return any(w.is_alive() for w in workers) or not results.empty()

        try:
            while busy():
                drain(0.2)
        except KeyboardInterrupt:
            stopping.set()
            self._signal(lock, live)
            while busy():
                try:
                    drain(0.2)
                except KeyboardInterrupt:  # a second signal: the runs stop at once (the loop's own rule)
                    self._signal(lock, live)
            raise

    @staticmethod
    def _signal(lock: threading.Lock, live: dict[str, subprocess.Popen]) -> None:
        with lock:
            procs = list(live.values())
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)


def require_ray():
    """The ``ray`` module, or a RuntimeError saying what to install."""
    try:
        import ray
    except ImportError:
        raise RuntimeError(f"xbarsim sweep: --address runs the sweep on Ray, an optional dependency that is not "
                           f"installed; install it with: {RAY_HINT}") from None
    return ray


def _ray_launch(run_path: str, options: dict, threads: int) -> dict:
    """The Ray task: the same child process as a local run, on whichever node Ray chose."""
    return launch(run_path, options, threads)


class RayExecutor:
    """Runs as Ray tasks: on an existing cluster (``auto``, ``ray://HOST:PORT``, ``HOST:PORT``) or on a
    Ray instance started here (``local``, ``num_cpus = workers × threads``).

    Args:
        address: where Ray runs (given on the command line, never read from a file).
        workers: most runs in flight (None: as many as the cluster's CPUs (and GPUs) hold at the start).
        threads: CPUs reserved by, and threads of, each run.
        gpus_per_run: GPUs reserved by each run (0.25: four runs share a GPU).
        local_cpus: ``num_cpus`` of a ``local`` instance.
    """

    def __init__(self, address: str, *, workers: Optional[int], threads: int, gpus_per_run: float,
                 local_cpus: Optional[int] = None) -> None:
        self.ray = require_ray()
        self.address = address
        self.workers = workers
        self.threads = threads
        self.gpus_per_run = gpus_per_run
        self.local_cpus = local_cpus
        self.limit = workers or 1
        self._opened = False
        where = "a local Ray instance" if address == "local" else f"the Ray cluster at {address}"
        gpus = f", {gpus_per_run:g} GPU" if gpus_per_run else ""
        self.description = f"{where}, {threads} CPU{'s' if threads > 1 else ''}{gpus} per run"

    def open(self) -> None:
        ray = self.ray
        try:
            if self.address == "local":
                # address="local" starts a new instance even where RAY_ADDRESS names a cluster
                ray.init(address="local", num_cpus=self.local_cpus, include_dashboard=False, log_to_driver=False,
                         logging_level="warning")
            else:
                ray.init(address=self.address, log_to_driver=True, logging_level="warning")
        except Exception as exc:  # noqa: BLE001 - Ray raises many types; the message is what matters
            text = str(exc).strip().splitlines()
            hint = (" (recent Ray clusters require a token: set RAY_AUTH_MODE=token and give this machine the "
                    "head's ~/.ray/auth_token, docs/sweeps.md)") if "auth" in str(exc).lower() else ""
            raise RuntimeError(f"xbarsim sweep: could not start Ray at {self.address!r}: {type(exc).__name__}: "
                               f"{text[0] if text else ''}{hint}") from None
        self._opened = True
        if self.workers is None:
            res = ray.cluster_resources()
            limit = int(res.get("CPU", 1) // self.threads)
            if self.gpus_per_run:
                limit = min(limit, int(res.get("GPU", 0) / self.gpus_per_run))
                if limit < 1:
                    raise RuntimeError(f"xbarsim sweep: the Ray cluster has {res.get('GPU', 0):g} GPUs; runs that "
                                       f"reserve {self.gpus_per_run:g} GPU each cannot be placed")
            self.limit = max(1, limit)
        self.description += f", at most {self.limit} at once"

    def close(self) -> None:
        if self._opened:
            self.ray.shutdown()
            self._opened = False

    def run(self, tasks: Sequence[Task], on_start: OnStart, on_finish: OnFinish) -> None:
        ray = self.ray
        remote = ray.remote(_ray_launch)
        pending = deque(tasks)
        inflight: dict = {}

        def submit() -> None:
            while pending and len(inflight) < self.limit:
                task = pending.popleft()
                ref = remote.options(num_cpus=self.threads, num_gpus=self.gpus_per_run or 0, max_retries=2,
                                     name=f"xbarsim-sweep:{task.name}").remote(task.path, task.options, self.threads)
                inflight[ref] = task
                on_start(task, None)

        def collect(ref, *, cancelled: bool = False) -> None:
            task = inflight.pop(ref)
            try:
                record = ray.get(ref)
            except Exception as exc:  # noqa: BLE001 - a cancelled or lost task
                record = failure_record(exc)
                if cancelled or isinstance(exc, ray.exceptions.TaskCancelledError):
                    record.update(status="interrupted", log_tail="the sweep was stopped; the run checkpointed")
            on_finish(task, record)

        try:
            submit()
            while inflight:
                done, _ = ray.wait(list(inflight), num_returns=1, timeout=1.0)
                for ref in done:
                    collect(ref)
                submit()
        except KeyboardInterrupt:
            pending.clear()
            for ref in list(inflight):
                ray.cancel(ref)  # KeyboardInterrupt in the task: it SIGTERMs its run and waits for the checkpoint
            deadline = time.monotonic() + 120
            while inflight and time.monotonic() < deadline:
                try:
                    done, _ = ray.wait(list(inflight), num_returns=1, timeout=1.0)
                except KeyboardInterrupt:
                    break
                for ref in done:
                    collect(ref, cancelled=True)
            for ref in list(inflight):
                task = inflight.pop(ref)
                on_finish(task, dict(failure_record(KeyboardInterrupt()), status="interrupted",
                                     log_tail="the sweep was stopped before the run reported back"))
            raise
