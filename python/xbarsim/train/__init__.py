"""Training: the loop, run configurations, run directories, atomic checkpoints and reports.

>>> from xbarsim.train import RunConfig, resolve, build, Trainer, RunDirectory
>>> cfg = resolve(RunConfig(algorithm="resl", tiles=4, epochs=3))
>>> setup, options = build(cfg)
>>> summary = Trainer(setup, options, RunDirectory("runs/resl4")).fit()

Spec: experiments.md §0–§4, §11.
"""
from .checkpoint import CheckpointMismatchError, load, save
from .config import ALGORITHMS, MODELS, RunConfig, dump_yaml, load_yaml
from .loop import LoopOptions, Trainer, TrainingSetup
from .run_dir import RunDirectory
from .setup import build, resolve

__all__ = ["save", "load", "CheckpointMismatchError", "RunConfig", "ALGORITHMS", "MODELS", "load_yaml",
           "dump_yaml", "Trainer", "TrainingSetup", "LoopOptions", "RunDirectory", "resolve", "build"]
