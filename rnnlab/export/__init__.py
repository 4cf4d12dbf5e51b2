"""Write a configuration out as a standalone script that builds and trains the same network: the path from the
dashboard to real code. One module per language, each generated from the same `RunConfig`:

- `python.py`: `keras_script(config)`, Keras and NumPy, the very generators and starting weights RNN Lab uses;
- `r.py`: `r_script(config)`, the same network in R's `keras3` package, with the data generated in base R;
- `notebook.py`: `notebook(config)`, the Python script as a Jupyter notebook, a Markdown cell before each step.

    script(RunConfig(cell="gru", layers=2), "r")
    python -m rnnlab export --lang r --cell gru --layers 2 > model.R

A task that cannot yet write its data in a language makes `script` raise `ValueError` with one sentence saying so.
"""

from __future__ import annotations

from typing import Callable

from rnnlab.config import EXPORT_LANGUAGES, RunConfig
from rnnlab.export.names import EXTENSIONS, file_name
from rnnlab.export.python import keras_script
from rnnlab.export.notebook import notebook
from rnnlab.export.r import r_script

# Language -> the function that writes a configuration in it, in the order of `EXPORT_LANGUAGES` (Python, the
# default, first). The names live in the configuration module so the command line can offer them without loading
# Keras.
SCRIPTS: dict[str, Callable[[RunConfig], str]] = dict(zip(EXPORT_LANGUAGES, (keras_script, r_script, notebook)))
LANGUAGES = EXPORT_LANGUAGES


def script(config: RunConfig, lang: str = "python") -> str:
    """The standalone script for `config` in `lang` ("python", "r" or "ipynb", a notebook's JSON); ValueError with
    a sentence otherwise."""
    if lang not in SCRIPTS:
        raise ValueError(f"Language must be one of {', '.join(LANGUAGES)}; {lang!r} is not.")
    return SCRIPTS[lang](config)


__all__ = ["EXTENSIONS", "LANGUAGES", "file_name", "keras_script", "notebook", "r_script", "script"]
