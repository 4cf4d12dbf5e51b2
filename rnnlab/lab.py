"""Every learner's runs on this web server: costed before they start, trained on the engine, saved in the store as
they train, and found again after a reload, in a new tab, or after a restart.

The web server holds one `Lab` (`get_lab()`), shared by every learner's session:

    lab = get_lab()                                  # the store under RNNLAB_HOME and the training engine
    learner = lab.store.new_learner("Ada")           # the token goes into every link the app writes
    estimate, verdict = lab.plan(config)             # peak memory and seconds per epoch, before anything trains
    [handle] = lab.start(learner.token, [config])    # BudgetError (one sentence) if it cannot fit
    lab.runs(learner.token)                          # {run id: live handle, or the stored run}, oldest first

A run still training is reattached through the engine (its live handle, the same record the page was drawing); a run
that ended is read back from the store, its model from its `.keras` file, when a page first asks for it. The web
server writes the store (through `Saver`, a listener the engine calls in this process); the engine's workers only
train and report back.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from typing import TYPE_CHECKING, Any

from rnnlab import budget
from rnnlab.config import RunConfig
from rnnlab.data import DataError, get_task, make_dataset
from rnnlab.records import RunRecord
from rnnlab.store import Store, StoreError
from rnnlab.training import TrainerCallback

if TYPE_CHECKING:
    import keras

    from rnnlab.data import Dataset
    from rnnlab.engine import Engine

# The largest run file (JSON) or model file (.keras) a learner may upload.
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
# A learner may keep at most this many runs training or waiting at once (a race queues three).
MAX_ACTIVE_RUNS = 3


class BudgetError(ValueError):
    """A run refused before it starts (too big for a worker, too many at once); one sentence naming what to change."""


class UploadError(ValueError):
    """An uploaded file that cannot become a run; one sentence saying what is wrong. Nothing stored is touched."""


class StoredRun:
    """A run read back from the store, with the same face as a live engine handle (`rnnlab.engine.RunHandle`)."""

    def __init__(self, store: Store, record: RunRecord) -> None:
        self.store = store
        self.record = record
        self._model: "keras.Model | None" = None
        self._dataset: "Dataset | None" = None
        self._lock = threading.Lock()

    run_id = property(lambda self: self.record.run_id)
    config = property(lambda self: self.record.config)
    done = property(lambda self: True)
    running = property(lambda self: False)
    queue_position = property(lambda self: None)
    waiting_for = property(lambda self: None)

    def stop(self) -> None:
        """It has ended already."""

    def join(self, timeout: float | None = None) -> bool:
        return True

    @property
    def has_model(self) -> bool:
        return self._model is not None or os.path.isfile(self.store.model_path(self.run_id))

    @property
    def model(self) -> "keras.Model | None":
        """The trained model, loaded from its `.keras` file (safe mode) when first asked for; None if it has none."""
        with self._lock:
            if self._model is None and os.path.isfile(self.store.model_path(self.run_id)):
                from rnnlab.saving import load_model

                self._model = load_model(self.store.model_path(self.run_id)).model
            return self._model

    @property
    def dataset(self) -> "Dataset | None":
        """The run's data, made again from its configuration (seeded, so the same sequences); None if its file is
        gone."""
        with self._lock:
            if self._dataset is None:
                try:
                    self._dataset = make_dataset(self.config)
                except DataError:
                    return None
            return self._dataset


class Saver(TrainerCallback):
    """The store's listener on a learner's run, called by the engine in this process: the run's row when it starts,
    one row per epoch, the row and the final weights when it ends."""

    def __init__(self, lab: "Lab", learner: str) -> None:
        self.lab, self.learner = lab, learner

    def on_train_begin(self, record: RunRecord) -> None:
        self.lab.store.save_run(self.learner, record)

    def on_epoch_end(self, record: RunRecord) -> None:
        self.lab.store.save_epoch(record)

    def on_train_end(self, record: RunRecord) -> None:
        store = self.lab.store
        store.save_run(self.learner, record)
        handle = self.lab.engine.live(record.run_id)
        if handle is not None and handle.has_model and handle.dataset is not None:
            from rnnlab.saving import save_model

            save_model(handle.model, handle.dataset, store.model_path(record.run_id))


class Lab:
    """The store and the engine, and the rules between them (budgets, ownership, uploads)."""

    def __init__(self, store: Store | None = None, engine: "Engine | None" = None) -> None:
        self.store = store or Store()
        # Runs the store still calls "running" or "pending" were cut off when this server last stopped.
        self.interrupted = self.store.mark_interrupted()
        self._engine = engine
        self._stored: dict[str, StoredRun] = {}  # ended runs read back, kept so their models load once
        self._lock = threading.Lock()

    @property
    def engine(self) -> "Engine":
        if self._engine is None:
            from rnnlab.engine import get_engine

            self._engine = get_engine()
        return self._engine

    # --- Before a run starts ------------------------------------------------------------------------------------

    def plan(self, config: RunConfig) -> tuple[budget.Estimate, budget.Verdict]:
        """What `config` will cost (peak memory, seconds per epoch) and whether it may run here."""
        estimate = budget.estimate(config, get_task(config.task).budget_shape(config))
        return estimate, budget.check(estimate, budget.Limits.from_environment(self._worker_bytes()))

    def initial_spectral_radii(self, config: RunConfig) -> dict[str, dict[str, float]]:
        """A SimpleRNN run's starting spectral radii, {layer: {direction: radius}}: its network rebuilt from its seed.

        The weights depend on the settings' shapes and seed, not on how much data there is, so the data is made
        with the fewest sequences whatever `config` asks for (a link's 200,000 sequences cost nothing here).
        """
        from rnnlab.introspect import spectral_radii
        from rnnlab.models import SHAPE_ONLY_SAMPLES, untrained_model

        small = config.replace(samples=SHAPE_ONLY_SAMPLES, eval_samples=SHAPE_ONLY_SAMPLES)
        return spectral_radii(untrained_model(small)[0])

    def _worker_bytes(self) -> int | None:
        limit = getattr(self._engine, "memory_limit", None)
        return int(limit) if limit else None

    def start(self, learner: str, configs: list[RunConfig], dataset: "Dataset | None" = None) -> list:
        """Queue `configs` to train one after another for `learner`; each is saved in the store as it goes.

        Raises `BudgetError` before anything starts if one run would not fit (its sentence names the knob to turn)
        or the learner already has runs training, and `StoreError` for an unknown learner.
        """
        self.store_learner(learner)
        for config in configs:
            _, verdict = self.plan(config)
            if verdict.level == "refuse":
                raise BudgetError(verdict.sentence)
        active = [handle for handle in self.runs(learner).values() if handle.running]
        if len(active) + len(configs) > MAX_ACTIVE_RUNS:
            raise BudgetError(f"You have {len(active)} run{'' if len(active) == 1 else 's'} training or waiting; "
                              "stop one or let it finish first.")
        handles, previous = [], active[-1] if active else None
        for config in configs:
            handle = self.engine.submit(config, dataset, listeners=[Saver(self, learner)], after=previous)
            self.store.save_run(learner, handle.record)  # "pending": a reload shows it waiting
            handles.append(handle)
            previous = handle
        return handles

    def store_learner(self, token: str):
        learner = self.store.learner(token)
        if learner is None:
            raise StoreError("This learner link is not known on this server; open the app without it to start "
                             "afresh.")
        return learner

    # --- A learner's runs ------------------------------------------------------------------------------------

    def runs(self, learner: str) -> dict[str, Any]:
        """Every run of `learner`, oldest first: the engine's live handle for a run it still knows (training,
        waiting, or just ended), else the run read back from the store."""
        records = self.store.runs(learner, include_probes=False)
        found: dict[str, Any] = {}
        for record in records:
            live = self.engine.live(record.run_id) if self._engine is not None or record.status in (
                "running", "pending") else None
            found[record.run_id] = live if live is not None else self._stored_run(record)
        return found

    def _stored_run(self, record: RunRecord) -> StoredRun:
        """The stored run, read with its probes once it has ended (its probes never change after that)."""
        with self._lock:
            cached = self._stored.get(record.run_id)
            if cached is not None and cached.record.status == record.status and record.is_final:
                return cached
            full = self.store.run(record.run_id) or record
            stored = StoredRun(self.store, full)
            if full.is_final:
                self._stored[record.run_id] = stored
            return stored

    def delete(self, learner: str, run_id: str) -> None:
        handle = self.engine.live(run_id) if self._engine is not None else None
        if handle is not None and handle.running:
            handle.stop()
        self.store.delete_run(learner, run_id)

    def restore(self, learner: str, run_id: str) -> None:
        self.store.restore_run(learner, run_id)

    # --- Uploads -----------------------------------------------------------------------------------------------

    def upload_run(self, learner: str, data: bytes, model: bytes | None = None,
                   model_name: str = "model.keras") -> RunRecord:
        """A run downloaded as JSON (and optionally its `.keras` model) back into `learner`'s runs.

        Every problem raises `UploadError` with one sentence before anything is written: not JSON, JSON of another
        shape, a file too large, a model that is not a Keras file, needs unsafe loading, or does not fit the run.
        """
        self.store_learner(learner)
        for name, payload in (("run file", data), ("model file", model)):
            if payload is not None and len(payload) > MAX_UPLOAD_BYTES:
                raise UploadError(f"The {name} is {len(payload) / 2**20:,.0f} MB; at most "
                                  f"{MAX_UPLOAD_BYTES // 2**20} MB can be uploaded.")
        try:
            text = data.decode("utf-8")
            values = json.loads(text)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise UploadError("That file is not a run: it is not JSON. Upload a run downloaded from Compare runs "
                              "(run_….json).") from None
        if not isinstance(values, dict) or "config" not in values or "history" not in values:
            raise UploadError("That JSON is not a run downloaded from RNN Lab: it has no settings and history.")
        try:
            record = RunRecord.from_dict(values)
        except (ValueError, TypeError, KeyError) as error:
            raise UploadError(f"That run file could not be read: {error}") from None
        if self.store.owner(record.run_id) is not None:
            if self.store.owner(record.run_id) == learner and self.store.run(record.run_id) is not None:
                raise UploadError("That run is already among your runs.")
            record.run_id = RunRecord(record.config).run_id  # someone else's run: a copy of it becomes yours
        if record.status in ("running", "pending"):
            record.status = "interrupted"
            record.message = record.message or "This run was still training when it was downloaded."
        model_path = self.store.model_path(record.run_id)
        if model is not None:
            self._check_model(model, model_name, record, model_path)
        self.store.save_run(learner, record)
        for epoch in range(1, record.epochs_done + 1):
            self.store.save_epoch(record, epoch)
        self.store.save_run(learner, record)
        return record

    def _check_model(self, data: bytes, name: str, record: RunRecord, path: str) -> None:
        """Write an uploaded model beside the store only if it loads safely and has the run's layers."""
        from rnnlab.models import untrained_model
        from rnnlab.saving import ModelFileError, load_model

        # Checked under the learner's own file name, in a folder of its own: messages name their file, never ours.
        folder = tempfile.mkdtemp(prefix="rnnlab-upload-", dir=os.path.dirname(path))
        safe_name = "".join(character for character in os.path.basename(name) if character.isalnum() or
                            character in "._-") or "model.keras"
        temporary = os.path.join(folder, safe_name if safe_name.endswith(".keras") else safe_name + ".keras")
        with open(temporary, "wb") as handle:
            handle.write(data)
        try:
            loaded = load_model(temporary).model
            try:
                expected = untrained_model(record.config)[0]
            except DataError:
                expected = None  # the run's data file is not on this server: the shapes cannot be checked
            if expected is not None and [tuple(weight.shape) for weight in loaded.weights] != \
                    [tuple(weight.shape) for weight in expected.weights]:
                raise UploadError("That model does not belong to this run: its layers have other shapes. Upload "
                                  "the .keras file downloaded with the run.")
            os.replace(temporary, path)
        except ModelFileError as error:
            raise UploadError(str(error)) from None
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def upload_runs(self, learner: str, files: list[tuple[str, bytes]]) -> list[tuple[str, RunRecord | None, str]]:
        """Uploaded files as runs: each run file (`run_x.json`) with the model of the same name (`run_x.keras`) if
        it came too. One (file name, record or None, sentence) per run file, in upload order: the sentence says what
        was added, or (record None) why it was not. Raises `UploadError` if no run file came at all.
        """
        runs = [(name, data) for name, data in files if name.lower().endswith(".json")]
        models = {os.path.splitext(name)[0]: (name, data) for name, data in files if name.lower().endswith(".keras")}
        if not runs:
            raise UploadError("Upload the run's JSON too: a model alone does not say how it was trained.")
        results = []
        for name, data in runs:
            model_name, model = models.get(os.path.splitext(name)[0], ("model.keras", None))
            try:
                record = self.upload_run(learner, data, model, model_name)
                results.append((name, record, f"Added {record.name}" + (" with its model." if model else ".")))
            except UploadError as error:
                results.append((name, None, f"{name}: {error}"))
        return results


_lab: Lab | None = None
_lab_lock = threading.Lock()


def get_lab() -> Lab:
    """This server's lab, made on first use (thread-safe): the store under RNNLAB_HOME and the engine."""
    global _lab
    with _lab_lock:
        if _lab is None:
            _lab = Lab()
        return _lab
