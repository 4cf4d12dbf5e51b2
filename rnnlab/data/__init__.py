"""Data: every source a run can train on, behind one registry.

- `base.py`: the `Dataset` a model trains on, the `Task` interface each source implements, `DataError`, the baseline
  loss and the one rule for when a probability counts as positive;
- `synthetic.py`: the four NumPy tasks (sine, count, adding, recall);
- `imdb.py`: IMDB movie reviews from Keras's download, a local `imdb.npz` or a CSV of raw reviews;
- `text.py`: text generation: a toy grammar, tiny-shakespeare, the IMDB reviews or a .txt file, as windows of
  characters or words whose targets are the next tokens;
- `files.py`: files a learner uploads, and which server paths the app may read;
- `registry.py`: task name -> task, and `make_dataset(config)`.

    from rnnlab.data import make_dataset, get_task
    dataset = make_dataset(config)
"""

from rnnlab.data.base import (BINARY_THRESHOLD, LOSS_LABELS, DataError, Dataset, DownloadUnavailable, Task,
                              baseline_loss, confusion_matrix, predicted_classes)
from rnnlab.data.registry import all_tasks, get_task, make_dataset, task_kind

__all__ = ["BINARY_THRESHOLD", "LOSS_LABELS", "DataError", "Dataset", "DownloadUnavailable", "Task", "all_tasks", "baseline_loss",
           "confusion_matrix", "get_task", "make_dataset", "predicted_classes", "task_kind"]
