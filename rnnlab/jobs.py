"""Moved to `rnnlab.engine.threads`; this name stays until the pages submit through `rnnlab.engine.get_engine()`."""

from rnnlab.engine.threads import TrainingJob

__all__ = ["TrainingJob"]
