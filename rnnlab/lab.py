"""Every learner's runs on this web server: costed before they start, trained on the engine, saved in the store as
they train, and found again after a reload, in a new tab, or after a restart.

The web server holds one `Lab` (`get_lab()`), shared by every learner's session:

    lab = get_lab()                                  # the store under RNNLAB_HOME and the training engine
    learner = lab.store.new_learner("Ada")           # the token goes into every link the app writes
    estimate, verdict = lab.plan(config)             # peak memory and seconds per epoch, before anything trains
    [handle] = lab.start(learner.token, [config])    # BudgetError (one sentence) if it cannot fit
    lab.runs(learner.token)                          # {run id: live handle, or the stored run}, oldest first

The Lab is also the gate between the browser and the work: every request a page makes (plan or start a run, show a
layer table or `model.summary()`, build an untrained network to look inside, read a text or IMDB reviews, take an
upload, make a class) is a method here, which checks its input (`rnnlab.gate`) before any data is read or any tensor
is made. What a page only displays is made from shapes and a capped sample, never from the sizes a link asks for:

    lab.layer_table(config)                          # rows of the layer table, from 16 + 64 sequences at most
    model, dataset = lab.untrained(config)           # the network before training, 64 validation sequences
    dataset = lab.read_text(config)                  # costed first: BudgetError before a window is made
    dataset = lab.read_reviews(config, "csv")        # IMDB reviews, costed first too
    value = lab.take_upload(learner.token, "notes.txt", data)  # what the configuration stores for the upload

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

from rnnlab import budget, gate
from rnnlab.config import RunConfig
from rnnlab.data import DataError, files, get_task, make_dataset
from rnnlab.engine import get_engine  # light: the engine's Dask is imported when get_engine() first makes one
from rnnlab.gate import MAX_UPLOAD_BYTES
from rnnlab.records import RunRecord, Status
from rnnlab.store import Store, StoreError
from rnnlab.training import TrainerCallback

if TYPE_CHECKING:
    import keras

    from rnnlab.data import Dataset
    from rnnlab.engine import Engine
    from rnnlab.introspect.word_map import Projection
    from rnnlab.store import Classroom

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
                from rnnlab.saving import load_model  # start-up time: loading a model imports Keras

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
            from rnnlab.saving import save_model  # start-up time: saving a model imports Keras

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
            self._engine = get_engine()
        return self._engine

    # --- Before a run starts ------------------------------------------------------------------------------------

    def plan(self, config: RunConfig) -> tuple[budget.Estimate, budget.Verdict]:
        """What `config` will cost (peak memory, seconds per epoch) and whether it may run here."""
        estimate = budget.estimate(config, get_task(config.task).budget_shape(config))
        return estimate, budget.check(estimate, budget.Limits.from_environment(self._worker_bytes()))

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
                Status.RUNNING, Status.PENDING) else None
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

    # --- What a page shows before anything trains (the gate: shapes and capped samples) ----------------------

    def layer_table(self, config: RunConfig) -> list[dict]:
        """The layer table of `config`'s network: name, kind, output shape, parameters, and each layer's formula."""
        return gate.display_rows(config)

    def summary(self, config: RunConfig) -> str:
        """What `model.summary()` prints for `config`'s network."""
        return gate.display_summary(config)

    def untrained(self, config: RunConfig) -> tuple["keras.Model", "Dataset"]:
        """`config`'s network before training (weights from its seed) and its display data: at most
        `gate.DISPLAY_SEQUENCES` validation sequences, whatever `eval_samples` the settings ask for."""
        return gate.untrained(config)

    def initial_spectral_radii(self, config: RunConfig) -> dict:
        """The spectral radii `config`'s recurrent matrices start from, per layer and direction (a copy)."""
        import copy

        return copy.deepcopy(gate.display_radii(config))

    def parameters(self, config: RunConfig, dataset: "Dataset") -> list[dict]:
        """The closed-form parameter count of each layer of `config` on `dataset` (its vocabulary, its outputs)."""
        from rnnlab.models import parameter_formula  # start-up time: building a model imports Keras

        return parameter_formula(gate.admit(config), dataset)

    # --- Data a page must read in the server (a text's windows, IMDB reviews), costed first --------------------

    def _refuse_unless_it_fits(self, config: RunConfig) -> RunConfig:
        config = gate.admit(config)
        _, verdict = self.plan(config)
        if verdict.level == "refuse":
            raise BudgetError(verdict.sentence)
        return config

    def read_text(self, config: RunConfig) -> "Dataset":
        """A text task's windows for `config`; `BudgetError` before the text is read if the run could not train
        here, `DataError` (one sentence) if the text cannot be read."""
        return make_dataset(self._refuse_unless_it_fits(config))

    def count_reviews(self, source: str, path: str = "") -> tuple[int, int | None] | None:
        """How many reviews an IMDB source holds (training, test), or None where that is not known before loading."""
        from rnnlab.data import imdb  # start-up time: Keras's text utilities load with the IMDB and text tasks

        return imdb.available_reviews(source, path)

    def read_reviews(self, config: RunConfig, source: str) -> "Dataset":
        """IMDB reviews for `config` from `source`; `BudgetError` before reading if the run could not train here."""
        from rnnlab.data import imdb  # start-up time: Keras's text utilities load with the IMDB and text tasks

        return imdb.load_reviews(self._refuse_unless_it_fits(config), source)

    def word_map(self, run, layer: str) -> tuple["Projection", "Projection"]:
        """Elman's map of a finished text run: grammar sentences read before training (its seed's untrained network)
        and after."""
        from rnnlab.introspect import word_map  # start-up time: introspection imports TensorFlow
        from rnnlab.models import untrained_model  # start-up time: building a model imports Keras

        before = untrained_model(run.config, run.dataset)[0]
        return word_map.elman_map(before, run.model, run.dataset, seed=run.config.seed, layer=layer)

    # --- Classes --------------------------------------------------------------------------------------------------

    def make_class(self, title: str) -> "Classroom":
        """A new class named `title`, with its join link and its teacher's link."""
        return self.store.new_class(title)

    # --- Uploads -----------------------------------------------------------------------------------------------

    def take_upload(self, learner: str, name: str, data: bytes) -> str:
        """Keep a file `learner` uploaded (a .txt text, a CSV of reviews) and return what a configuration stores to
        name it (`text_file`, `imdb_csv`). `UploadError` (one sentence) for an empty or too large file."""
        self.store_learner(learner)
        try:
            data = gate.upload_bytes(name, data)
        except gate.GateError as error:
            raise UploadError(str(error)) from None
        return files.save_upload(data, name, files.uploads_dir())

    def upload_runs(self, learner: str, uploaded: list[tuple[str, bytes]]) -> list[tuple[str, RunRecord | None, str]]:
        """Several uploaded files as runs: each JSON with the `.keras` of the same name, if one came with it.

        Returns one (JSON file name, the stored record or None, a sentence) per run file, in upload order; a
        `.keras` without its JSON is named in one sentence, with no record.
        """
        pairs = gate.pair_run_files(uploaded)
        if not pairs:
            return [("", None, "Upload the run's JSON too: a model alone does not say how it was trained.")]
        results = []
        for name, data, model in pairs:
            try:
                record = self.upload_run(learner, data, model[1] if model else None,
                                         model[0] if model else "model.keras")
            except (UploadError, StoreError) as error:
                results.append((name, None, f"{name}: {error}"))
            else:
                results.append((name, record, f"Added **{record.name}**" + (" with its model." if model else ".")))
        return results


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
        if record.status in (Status.RUNNING, Status.PENDING):
            record.status = Status.INTERRUPTED
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
        # Start-up time: checking an uploaded model imports Keras, which the server needs only then.
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


_lab: Lab | None = None
_lab_lock = threading.Lock()


def get_lab() -> Lab:
    """This server's lab, made on first use (thread-safe): the store under RNNLAB_HOME and the engine."""
    global _lab
    with _lab_lock:
        if _lab is None:
            _lab = Lab()
        return _lab
