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
    examples = lab.examples(config)                  # three sequences of the task and their targets
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

from rnnlab import budget, gate, settings
from rnnlab.config import RunConfig
from rnnlab.data import DataError, files, get_task, make_dataset
from rnnlab.engine import get_engine  # light: the engine's Dask is imported when get_engine() first makes one
from rnnlab.records import RunRecord, Status, TrainerCallback
from rnnlab.store import Store, StoreError
from rnnlab.uploads import UploadError, read_run

if TYPE_CHECKING:
    import keras

    from rnnlab.data import Dataset
    from rnnlab.engine import Engine
    from rnnlab.introspect.word_map import Projection
    from rnnlab.store import Classroom

# A learner may keep at most this many runs training or waiting at once (a race queues three).
MAX_ACTIVE_RUNS = 3
# The purge (deleted runs past their undo, unused uploads older than a day) runs at most this often.
PURGE_EVERY_SECONDS = 3600.0


class BudgetError(ValueError):
    """A run refused before it starts (too big for a worker, too many at once); one sentence naming what to change."""


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
    paused = property(lambda self: False)

    def stop(self) -> None:
        """It has ended already."""

    def join(self, timeout: float | None = None) -> bool:
        return True

    @property
    def has_model(self) -> bool:
        return self._model is not None or os.path.isfile(self.store.model_path(self.run_id))

    @property
    def model(self) -> "keras.Model | None":
        """The trained model when first asked for: the network built from the run's configuration with the weights
        of its `.keras` file (never the file's own architecture); None if it has none, or its data is gone."""
        path = self.store.model_path(self.run_id)
        dataset = self.dataset if os.path.isfile(path) else None
        with self._lock:
            if self._model is None and dataset is not None:
                from rnnlab.saving import load_weights  # start-up time: loading a model imports Keras

                self._model = load_weights(path, self.config, dataset).model
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


class PausedRun:
    """A paused run as the pages look at a finished one: its record as it paused, the network with the weights it has
    now (rebuilt in this process from what its worker sent), its data. Made by `Lab.paused_run`."""

    def __init__(self, handle) -> None:
        self.handle = handle
        self.record = handle.record.snapshot()

    run_id = property(lambda self: self.record.run_id)
    config = property(lambda self: self.record.config)
    done = property(lambda self: True)  # for looking inside: nothing moves while it is paused
    running = property(lambda self: False)
    paused = property(lambda self: True)
    queue_position = property(lambda self: None)
    waiting_for = property(lambda self: None)
    has_model = property(lambda self: True)

    @property
    def model(self) -> "keras.Model | None":
        return self.handle.paused_model

    @property
    def dataset(self) -> "Dataset | None":
        return self.handle.dataset

    def stop(self) -> None:
        self.handle.stop()

    def join(self, timeout: float | None = None) -> bool:
        return True


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
        self._purged = 0.0

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

    def start(self, learner: str, configs: list[RunConfig], dataset: "Dataset | None" = None,
              listeners: tuple = ()) -> list:
        """Queue `configs` to train one after another for `learner`; each is saved in the store as it goes.
        `listeners` hear each run after the store has (a learner's own sweep feeds its next runs this way, issue 21).

        Raises `BudgetError` before anything starts if one run would not fit (its sentence names the knob to turn)
        or the learner already has runs training, and `StoreError` for an unknown learner.
        """
        who = self.store_learner(learner)
        for config in configs:
            _, verdict = self.plan(config)
            if verdict.level == "refuse":
                raise BudgetError(verdict.sentence)
        active = [handle for handle in self.runs(learner).values() if handle.running]
        if len(active) + len(configs) > MAX_ACTIVE_RUNS:
            raise BudgetError(f"You have {len(active)} run{'' if len(active) == 1 else 's'} training or waiting; "
                              "stop one or let it finish first.")
        self._check_queue(who.class_id, len(configs))
        self._check_quota(learner, len(configs))
        handles, previous = [], active[-1] if active else None
        for config in configs:
            # The row first ("pending": a reload shows it waiting), then the run: a run never trains without a row,
            # and this write can never land after (and undo) the "running" row its listener writes.
            pending = RunRecord(config)
            self.store.save_run(learner, pending)
            try:
                handle = self.engine.submit(config, dataset, listeners=[Saver(self, learner), *listeners],
                                            after=previous, run_id=pending.run_id)
            except Exception as error:
                pending.status, pending.message = Status.FAILED, f"Training could not start ({error})."
                self.store.save_run(learner, pending)
                raise
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

    def _check_queue(self, class_id: str | None, adding: int) -> None:
        """BudgetError when the server, or this learner's class, already has its most runs training or waiting
        (a tab without a token gets a new learner, so a learner's own cap alone does not end the queue)."""
        current = settings.current()
        waiting, in_class = self.store.active_counts(class_id)
        if waiting + adding > current.max_queue:
            raise BudgetError(f"This server already has {waiting} runs training or waiting, its most "
                              f"({current.max_queue}); try again when some have finished.")
        if in_class + adding > current.max_class_queue:
            raise BudgetError(f"Your class already has {in_class} runs training or waiting, its most "
                              f"({current.max_class_queue}); try again when some have finished.")

    def _check_quota(self, learner: str, adding: int, model_bytes: int = 0) -> None:
        """BudgetError (or UploadError from an upload) when a learner has kept their most runs or model bytes."""
        current = settings.current()
        kept = self.store.run_count(learner)
        if kept + adding > current.max_learner_runs:
            raise BudgetError(f"You keep {kept} runs, the most one learner may keep here "
                              f"({current.max_learner_runs}); delete some on Compare runs first.")
        models = self.store.model_bytes(learner) + model_bytes
        if models > current.max_learner_model_mb * settings.MB:
            raise BudgetError(f"Your runs' models take {models / settings.MB:,.0f} MB, more than one learner may keep "
                              f"here ({current.max_learner_model_mb:g} MB); delete some runs on Compare runs first.")

    def purge(self, force: bool = False) -> tuple[list[str], list[str]]:
        """Remove what deletions and uploads leave: runs deleted past their undo (with their model files), and
        uploads no run refers to that were last used more than a day ago. At most hourly unless `force`.
        Returns (run ids removed, upload names removed)."""
        import time

        if not force and time.monotonic() - self._purged < PURGE_EVERY_SECONDS and self._purged:
            return [], []
        self._purged = time.monotonic()
        runs = self.store.purge()
        removed = files.purge_uploads(self.store.uploads_in_use())
        self.store.forget_uploads(removed)
        return runs, removed

    def take_upload(self, learner: str, name: str, data: bytes) -> str:
        """Keep a learner's uploaded data file (a CSV, an npz, a text) and return its upload name, the value a
        configuration's file field stores (`files.resolve` finds it). UploadError with one sentence when it is
        too large or the learner's uploads have reached their quota."""
        self.store_learner(learner)
        try:
            data = gate.upload_bytes(name, data)  # not empty, not over RNNLAB_MAX_UPLOAD_MB
        except gate.GateError as error:
            raise UploadError(str(error)) from None
        current = settings.current()
        used = self.store.upload_bytes(learner)
        if used + len(data) > current.max_learner_upload_mb * settings.MB:
            raise UploadError(f"Your uploads take {used / settings.MB:,.0f} MB, and this file would pass the "
                              f"{current.max_learner_upload_mb:g} MB one learner may upload here; use a file "
                              "uploaded before.")
        self.purge()
        upload = files.save_upload(data, name)
        self.store.record_upload(learner, os.path.basename(upload), len(data))
        return upload

    def delete(self, learner: str, run_id: str) -> None:
        """Delete one of `learner`'s runs (stopping it if it trains); StoreError for a run that is not theirs."""
        if self.store.owner(run_id) != learner:
            raise StoreError("There is no such run of yours.")
        handle = self.engine.live(run_id) if self._engine is not None else None
        if handle is not None and handle.running:
            handle.stop()
        self.store.delete_run(learner, run_id)

    # --- Pause, step, resume (issue 21): only the run's owner, only while it trains --------------------------

    def pause(self, learner: str, run_id: str) -> bool:
        """Hold one of `learner`'s runs at its next batch boundary; False if it is not training; StoreError for a
        run that is not theirs."""
        return self._press(learner, run_id, "pause")

    def step(self, learner: str, run_id: str) -> bool:
        """Train a paused run of `learner`'s exactly one more epoch, then pause it again."""
        return self._press(learner, run_id, "step")

    def resume(self, learner: str, run_id: str) -> bool:
        """Let a paused run of `learner`'s carry on."""
        return self._press(learner, run_id, "resume")

    def _press(self, learner: str, run_id: str, press: str) -> bool:
        if self.store.owner(run_id) != learner:
            raise StoreError("There is no such run of yours.")
        handle = self.engine.live(run_id) if self._engine is not None else None
        return handle is not None and handle.running and getattr(handle, press)()

    def paused_run(self, learner: str, run_id: str) -> PausedRun | None:
        """One of `learner`'s runs while it is paused, to look inside as if it had ended; None if it is not paused
        (or not theirs)."""
        if self.store.owner(run_id) != learner or self._engine is None:
            return None
        handle = self.engine.live(run_id)
        return PausedRun(handle) if handle is not None and handle.paused else None

    def model_file(self, learner: str, run_id: str) -> bytes | None:
        """The `.keras` file of one of `learner`'s runs, to download; None if it has none (or is not theirs)."""
        if self.store.owner(run_id) != learner:
            return None
        try:
            with open(self.store.model_path(run_id), "rb") as handle:
                return handle.read()
        except OSError:
            return None

    def restore(self, learner: str, run_id: str) -> None:
        self.store.restore_run(learner, run_id)

    # --- What a page shows before anything trains (the gate: shapes and capped samples) ----------------------

    def layer_table(self, config: RunConfig) -> list[dict]:
        """The layer table of `config`'s network: name, kind, output shape, parameters, and each layer's formula."""
        return gate.display_rows(config)

    def summary(self, config: RunConfig) -> str:
        """What `model.summary()` prints for `config`'s network."""
        return gate.display_summary(config)

    def examples(self, config: RunConfig) -> "Dataset":
        """A few sequences of `config`'s task and their targets, for showing the task before a run: at most
        `gate.EXAMPLE_SEQUENCES`, from the capped display data, whatever sizes the settings ask for."""
        return gate.display_examples(config)

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
        limit = settings.current().max_upload_mb * settings.MB
        if model is not None and len(model) > limit:
            raise UploadError(f"The model file is {len(model) / settings.MB:,.1f} MB; at most "
                              f"{settings.current().max_upload_mb:g} MB can be uploaded.")
        record = read_run(data)  # checked in full: a sentence before anything is written
        owner = self.store.owner(record.run_id)
        if owner is not None and owner != learner:
            record.run_id = RunRecord(record.config).run_id  # someone else's run: a copy of it becomes yours
        elif owner == learner and any(run.run_id == record.run_id for run in self.store.runs(learner, False)):
            raise UploadError("That run is already among your runs.")
        try:
            self._check_quota(learner, 1, len(model or b""))
        except BudgetError as error:
            raise UploadError(str(error)) from None
        model_path = self.store.model_path(record.run_id)
        checked = self._check_model(model, model_name, record) if model is not None else None
        try:
            self.store.save_uploaded(learner, record)  # one transaction: the run and every epoch, or nothing
            if checked is not None:
                os.replace(checked, model_path)
        except StoreError as error:
            raise UploadError(str(error)) from None
        finally:
            if checked is not None:
                shutil.rmtree(os.path.dirname(checked), ignore_errors=True)
        return record

    def _check_model(self, data: bytes, name: str, record: RunRecord) -> str:
        """The uploaded model's weights in the network the run's configuration builds, saved again by this server
        into a temporary file beside the models (returned); UploadError with one sentence if they do not fit."""
        from rnnlab.saving import ModelFileError, load_weights, save_model  # start-up time: Keras

        folder = tempfile.mkdtemp(prefix="rnnlab-upload-", dir=os.path.dirname(self.store.model_path(record.run_id)))
        # Checked under the learner's own file name, in a folder of its own: messages name their file, never ours.
        safe_name = "".join(character for character in os.path.basename(name) if character.isalnum() or
                            character in "._-") or "model.keras"
        temporary = os.path.join(folder, safe_name if safe_name.endswith(".keras") else safe_name + ".keras")
        with open(temporary, "wb") as handle:
            handle.write(data)
        try:
            try:
                dataset = make_dataset(record.config.replace(samples=16))
            except DataError:
                raise UploadError("That run's data is not on this server, so its model's weights cannot be checked; "
                                  "upload the run without its model.") from None
            saved = load_weights(temporary, record.config, dataset)
            checked = os.path.join(folder, "checked.keras")
            save_model(saved.model, dataset, checked)  # the file kept is this server's own, not the upload
            os.remove(temporary)
            return checked
        except ModelFileError as error:
            shutil.rmtree(folder, ignore_errors=True)
            raise UploadError(str(error)) from None
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise


_lab: Lab | None = None
_lab_lock = threading.Lock()


def get_lab() -> Lab:
    """This server's lab, made on first use (thread-safe): the store under RNNLAB_HOME and the engine."""
    global _lab
    with _lab_lock:
        first = _lab is None
        if first:
            _lab = Lab()
            _lab.purge(force=True)
        # A web server trusts no path: file settings read only uploads and the data folder, never the store, in
        # this process and in the workers it starts (they inherit the environment, so this comes before the
        # engine). Set at each call, so a process that also runs other code (the tests) confines the app's
        # requests whatever ran before.
        files.confine(_lab.store.home)
        if first:
            # The engine starts with the server's first page, in the background (its workers import TensorFlow
            # meanwhile), not at the first Train; and before the page imports TensorFlow itself (importing this
            # module does not): issue 19.
            _lab.engine  # noqa: B018
        return _lab
