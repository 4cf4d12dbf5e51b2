"""The one registry of every data source a run can train on: task name -> `Task`.

The synthetic tasks are NumPy only and load at once; IMDB and text (`imdb.py`, `text.py`) pull in Keras's text
utilities, so their modules are imported the first time one of their tasks is asked for. Nothing outside
`rnnlab/data/` tests a task's name: it asks the task (`get_task(config.task).kind`, `.parse(...)`,
`.answer_text(...)`).

    dataset = make_dataset(RunConfig(task="adding", seq_len=50))
    dataset.x_train.shape              # (6000, 50, 2)
    get_task("imdb").items             # 'reviews'
"""

from __future__ import annotations

import importlib

from rnnlab.config import TASK_NAMES, RunConfig
from rnnlab.data.base import Dataset, Task
from rnnlab.data.synthetic import SYNTHETIC_TASKS

# Tasks whose module is imported on first use: name -> "module:attribute".
_LAZY = {"imdb": "rnnlab.data.imdb:TASK", "text": "rnnlab.data.text:TASK"}

_TASKS: dict[str, Task] = dict(SYNTHETIC_TASKS)


def get_task(name: str) -> Task:
    """The task called `name`; ValueError naming the choices if there is none."""
    if name not in _TASKS and name in _LAZY:
        module, attribute = _LAZY[name].split(":")
        _TASKS[name] = getattr(importlib.import_module(module), attribute)
    if name not in _TASKS:
        raise ValueError(f"Unknown task {name!r}; choose one of: {', '.join(TASK_NAMES)}.")
    return _TASKS[name]


def all_tasks() -> dict[str, Task]:
    """Every task, in the configuration's order (imports the lazy ones)."""
    return {name: get_task(name) for name in TASK_NAMES}


def make_dataset(config: RunConfig) -> Dataset:
    """The data for `config`: training, validation and test sets; `DataError` (a ValueError) with a sentence if
    the data cannot be made or read."""
    return get_task(config.task).make(config)


def task_kind(name: str) -> str:
    """'regression', 'binary', 'multiclass' or 'next_token', without making any data."""
    return get_task(name).kind
