"""RNN Lab: build, train and look inside recurrent neural networks.

Everything the dashboard draws is computed here, so a notebook gets the same numbers:

    import rnnlab
    config = rnnlab.defaults_for_task("adding").replace(cell="gru")
    trainer = rnnlab.Trainer(config, record_grad_norms=True)
    record = trainer.run()                      # record.history["val_loss"], trainer.model, ...

This package never imports Streamlit. TensorFlow is imported on first use of a name that needs it, so that
`python -m rnnlab` can check its arguments (and `rnnlab.config` can be read) without paying for it.
"""

import importlib
import os

# TensorFlow's Python logging below warnings is chatter for learners and the command line.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Public name -> module that defines it.
_EXPORTS = {
    "RunConfig": "rnnlab.config",
    "defaults_for_task": "rnnlab.config",
    "Dataset": "rnnlab.data",
    "DataError": "rnnlab.data",
    "get_task": "rnnlab.data",
    "make_dataset": "rnnlab.data",
    "build_model": "rnnlab.models",
    "untrained_model": "rnnlab.models",
    "layer_table": "rnnlab.models",
    "parameter_formula": "rnnlab.models",
    "RunRecord": "rnnlab.records",
    "distinct_names": "rnnlab.records",
    "save_model": "rnnlab.saving",
    "load_model": "rnnlab.saving",
    "Trainer": "rnnlab.training",
    "TrainerCallback": "rnnlab.training",
    "train": "rnnlab.training",
}

__all__ = sorted(_EXPORTS)
__version__ = "0.1.0"


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'rnnlab' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_EXPORTS])
