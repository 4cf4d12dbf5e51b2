"""What a downloaded script is called, one definition for the download button and for the line inside the script
that says how to run it ("run it with `python rnnlab_gru_sine.py`"), so the two always agree.

    file_name(RunConfig(cell="gru"), "python")   # 'rnnlab_gru_sine.py'
"""

from __future__ import annotations

from rnnlab.config import RunConfig

# What a downloaded script is called, per language.
EXTENSIONS = {"python": ".py", "r": ".R", "ipynb": ".ipynb"}


def file_name(config: RunConfig, lang: str = "python") -> str:
    """The file name a downloaded script gets: 'rnnlab_lstm_sine.py', 'rnnlab_gru_adding.R'."""
    return f"rnnlab_{config.cell}_{config.task}{EXTENSIONS[lang]}"
