"""The training loop: epochs over in-memory data, schedules, warm start, evaluation, checkpoints, resume.

:class:`Trainer` runs a :class:`TrainingSetup` (model, optimizer, scheduler, loss, data, preprocessing,
plateau detector) into a :class:`~xbarsim.train.run_dir.RunDirectory`:

* every epoch visits the training set in an order drawn from ``(seed, epoch)`` alone, and every batch
  is preprocessed with a generator seeded from ``(seed, epoch, step)`` alone, so a run resumed at any
  step sees exactly the batches the uninterrupted run would;
* after each optimizer step the configured device processes run on every analog layer; at the end of
  an epoch the LR scheduler steps, the model is evaluated on the test set, the plateau detector sees the
  epoch's mean training loss (a plateau raises the warm-start signal of every transfer compound,
  ``xbarsim.algorithms.signal_warm_start``), one line is appended to ``metrics.jsonl`` and the
  checkpoint is written (atomically; also every ``checkpoint_every`` steps when asked);
* when the analog layers count their operations (``TileConfig(count_ops=True)``, ``xbarsim train
  --count-ops``) the epoch's line carries the epoch's counts (``"counts"``, the difference of the
  cumulative counters at its end and at its start, evaluation included) and ``summary.json`` the
  cumulative ones; the counters are model state, so a resumed run counts exactly as an uninterrupted one;
* SIGINT and SIGTERM finish the current step, save a checkpoint and stop with status "interrupted";
  after ``kill -9`` a run loses at most the steps since its last checkpoint. ``fit(resume=True)``
  continues from the checkpoint and ends bit for bit where the uninterrupted run ends.

The loop keeps the step free of host synchronisation (losses and accuracies accumulate on the
device) and of per-sample Python work (data are tensors in memory; preprocessing is batched).

Spec: experiments.md §0 (optimizer, warm start after every epoch), §1.3 (schedules); algorithms.md §6.3.
"""
from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional

import torch

from ..algorithms import PlateauDetector, signal_warm_start
from ..config.seeds import child_seed
from ..data import ImageDataset, Preprocess
from ..nn import analog_layers
from ..ops import raise_deferred_input_errors
from ..nn.counting import counts, diff_counts
from .checkpoint import load, save
from .run_dir import RunDirectory

__all__ = ["TrainingSetup", "LoopOptions", "Trainer", "LoopState", "DEVICE_PROCESSES", "epoch_order",
           "batch_generator"]

#: Device processes that can run on every analog layer after each optimizer step (analog-tile.md §3.5).
DEVICE_PROCESSES = ("decay", "diffuse")

# Stream indices of the run seed's children (config/seeds.py): one tree, no collisions.
_ORDER_STREAM = 1
_AUGMENT_STREAM = 2


def epoch_order(n: int, seed: int, epoch: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """The order of the ``n`` training samples in ``epoch``: a permutation drawn from ``(seed, epoch)``."""
    gen = torch.Generator().manual_seed(child_seed(child_seed(seed, _ORDER_STREAM), epoch) >> 1)
    return torch.randperm(n, generator=gen).to(device)


def batch_generator(seed: int, epoch: int, step: int) -> torch.Generator:
    """The generator of the random preprocessing of batch ``step`` of ``epoch`` (CPU, seeded from the
    position alone)."""
    s = child_seed(child_seed(child_seed(seed, _AUGMENT_STREAM), epoch), step)
    return torch.Generator().manual_seed(s >> 1)


@dataclass
class TrainingSetup:
    """Everything one run trains and evaluates.

    Attributes:
        model: the network (analog layers and digital parts), on ``device``.
        optimizer: an :mod:`xbarsim.optim` optimizer over ``model.parameters()``.
        scheduler: an LR scheduler stepped once per epoch, or None.
        loss_fn: ``(output, target) -> mean loss``.
        train_set, test_set: in-memory uint8 images and labels.
        train_preprocess, test_preprocess: batched preprocessing (uint8 batch, generator) -> float batch.
        plateau: the warm start's plateau detector (fed the mean training loss per epoch), or None.
        device_processes: names in :data:`DEVICE_PROCESSES` applied after every optimizer step.
        device: where the model and the batches live.
    """

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Optional[Any]
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    train_set: ImageDataset
    test_set: ImageDataset
    train_preprocess: Preprocess
    test_preprocess: Preprocess
    plateau: Optional[PlateauDetector] = None
    device_processes: tuple[str, ...] = ()
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    def __post_init__(self) -> None:
        unknown = [p for p in self.device_processes if p not in DEVICE_PROCESSES]
        if unknown:
            raise ValueError(f"TrainingSetup: device_processes must be among {DEVICE_PROCESSES}; got {unknown}")


@dataclass(frozen=True)
class LoopOptions:
    """How the loop runs.

    Attributes:
        epochs: epochs in total (a resumed run continues up to this number). ≥ 1.
        batch_size: training mini-batch size. ≥ 1.
        seed: the run seed (data order and augmentation draws; the model has its own seeds).
        checkpoint_every: also checkpoint every this many optimizer steps (0: at the end of each epoch only).
        eval_batch_size: batch size of the evaluation passes. Default 1000.
        progress: show a progress bar (None: only when stderr is a terminal).
    """

    epochs: int
    batch_size: int
    seed: int = 0
    checkpoint_every: int = 0
    eval_batch_size: int = 1000
    progress: Optional[bool] = None

    def __post_init__(self) -> None:
        for name, low in (("epochs", 1), ("batch_size", 1), ("checkpoint_every", 0), ("eval_batch_size", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"LoopOptions: {name} must be an int >= {low}; got {value!r}")


@dataclass
class LoopState:
    """Where the loop is: saved in every checkpoint, so a resumed run continues exactly.

    ``epoch`` is the epoch in progress (0-based) and ``step`` the next batch of it; the sums are the
    training loss (weighted by batch size), correct predictions and samples of that epoch so far.
    """

    epoch: int = 0
    step: int = 0
    global_step: int = 0
    loss_sum: float = 0.0
    correct: int = 0
    seen: int = 0
    best_accuracy: float = -1.0
    best_epoch: int = -1
    train_seconds: float = 0.0
    counts_at_epoch_start: Optional[dict] = None

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict) -> "LoopState":
        # counts_at_epoch_start arrived with the operation counters: older checkpoints lack it.
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data or k != "counts_at_epoch_start"})


class _StopRequest:
    """SIGINT/SIGTERM while fitting: remember the signal, stop after the current step."""

    def __init__(self) -> None:
        self.signum: Optional[int] = None
        self._previous: dict[int, Any] = {}

    @contextlib.contextmanager
    def installed(self) -> Iterator["_StopRequest"]:
        if threading.current_thread() is not threading.main_thread():
            yield self  # signals reach the main thread only
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        try:
            yield self
        finally:
            for sig, handler in self._previous.items():
                signal.signal(sig, handler)

    def _handle(self, signum, frame) -> None:
        if self.signum is not None:  # a second signal: stop now, as without the handler
            raise KeyboardInterrupt
        self.signum = signum


class Trainer:
    """Runs a :class:`TrainingSetup` for :class:`LoopOptions` into a run directory.

    Examples::

        >>> trainer = Trainer(setup, LoopOptions(epochs=3, batch_size=16, seed=0), RunDirectory("runs/a"))
        >>> summary = trainer.fit()                 # or fit(resume=True) after an interruption
    """

    def __init__(self, setup: TrainingSetup, options: LoopOptions, run_dir: RunDirectory) -> None:
        self.setup = setup
        self.options = options
        self.run_dir = run_dir
        self.state = LoopState()
        self._analog = [layer for _, layer in analog_layers(setup.model)]
        self._counting = any(getattr(block, "op_counts", None) is not None
                             for layer in self._analog for block in layer.blocks)

    # --- public ----------------------------------------------------------------------------------
    def fit(self, *, resume: bool = False) -> dict:
        """Train until ``options.epochs`` (from the checkpoint with ``resume``); returns the summary,
        also written to ``summary.json``. Its ``"status"`` is "completed" or "interrupted"."""
        if resume:
            self._resume()
        stop = _StopRequest()
        status = "completed"
        with stop.installed(), self._progress() as bar:
            while self.state.epoch < self.options.epochs:
                if not self._run_epoch(stop, bar):
                    status = "interrupted"
                    break
        summary = self._summary(status, stop.signum)
        self.run_dir.write_summary(summary)
        return summary

    def evaluate(self) -> tuple[float, float]:
        """Mean loss and accuracy of the model on the test set (eval mode, no gradients)."""
        setup = self.setup
        model, data = setup.model, setup.test_set
        was_training = model.training
        model.eval()
        loss_sum = torch.zeros((), dtype=torch.float64, device=setup.device)
        correct = torch.zeros((), dtype=torch.int64, device=setup.device)
        with torch.no_grad():
            for start in range(0, len(data), self.options.eval_batch_size):
                stop = min(start + self.options.eval_batch_size, len(data))
                x = setup.test_preprocess(data.images[start:stop].to(setup.device))
                y = data.labels[start:stop].to(setup.device)
                out = model(x)
                loss_sum += setup.loss_fn(out, y).double() * (stop - start)
                correct += (out.argmax(1) == y).sum()
        model.train(was_training)
        n = max(len(data), 1)
        return float(loss_sum) / n, int(correct) / n

    # --- one epoch -------------------------------------------------------------------------------
    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.setup.train_set) / self.options.batch_size)

    def _run_epoch(self, stop: _StopRequest, bar) -> bool:
        """The rest of the current epoch; False if a signal stopped it (a checkpoint was written)."""
        setup, opts, st = self.setup, self.options, self.state
        n_steps = self.steps_per_epoch()
        order = epoch_order(len(setup.train_set), opts.seed, st.epoch, setup.device)
        images, labels = setup.train_set.images, setup.train_set.labels
        loss_acc = torch.tensor(st.loss_sum, dtype=torch.float64, device=setup.device)
        correct_acc = torch.tensor(st.correct, dtype=torch.int64, device=setup.device)
        setup.model.train()
        bar.start_epoch(st.epoch, n_steps, st.step)
        t0 = time.perf_counter()
        while st.step < n_steps:
            idx = order[st.step * opts.batch_size:(st.step + 1) * opts.batch_size]
            x = setup.train_preprocess(images[idx.cpu()].to(setup.device),
                                       batch_generator(opts.seed, st.epoch, st.step))
            y = labels[idx.cpu()].to(setup.device)
            loss, correct = self._train_step(x, y)
            loss_acc += loss.double() * y.shape[0]
            correct_acc += correct
            st.seen += y.shape[0]
            st.step += 1
            st.global_step += 1
            bar.step(lambda: (float(loss_acc) / max(st.seen, 1), int(correct_acc) / max(st.seen, 1)))
            if stop.signum is not None or (opts.checkpoint_every and st.global_step % opts.checkpoint_every == 0):
                self._sync_sums(loss_acc, correct_acc, t0)
                t0 = time.perf_counter()
                self._save()
                if stop.signum is not None:
                    return False
        self._sync_sums(loss_acc, correct_acc, t0)
        self._end_epoch()
        return True

    def _train_step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        setup = self.setup
        setup.optimizer.zero_grad()
        out = setup.model(x)
        loss = setup.loss_fn(out, y)
        loss.backward()
        setup.optimizer.step()
        for process in setup.device_processes:
            for layer in self._analog:
                getattr(layer, f"{process}_weights")()
        return loss.detach(), (out.detach().argmax(1) == y).sum()

    def _sync_sums(self, loss_acc: torch.Tensor, correct_acc: torch.Tensor, t0: float) -> None:
        self.state.loss_sum = float(loss_acc)
        self.state.correct = int(correct_acc)
        self.state.train_seconds += time.perf_counter() - t0

    def _end_epoch(self) -> None:
        setup, st = self.setup, self.state
        train_loss = st.loss_sum / max(st.seen, 1)
        train_acc = st.correct / max(st.seen, 1)
        lr = setup.optimizer.param_groups[0]["lr"]
        if setup.scheduler is not None:
            setup.scheduler.step()
        t_eval = time.perf_counter()
        test_loss, test_acc = self.evaluate()
        eval_seconds = time.perf_counter() - t_eval
        switched = False
        if setup.plateau is not None and math.isfinite(train_loss):
            switched = setup.plateau.update(train_loss)
            if switched:
                signal_warm_start(setup.model)
        if test_acc > st.best_accuracy:
            st.best_accuracy, st.best_epoch = test_acc, st.epoch + 1
        row = {
            "epoch": st.epoch + 1, "step": st.global_step, "train_loss": train_loss, "train_accuracy": train_acc,
            "test_loss": test_loss, "test_accuracy": test_acc, "lr": lr, "warm_start_switch": switched,
            "steps_per_s": self.steps_per_epoch() / max(st.train_seconds, 1e-9),
            "epoch_train_s": st.train_seconds, "eval_s": eval_seconds}
        if self._counting:
            now = counts(setup.model)
            row["counts"] = diff_counts(now, st.counts_at_epoch_start)
            st.counts_at_epoch_start = now
        self.run_dir.append_metrics(row)
        st.epoch += 1
        st.step = st.loss_sum = st.correct = st.seen = 0
        st.loss_sum = 0.0
        st.train_seconds = 0.0
        self._save()

    # --- checkpoints ---------------------------------------------------------------------------------
    def _save(self) -> None:
        # Deferred input checks (GPU runs) are reported here, before the state is saved: a step that saw
        # NaN/inf stops the run and the last checkpoint stays the last good one.
        raise_deferred_input_errors()
        setup = self.setup
        extra = {"loop": self.state.to_dict(),
                 "scheduler": setup.scheduler.state_dict() if setup.scheduler is not None else None,
                 "plateau": setup.plateau.state_dict() if setup.plateau is not None else None,
                 "torch_rng": torch.get_rng_state(),
                 "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}
        save(self.run_dir.checkpoint, setup.model, setup.optimizer, extra=extra)

    def _resume(self) -> None:
        setup = self.setup
        if not self.run_dir.has_checkpoint():
            raise FileNotFoundError(f"Trainer.fit: resume needs a checkpoint; none in {str(self.run_dir.path)!r}")
        extra = load(self.run_dir.checkpoint, setup.model, setup.optimizer, map_location=setup.device)
        self.state = LoopState.from_dict(extra["loop"])
        if setup.scheduler is not None and extra.get("scheduler") is not None:
            setup.scheduler.load_state_dict(extra["scheduler"])
        if setup.plateau is not None and extra.get("plateau") is not None:
            setup.plateau.load_state_dict(extra["plateau"])
        torch.set_rng_state(extra["torch_rng"])
        if extra.get("cuda_rng") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(extra["cuda_rng"])
        self.run_dir.rewind_metrics(self.state.global_step)

    # --- reporting ---------------------------------------------------------------------------------
    def _summary(self, status: str, signum: Optional[int]) -> dict:
        rows = self.run_dir.metrics()
        last = rows[-1] if rows else {}
        train_s = sum(r.get("epoch_train_s", 0.0) for r in rows)
        return {"status": status, "signal": signum, "epochs_completed": self.state.epoch,
                "epochs": self.options.epochs, "steps": self.state.global_step,
                "final_test_accuracy": last.get("test_accuracy"), "final_train_loss": last.get("train_loss"),
                "best_test_accuracy": self.state.best_accuracy if self.state.best_epoch > 0 else None,
                "best_epoch": self.state.best_epoch if self.state.best_epoch > 0 else None,
                "train_seconds": train_s,
                "steps_per_s": (sum(self.steps_per_epoch() for _ in rows) / train_s) if train_s > 0 else None,
                **({"counts": self._counts()} if self._counting else {})}

    def _counts(self) -> dict:
        return counts(self.setup.model)

    def _progress(self) -> "_Progress":
        show = self.options.progress
        if show is None:
            import sys

            show = sys.stderr.isatty()
        return _Progress(enabled=bool(show), epochs=self.options.epochs)


class _Progress:
    """A tqdm bar per epoch (steps/s, loss, accuracy, ETA); silent when disabled or tqdm is missing."""

    REFRESH_S = 0.5

    def __init__(self, *, enabled: bool, epochs: int) -> None:
        self.enabled = enabled
        self.epochs = epochs
        self.bar = None
        self._last = 0.0

    def __enter__(self) -> "_Progress":
        return self

    def __exit__(self, *exc) -> None:
        self._close()

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def start_epoch(self, epoch: int, total: int, done: int) -> None:
        self._close()
        if not self.enabled:
            return
        try:
            from tqdm import tqdm
        except ImportError:  # pragma: no cover - tqdm is a dependency
            self.enabled = False
            return
        self.bar = tqdm(total=total, initial=done, desc=f"epoch {epoch + 1}/{self.epochs}", unit="step",
                        dynamic_ncols=True, leave=True)

    def step(self, running: Callable[[], tuple[float, float]]) -> None:
        if self.bar is None:
            return
        self.bar.update(1)
        now = time.perf_counter()
        if now - self._last >= self.REFRESH_S:  # the running values need a device sync: not every step
            self._last = now
            loss, acc = running()
            self.bar.set_postfix(loss=f"{loss:.4f}", acc=f"{100 * acc:.2f}%", refresh=False)
